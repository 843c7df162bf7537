"""Effects as declared stages: every effect is declared and valid, its spec answers what the callers used to ask
by name, and the CLI and the panel are built from the declarations (a new declared effect and parameter shows up
in both)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop_app.core.effects import registry
from desktop_app.core.effects.background import compose
from desktop_app.core.effects.registry import PERSON_SEGMENTATION, EffectSpec, Param, spec_for, specs
from desktop_app.core.params import EFFECTS, EffectParams


def test_every_builtin_effect_is_declared_once_in_the_panels_order_and_valid() -> None:
    declared = specs()
    assert [s.name for s in declared] == list(EFFECTS)
    for spec in declared:
        assert registry.check(spec) == [], spec.name
        assert spec_for(spec.name) is spec


def test_the_declarations_say_what_the_callers_used_to_test_by_name() -> None:
    none, blur, replace, remove, mask = (spec_for(n) for n in EFFECTS)
    assert not none.needs_model and none.compose is None and none.cli  # on the CLI with --faces
    assert all(s.model_kind == PERSON_SEGMENTATION for s in (blur, replace, remove, mask))
    assert [s.title for s in (none, blur, replace, remove, mask)] == [
        "None", "Blur background", "Replace background", "Remove background", "Mask only"]
    assert remove.output_has_alpha(EffectParams("remove"))
    assert not remove.output_has_alpha(EffectParams("remove", color=(0, 0, 0)))
    assert not remove.mp4_can_carry(EffectParams("remove"))
    assert remove.mp4_can_carry(EffectParams("remove", color=(1, 2, 3)))
    assert mask.output == "gray" and mask.uses_probability and not blur.uses_probability
    assert replace.takes("background") and not blur.takes("background") and blur.takes("strength")
    assert [p.flag for p in registry.declared_params()] == ["--strength", "--background", "--color"]


def test_validate_asks_the_declaration() -> None:
    with pytest.raises(ValueError, match="unknown effect 'sparkle'; choose one of none, blur, replace, remove, mask"):
        EffectParams("sparkle").validate()  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="the replace effect needs a background image"):
        EffectParams("replace").validate()
    with pytest.raises(ValueError, match="declared twice"):
        registry.register(EffectSpec("blur", "Another blur", (), PERSON_SEGMENTATION, "rgb", spec_for("mask").compose))


def test_check_names_a_bad_declaration() -> None:
    bad = EffectSpec("odd", "Odd", (Param("nonsense", "int", "strength", "", default=5, low=10, high=1),),
                     None, "rgb", spec_for("mask").compose)
    problems = registry.check(bad)
    assert any("compose step" in p for p in problems)
    assert any("not an EffectParams field" in p for p in problems)
    assert any("--flag" in p for p in problems)
    assert any("range" in p for p in problems)


def _invert(rgb: np.ndarray, mask: np.ndarray, alpha: np.ndarray, params: EffectParams,
            background: np.ndarray | None, mask_small: np.ndarray | None, live: bool) -> np.ndarray:
    """A fake effect: the frame inverted where the person is not, scaled by `params.feather`."""
    out = rgb.copy()
    out[alpha < 128] = 255 - out[alpha < 128]
    return out


SOFTNESS = Param("feather", "float", "--softness", "invert: how soft", title="Softness", default=0.3, low=0.0,
                 high=1.0, metavar="F")
INVERT = EffectSpec("invert", "Invert background", (SOFTNESS,), PERSON_SEGMENTATION, "rgb", _invert)


@pytest.fixture
def invert() -> Iterator[EffectSpec]:
    registry.register(INVERT)
    try:
        yield INVERT
    finally:
        registry.unregister("invert")


def test_a_plugged_in_effect_composes_through_the_shared_entry(invert: EffectSpec) -> None:
    rgb = np.full((16, 16, 3), 10, np.uint8)
    mask = np.zeros((16, 16), np.float32)
    mask[4:12, 4:12] = 1.0
    out = compose(rgb, mask, EffectParams("invert"))  # type: ignore[arg-type]
    assert out[0, 0].tolist() == [245] * 3 and out[8, 8].tolist() == [10] * 3
    assert registry.check(invert) == []


def test_a_declared_effect_and_parameter_reach_both_cli_commands(invert: EffectSpec) -> None:
    from desktop_app.cli import build_parser, params_from_args

    parser = build_parser()
    args = parser.parse_args(["process", "x.png", "--effect", "invert", "--softness", "0.8"])
    assert params_from_args(args) == EffectParams("invert", feather=0.8)  # type: ignore[arg-type]
    args = parser.parse_args(["live", "--virtual-camera", "--effect", "invert", "--softness", "0.1"])
    args.quality = "fast"
    assert params_from_args(args).feather == 0.1
    # today's flags, names and defaults are unchanged
    args = parser.parse_args(["process", "x.png"])
    assert (args.effect, args.strength, args.background, args.color) == ("blur", 50, None, None)


def test_a_declared_effect_and_parameter_reach_the_panel(qtbot, invert: EffectSpec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QSlider

    from desktop_app.core.settings import Settings
    from desktop_app.ui.controls import EffectsPanel

    panel = EffectsPanel(Settings(), tmp_path)
    qtbot.addWidget(panel)
    combo = panel.effect_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [*EFFECTS, "invert"]
    assert combo.itemText(combo.count() - 1) == "Invert background"
    slider = panel.param_controls[("invert", "feather")]
    assert isinstance(slider, QSlider) and slider.accessibleName() == "Softness"
    assert (slider.minimum(), slider.maximum()) == (0, 100)
    with qtbot.waitSignal(panel.params_changed, timeout=1000):
        combo.setCurrentIndex(combo.findData("invert"))
    assert not panel.effect_rows["invert"].isHidden() and panel.blur_row.isHidden()
    with qtbot.waitSignal(panel.params_changed, timeout=1000) as blocker:
        slider.setValue(70)
    assert blocker.args[0] == EffectParams("invert", feather=0.7, background=None)  # type: ignore[arg-type]
