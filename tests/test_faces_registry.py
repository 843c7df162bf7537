"""The faces stage's declaration: valid, listed by the registry after the effects, the source of the CLI's face
flags (names, choices, defaults, ranges), without changing what the effects' declarations list."""

from __future__ import annotations

from desktop_app.core.effects import registry
from desktop_app.core.effects.registry import FACE_DETECTION, Param, StageSpec
from desktop_app.core.params import FACE_SHAPES, FACE_STYLES, EffectParams


def test_the_faces_stage_is_declared_valid_and_listed() -> None:
    (faces,) = registry.stage_specs()
    assert faces is registry.stage_spec("faces") and faces.model_kind == FACE_DETECTION
    assert registry.check(faces) == []
    assert [p.field for p in registry.stage_params("faces")] == ["faces", "face_shape", "face_threshold",
                                                                 "face_padding"]
    style = registry.stage_params("faces")[0]
    assert style.choices == FACE_STYLES and style.default is None and style.off == "Off"
    assert not faces.active(EffectParams()) and faces.active(EffectParams(faces="box"))


def test_the_cli_flags_come_from_the_declaration_after_the_effects_and_the_effects_lists_are_unchanged() -> None:
    flags = dict(registry.cli_arguments(backgrounds="x"))
    assert list(flags)[-4:] == ["--faces", "--face-shape", "--face-threshold", "--face-padding"]
    assert flags["--faces"]["choices"] == FACE_STYLES and flags["--faces"]["default"] is None
    assert flags["--face-shape"]["choices"] == FACE_SHAPES and flags["--face-shape"]["default"] == "ellipse"
    assert flags["--face-threshold"]["type"] is float and flags["--face-padding"]["default"] == 0.2
    assert "none" in flags["--effect"]["choices"]
    assert [p.flag for p in registry.declared_params()] == ["--strength", "--background", "--color"]
    assert [p.field for p in registry.declared_params(stages=True)][3:] == ["faces", "face_shape", "face_threshold",
                                                                             "face_padding"]


def test_check_names_a_bad_stage_declaration() -> None:
    bad = StageSpec("odd", "Odd", (Param("faces", "choice", "--odd", "odd", default=None, choices=("a",)),),
                    None, "nonsense")
    problems = registry.check(bad)
    assert any("switch is not an EffectParams field" in p for p in problems)
    assert any("a default among its choices" in p for p in problems)  # None is valid only with an `off` label
