"""The effects panel's Quality control: bound to `EffectParams.quality` and the settings like the other controls."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ui_controls import backgrounds, choose, emitted, make_panel  # noqa: F401  (fixture)

from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings, SettingsStore


def saved_and_loaded(qtbot, folder: Path, combo: str, key: str):
    """Choose `key` in the panel's `combo`, save the settings and load them again; a panel made from what was loaded
    shows the choice."""
    store = SettingsStore()
    settings = store.load().settings
    choose(make_panel(qtbot, settings, folder), combo, key)
    store.save(settings)
    loaded = store.load()
    assert loaded.problem is None
    assert getattr(make_panel(qtbot, loaded.settings, folder), combo).currentData() == key
    return loaded


def test_quality_offers_best_for_photos_and_fast(qtbot, backgrounds: Path) -> None:  # noqa: F811
    panel = make_panel(qtbot, Settings(), backgrounds)
    combo = panel.quality_combo
    assert [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())] == [
        ("best", "Best (photos, videos)"), ("fast", "Fast")]
    assert combo.currentData() == "best" and panel.params().quality == "best"
    assert "live has its own setting" in combo.toolTip().lower() and "videos" in combo.toolTip()


def test_choosing_quality_emits_and_writes_the_settings(qtbot, backgrounds: Path) -> None:  # noqa: F811
    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds)
    p = emitted(qtbot, panel, lambda: choose(panel, "quality_combo", "fast"))
    assert p == EffectParams().with_(quality="fast", background=p.background) and settings.effect == p
    p = emitted(qtbot, panel, lambda: choose(panel, "quality_combo", "best"))
    assert p.quality == "best" and settings.effect == p


def test_quality_comes_from_the_settings_and_persists(qtbot, backgrounds: Path) -> None:  # noqa: F811
    panel = make_panel(qtbot, Settings(effect=EffectParams(quality="fast", strength=70)), backgrounds)
    assert panel.quality_combo.currentData() == "fast" and panel.params().quality == "fast"

    loaded = saved_and_loaded(qtbot, backgrounds, "quality_combo", "fast")
    assert loaded.settings.effect.quality == "fast"


def test_a_hostile_quality_in_the_file_falls_back_to_best(qtbot, backgrounds: Path) -> None:  # noqa: F811
    store = SettingsStore()
    store.folder.mkdir(parents=True, exist_ok=True)
    store.path.write_text('{"effect": {"effect": "mask", "quality": "ultra"}}', encoding="utf-8")
    loaded = store.load()
    assert loaded.problem is not None and "quality must be one of fast, best" in loaded.problem
    panel = make_panel(qtbot, loaded.settings, backgrounds)
    assert panel.quality_combo.currentData() == "best" and panel.params() == Settings().effect.with_(
        background=panel.params().background)


def test_set_params_shows_quality_and_none_disables_it(qtbot, backgrounds: Path) -> None:  # noqa: F811
    panel = make_panel(qtbot, Settings(), backgrounds)
    p = emitted(qtbot, panel, lambda: panel.set_params(EffectParams(effect="mask", quality="fast")))
    assert p.quality == "fast" and panel.quality_combo.currentData() == "fast"
    assert panel.quality_combo.isEnabled()
    emitted(qtbot, panel, lambda: choose(panel, "effect_combo", "none"))
    assert not panel.quality_combo.isEnabled()
    with pytest.raises(ValueError):
        panel.set_params(EffectParams(quality="ultra"))  # type: ignore[arg-type]


def test_live_quality_offers_auto_by_default_fast_and_best(qtbot, backgrounds: Path) -> None:  # noqa: F811
    settings = Settings()
    panel = make_panel(qtbot, settings, backgrounds)
    combo = panel.live_quality_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["auto", "fast", "best"]
    assert combo.currentData() == "auto" and panel.params().live_quality == "auto"
    p = emitted(qtbot, panel, lambda: choose(panel, "live_quality_combo", "best"))
    assert p == EffectParams().with_(live_quality="best", background=p.background) and settings.effect == p
    assert p.quality == "best"  # the photos' own setting is left as it was


def test_live_quality_persists_and_a_hostile_one_falls_back_to_auto(qtbot, backgrounds: Path) -> None:  # noqa: F811
    loaded = saved_and_loaded(qtbot, backgrounds, "live_quality_combo", "best")
    assert loaded.settings.effect.live_quality == "best"
    store = SettingsStore()
    store.path.write_text('{"effect": {"live_quality": "ultra"}}', encoding="utf-8")
    loaded = store.load()
    assert loaded.problem is not None and "live_quality must be one of auto, fast, best" in loaded.problem
    assert make_panel(qtbot, loaded.settings, backgrounds).live_quality_combo.currentData() == "auto"
    panel = make_panel(qtbot, Settings(), backgrounds)
    emitted(qtbot, panel, lambda: choose(panel, "effect_combo", "none"))
    assert not panel.live_quality_combo.isEnabled()
