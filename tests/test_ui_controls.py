"""EffectsPanel: each control emits the right validated EffectParams and writes it into the settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QColor

from desktop_app.core.batch import GREEN_SCREEN
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings, SettingsStore
from desktop_app.ui.controls import EffectsPanel


@pytest.fixture
def backgrounds(tmp_path: Path) -> Path:
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    for name, value in (("beach.jpg", 90), ("office.jpg", 160)):
        Image.fromarray(np.full((90, 160, 3), value, np.uint8)).save(folder / name)
    (folder / "notes.txt").write_text("not a background")
    return folder


def make_panel(qtbot, settings: Settings, backgrounds: Path, **kwargs) -> EffectsPanel:  # type: ignore[no-untyped-def]
    panel = EffectsPanel(settings, backgrounds, **kwargs)
    qtbot.addWidget(panel)
    return panel


def choose(panel: EffectsPanel, combo_name: str, key: str) -> None:
    combo = getattr(panel, combo_name)
    combo.setCurrentIndex(combo.findData(key))


def emitted(qtbot, panel: EffectsPanel, change) -> EffectParams:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(panel.params_changed, timeout=1000) as blocker:
        change()
    params = blocker.args[0]
    params.validate()
    assert panel.params() == params
    return params


def test_initial_params_come_from_the_settings(qtbot, backgrounds: Path) -> None:
    settings = Settings(effect=EffectParams(effect="blur", strength=70, threshold=0.6, feather=0.1,
                                            smoothing=0.2))
    panel = make_panel(qtbot, settings, backgrounds)
    assert panel.params() == settings.effect
    assert (panel.strength_slider.value(), panel.threshold_slider.value(), panel.feather_slider.value(),
            panel.smoothing_slider.value()) == (70, 60, 10, 20)
    assert panel.builtin_backgrounds() == [backgrounds / "beach.jpg", backgrounds / "office.jpg"]
    assert panel.background_list.count() == 2


def test_each_control_emits_its_params_and_writes_the_settings(qtbot, backgrounds: Path) -> None:
    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds)
    base = panel.params()

    p = emitted(qtbot, panel, lambda: choose(panel, "effect_combo", "none"))
    assert p == base.with_(effect="none") and settings.effect == p

    p = emitted(qtbot, panel, lambda: choose(panel, "effect_combo", "blur"))
    p = emitted(qtbot, panel, lambda: panel.strength_slider.setValue(85))
    assert (p.effect, p.strength) == ("blur", 85) and settings.effect == p

    p = emitted(qtbot, panel, lambda: panel.threshold_slider.setValue(70))
    assert p.threshold == pytest.approx(0.7) and settings.effect == p
    p = emitted(qtbot, panel, lambda: panel.feather_slider.setValue(0))
    assert p.feather == 0.0 and settings.effect == p
    p = emitted(qtbot, panel, lambda: panel.smoothing_slider.setValue(95))
    assert p.smoothing == pytest.approx(0.95) and settings.effect == p

    p = emitted(qtbot, panel, lambda: choose(panel, "effect_combo", "mask"))
    assert p.effect == "mask" and settings.effect == p


def test_replace_uses_a_builtin_background_and_the_picked_one(qtbot, backgrounds: Path) -> None:
    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds)
    assert panel.replace_row.isHidden()
    p = emitted(qtbot, panel, lambda: choose(panel, "effect_combo", "replace"))
    assert (p.effect, p.background) == ("replace", backgrounds / "beach.jpg")
    assert not panel.replace_row.isHidden() and panel.blur_row.isHidden()

    p = emitted(qtbot, panel, lambda: panel.background_list.setCurrentRow(1))
    assert p.background == backgrounds / "office.jpg" and settings.effect == p


def test_choose_image_adds_it_and_switches_to_replace(qtbot, backgrounds: Path, tmp_path: Path) -> None:
    custom = tmp_path / "mine.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(custom)
    asked: list[str] = []

    def picker(_parent, start: str) -> Path:  # type: ignore[no-untyped-def]
        asked.append(start)
        return custom

    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds, image_picker=picker)
    p = emitted(qtbot, panel, panel.choose_background_button.click)
    assert (p.effect, p.background) == ("replace", custom) and settings.effect == p
    assert panel.background_list.count() == 3 and len(asked) == 1


def test_cancelled_dialogs_change_nothing(qtbot, backgrounds: Path) -> None:
    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds, image_picker=lambda _p, _s: None,
                       color_picker=lambda _c, _p: QColor())
    before = panel.params()
    with qtbot.assertNotEmitted(panel.params_changed):
        panel.choose_background()
        panel.choose_color()
    assert panel.params() == before == settings.effect


def test_remove_modes_transparent_green_and_a_picked_colour(qtbot, backgrounds: Path) -> None:
    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds, color_picker=lambda _c, _p: QColor(10, 20, 30))
    p = emitted(qtbot, panel, lambda: choose(panel, "effect_combo", "remove"))
    assert (p.effect, p.color) == ("remove", None)
    assert not panel.color_button.isEnabled()

    p = emitted(qtbot, panel, lambda: choose(panel, "remove_combo", "green"))
    assert p.color == GREEN_SCREEN and settings.effect == p

    p = emitted(qtbot, panel, panel.choose_color)
    assert p.color == (10, 20, 30) and settings.effect == p
    assert panel.remove_combo.currentData() == "color" and panel.color_button.isEnabled()

    p = emitted(qtbot, panel, lambda: choose(panel, "remove_combo", "transparent"))
    assert p.color is None
    p = emitted(qtbot, panel, lambda: choose(panel, "remove_combo", "color"))
    assert p.color == (10, 20, 30)  # the picked colour is remembered


def test_choices_persist_across_runs(qtbot, backgrounds: Path) -> None:
    store = SettingsStore()
    settings = store.load().settings
    panel = make_panel(qtbot, settings, backgrounds)
    choose(panel, "effect_combo", "replace")
    panel.background_list.setCurrentRow(1)
    panel.feather_slider.setValue(45)
    store.save(settings)

    loaded = store.load()
    assert loaded.problem is None
    assert loaded.settings.effect == panel.params() == EffectParams(
        effect="replace", background=backgrounds / "office.jpg", feather=0.45)
    again = make_panel(qtbot, loaded.settings, backgrounds)
    assert again.params() == panel.params()
    assert (again.effect_combo.currentData(), again.background_list.currentRow(),
            again.feather_slider.value()) == ("replace", 1, 45)


def test_saved_replace_without_image_falls_back(qtbot, backgrounds: Path, tmp_path: Path) -> None:
    settings = Settings(effect=EffectParams(effect="replace", background=None))
    panel = make_panel(qtbot, settings, backgrounds)
    assert panel.params() == EffectParams(effect="replace", background=backgrounds / "beach.jpg")
    assert settings.effect == panel.params()

    empty = tmp_path / "none-here"
    settings = Settings(effect=EffectParams(effect="replace", background=None, strength=30))
    panel = make_panel(qtbot, settings, empty)
    assert panel.params() == EffectParams(effect="blur", strength=30)
    assert panel.effect_combo.currentData() == "blur" and settings.effect == panel.params()


def test_set_params_shows_and_emits(qtbot, backgrounds: Path) -> None:
    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds)
    wanted = EffectParams(effect="remove", color=GREEN_SCREEN, threshold=0.3, smoothing=0.0,
                          background=backgrounds / "office.jpg")
    assert emitted(qtbot, panel, lambda: panel.set_params(wanted)) == wanted
    assert panel.background_list.currentRow() == 1
    assert panel.remove_combo.currentData() == "green" and panel.threshold_slider.value() == 30
    with pytest.raises(ValueError):
        panel.set_params(EffectParams(strength=0))
