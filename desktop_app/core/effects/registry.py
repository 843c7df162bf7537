"""Effects as declared stages: each effect module declares an `EffectSpec` (its name, panel title, parameters,
the kind of model it needs, what it outputs and its compose step); the CLI, the panel, the pipeline and the
video writers ask the spec instead of comparing effect names.

A spec belongs to a stage (`stage`): every effect is a "background" effect (the pipeline's first stage, one chosen
by `EffectParams.effect`). A later stage that is switched on by its own field rather than chosen among effects (the
faces stage: `EffectParams.faces`) declares a `StageSpec` (its parameters and model kind, `register_stage`); the
CLI adds its flags after the effects' (`cli_arguments`) and the panel can build its control from `stage_params`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from desktop_app.core.params import EFFECTS, EffectParams

OutputKind = Literal["rgb", "rgba", "gray"]
ParamKind = Literal["int", "float", "choice", "image", "color"]
PERSON_SEGMENTATION = "person-segmentation"
FACE_DETECTION = "face-detection"
BACKGROUND_STAGE = "background"
FACES_STAGE = "faces"
# The built-in effects' modules, imported on first use (they import the shared primitives of `background`).
_BUILTIN_MODULES = {name: f"desktop_app.core.effects.{name}_effect" for name in EFFECTS}
_STAGE_MODULES = {FACES_STAGE: "desktop_app.core.effects.faces_effect"}


class ComposeFn(Protocol):
    """One frame's compose: (H, W, 3) uint8 frame, its float mask and that mask as uint8 alpha -> the output."""

    def __call__(self, rgb: np.ndarray, mask: np.ndarray, alpha: np.ndarray, params: EffectParams,
                 background: np.ndarray | None, mask_small: np.ndarray | None, live: bool) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: the `EffectParams` field it sets, how the panel shows it and the CLI flag that sets it.

    kind: int/float (a slider over low..high), choice (a combo over `choices`), image (the background picker),
    color (the removed background's mode and colour). `panel=False` keeps it off the panel (CLI only).
    `required` (with `missing`, the message) makes `EffectParams.validate` refuse None for this effect.
    `off` (a choice only): the label of None, a valid value meaning "off" (the faces stage's style).
    """

    field: str
    kind: ParamKind
    flag: str
    help: str
    title: str = ""
    default: Any = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    panel: bool = True
    required: bool = False
    missing: str = ""
    live_help: str | None = None  # the `live` command's help where it differs
    off: str | None = None


@dataclass(frozen=True, slots=True)
class EffectSpec:
    """A declared effect. `compose` None means the frame passes through (no model runs)."""

    name: str
    title: str
    params: tuple[Param, ...]
    model_kind: str | None
    output: OutputKind  # what it makes with its defaults
    compose: ComposeFn | None
    mp4: bool = True  # whether an MP4 can carry `output`
    output_with_color: OutputKind | None = None  # the output once `params.color` is set (remove: RGB)
    stage: str = BACKGROUND_STAGE
    cli: bool = True  # offered as a CLI `--effect` choice
    uses_probability: bool = False  # composes the raw person probability, not the refined, edge-snapped mask

    @property
    def needs_model(self) -> bool:
        return self.model_kind is not None

    def output_for(self, params: EffectParams) -> OutputKind:
        if self.output_with_color is not None and params.color is not None:
            return self.output_with_color
        return self.output

    def output_has_alpha(self, params: EffectParams) -> bool:
        return self.output_for(params) == "rgba"

    def mp4_can_carry(self, params: EffectParams) -> bool:
        return self.mp4 and self.output_for(params) != "rgba"

    def takes(self, field_name: str) -> bool:
        return any(p.field == field_name for p in self.params)


@dataclass(frozen=True, slots=True)
class StageSpec:
    """A declared later stage (after the background effect): its parameters, the kind of model it needs and the
    `EffectParams` field that switches it on (None there = the stage does nothing)."""

    name: str
    title: str
    params: tuple[Param, ...]
    model_kind: str | None
    switch: str

    def active(self, params: EffectParams) -> bool:
        return getattr(params, self.switch) is not None


_REGISTRY: dict[str, EffectSpec] = {}
_STAGES: dict[str, StageSpec] = {}
_loaded = False


def register_stage(spec: StageSpec) -> StageSpec:
    """Declare a later stage (its module calls this at import); a name may be declared once."""
    existing = _STAGES.get(spec.name)
    if existing is not None and existing is not spec:
        raise ValueError(f"stage {spec.name!r} is declared twice")
    _STAGES[spec.name] = spec
    return spec


def stage_specs() -> list[StageSpec]:
    """The declared later stages, in the order they run."""
    for module in _STAGE_MODULES.values():
        importlib.import_module(module)
    return list(_STAGES.values())


def stage_spec(name: str) -> StageSpec:
    """The declared later stage `name` (KeyError if none)."""
    stage_specs()  # the built-in stages' modules, on first use
    return _STAGES[name]


def stage_params(name: str) -> list[Param]:
    """The parameters the later stage `name` declares, in declaration order (for the panel and the CLI)."""
    return list(stage_spec(name).params)


def register(spec: EffectSpec) -> EffectSpec:
    """Declare `spec` (an effect module calls this at import); a name may be declared once."""
    existing = _REGISTRY.get(spec.name)
    if existing is not None and existing is not spec:
        raise ValueError(f"effect {spec.name!r} is declared twice")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Forget a declared effect (tests plug fake ones in and out)."""
    _REGISTRY.pop(name, None)


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        for module in _BUILTIN_MODULES.values():
            importlib.import_module(module)
        _loaded = True


def spec_for(name: str) -> EffectSpec:
    """The declared effect called `name`; ValueError naming the choices otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown effect {name!r}; choose one of {', '.join(effect_names())}") from None


def specs(stage: str = BACKGROUND_STAGE) -> list[EffectSpec]:
    """The declared effects of `stage`: the built-ins in `params.EFFECTS` order, then plugged-in ones."""
    _load_builtins()
    ordered = [_REGISTRY[n] for n in EFFECTS if n in _REGISTRY]
    ordered += [s for n, s in _REGISTRY.items() if n not in EFFECTS]
    return [s for s in ordered if s.stage == stage]


def effect_names(stage: str = BACKGROUND_STAGE) -> tuple[str, ...]:
    return tuple(s.name for s in specs(stage))


def cli_arguments(live: bool = False, **help_values: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(flag, argparse keyword arguments) for `--effect` and every declared parameter's flag, each flag once,
    in declaration order (the effects', then the later stages'); `help_values` fill `{name}` fields of the help
    texts."""
    declared = specs()
    yield "--effect", {"choices": [s.name for s in declared if s.cli], "default": "blur"}
    seen: set[str] = set()
    for params in [*(spec.params for spec in declared), *(stage.params for stage in stage_specs())]:
        for param in params:
            if param.flag in seen:
                continue
            seen.add(param.flag)
            text = param.live_help if live and param.live_help is not None else param.help
            kwargs: dict[str, Any] = {"help": text.format(**help_values), "dest": param.field}
            if param.metavar:
                kwargs["metavar"] = param.metavar
            if param.kind == "int":
                kwargs.update(type=int, default=param.default)
            elif param.kind == "float":
                kwargs.update(type=float, default=param.default)
            elif param.kind == "choice":
                kwargs.update(choices=param.choices, default=param.default)
            yield param.flag, kwargs


def declared_params(stages: bool = False) -> list[Param]:
    """Every declared effect parameter once per field (its first declaration), in declaration order; with `stages`,
    the later stages' parameters after them."""
    seen: dict[str, Param] = {}
    for spec in specs():
        for param in spec.params:
            seen.setdefault(param.field, param)
    for stage in stage_specs() if stages else []:
        for param in stage.params:
            seen.setdefault(param.field, param)
    return list(seen.values())


def panel_params(spec: EffectSpec) -> list[Param]:
    """`spec`'s parameters the panel shows, in declaration order."""
    return [p for p in spec.params if p.panel]


def check(spec: EffectSpec | StageSpec) -> list[str]:
    """What is wrong with a declaration (empty when valid)."""
    problems = []
    if not spec.name or not spec.title:
        problems.append("a name and a title")
    if isinstance(spec, EffectSpec) and (spec.compose is None) != (spec.model_kind is None):
        problems.append("a compose step exactly when it needs a model")
    if isinstance(spec, StageSpec) and not hasattr(EffectParams(), spec.switch):
        problems.append(f"{spec.switch}: the switch is not an EffectParams field")
    for p in spec.params:
        if not hasattr(EffectParams(), p.field):
            problems.append(f"{p.field}: not an EffectParams field")
        if not p.flag.startswith("--") or not p.help:
            problems.append(f"{p.field}: a --flag and a help text")
        if p.kind in ("int", "float") and not (p.low is not None and p.high is not None and p.low <= p.default
                                               <= p.high):
            problems.append(f"{p.field}: a range holding its default")
        if p.kind == "choice" and p.default not in p.choices and not (p.default is None and p.off):
            problems.append(f"{p.field}: a default among its choices")
        if p.required and not p.missing:
            problems.append(f"{p.field}: a message when missing")
    return problems

