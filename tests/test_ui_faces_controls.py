"""The effects panel's Faces control: its choices, the params it emits, mask disables it, both tabs get them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from ui_fakes import FakeSegmenter, demo_source

from desktop_app.core.params import FACE_SHAPES, FACE_STYLES, EffectParams
from desktop_app.core.settings import Settings
from desktop_app.ui.controls import EffectsPanel
from desktop_app.ui.faces_control import MASK_TIP, OFF, face_choices
from desktop_app.ui.main_window import MainWindow


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> EffectsPanel:  # type: ignore[no-untyped-def]
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    Image.fromarray(np.full((90, 160, 3), 90, np.uint8)).save(folder / "beach.jpg")
    made = EffectsPanel(Settings(), folder)
    qtbot.addWidget(made)
    return made


def emitted(qtbot, panel: EffectsPanel, change) -> EffectParams:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.params_changed, timeout=1000) as blocker:
        change()
    params = blocker.args[0]
    assert panel.params() == params and panel._settings.effect == params  # written back into the settings
    return params


def choose(combo, key: str) -> None:  # type: ignore[no-untyped-def]
    combo.setCurrentIndex(combo.findData(key))


def test_the_choices_come_from_the_declared_styles_and_shapes(panel: EffectsPanel) -> None:
    styles, shapes = face_choices()
    assert [value for _label, value in styles] == [OFF, *FACE_STYLES]
    assert [value for _label, value in shapes] == list(FACE_SHAPES)
    control = panel.faces_control
    assert [control.style_combo.itemData(i) for i in range(control.style_combo.count())] == [OFF, *FACE_STYLES]
    assert [control.shape_combo.itemData(i) for i in range(control.shape_combo.count())] == list(FACE_SHAPES)
    assert panel.params().faces is None  # off by default


def test_each_faces_control_emits_its_field(qtbot, panel: EffectsPanel) -> None:  # type: ignore[no-untyped-def]
    control = panel.faces_control
    base = panel.params()
    for style in FACE_STYLES:
        p = emitted(qtbot, panel, lambda style=style: choose(control.style_combo, style))
        assert p == base.with_(faces=style)
    p = emitted(qtbot, panel, lambda: choose(control.shape_combo, "rect"))
    assert p.face_shape == "rect"
    p = emitted(qtbot, panel, lambda: control.padding_slider.setValue(45))
    assert p.face_padding == pytest.approx(0.45)
    p = emitted(qtbot, panel, lambda: control.threshold_slider.setValue(30))
    assert p.face_threshold == pytest.approx(0.3)
    p = emitted(qtbot, panel, lambda: choose(control.style_combo, OFF))
    assert p.faces is None and p.face_shape == "rect"  # the rest is remembered while off


def test_more_options_are_folded_away_until_asked_for(qtbot, panel: EffectsPanel) -> None:  # type: ignore[no-untyped-def]
    panel.show()
    qtbot.waitExposed(panel)
    control = panel.faces_control
    assert control.style_combo.isVisible() and not control.more_row.isVisible()
    control.more_button.click()
    assert control.shape_combo.isVisible() and control.padding_slider.isVisible()
    assert control.threshold_slider.isVisible()


def test_faces_combine_with_every_effect_but_mask(qtbot, panel: EffectsPanel) -> None:  # type: ignore[no-untyped-def]
    control = panel.faces_control
    emitted(qtbot, panel, lambda: choose(control.style_combo, "pixelate"))
    for effect in ("none", "replace", "remove", "blur"):
        p = emitted(qtbot, panel, lambda effect=effect: choose(panel.effect_combo, effect))
        assert (p.effect, p.faces) == (effect, "pixelate") and control.style_combo.isEnabled()
    p = emitted(qtbot, panel, lambda: choose(panel.effect_combo, "mask"))
    assert (p.effect, p.faces) == ("mask", None)  # the faces stage refuses mask: never emitted together
    assert not control.style_combo.isEnabled() and not control.more_button.isEnabled()
    assert control.style_combo.toolTip() == MASK_TIP and "mask" in MASK_TIP.lower()
    p = emitted(qtbot, panel, lambda: choose(panel.effect_combo, "blur"))
    assert (p.effect, p.faces) == ("blur", "pixelate") and control.style_combo.isEnabled()


def test_the_saved_faces_choice_is_shown(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chosen = EffectParams(effect="none", faces="box", face_shape="rect", face_padding=0.5, face_threshold=0.7)
    panel = EffectsPanel(Settings(effect=chosen), tmp_path)
    qtbot.addWidget(panel)
    control = panel.faces_control
    assert panel.params() == chosen
    assert (control.style_combo.currentData(), control.shape_combo.currentData(), control.padding_slider.value(),
            control.threshold_slider.value()) == ("box", "rect", 50, 70)
    panel.set_params(chosen.with_(faces="blur"))
    assert control.style_combo.currentData() == "blur" and panel.params().faces == "blur"


def test_the_live_worker_and_the_photos_tab_both_get_the_faces_params(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(Settings(effect=EffectParams(effect="none")), segmenter_factory=FakeSegmenter,
                        demo_factory=demo_source, camera_lister=list, retry_interval=0.05)
    qtbot.addWidget(window)
    sent: list[EffectParams] = []
    monkeypatch.setattr(window.worker, "set_params", sent.append)
    try:
        choose(window.effects.faces_control.style_combo, "blur")
        assert sent[-1].faces == "blur"  # the Live tab's worker (set_params, like every other param)
        assert window.photos._params.faces == "blur"  # the Photos tab
        window.effects.faces_control.padding_slider.setValue(60)
        assert sent[-1].face_padding == pytest.approx(0.6)
        assert window.photos._params.face_padding == sent[-1].face_padding
    finally:
        window.shutdown()
