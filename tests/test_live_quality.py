"""Live quality "auto" (core.live_quality): Best while the machine keeps up with the camera, else Fast, on
synthetic frame times; and the live session that measures its frames and hands the choice to the pipeline."""

from __future__ import annotations

import pytest
from test_live import make_session, notices  # noqa: F401  (the live session fixtures)

from desktop_app.core import live_quality
from desktop_app.core.live_quality import BUDGET_SHARE, RETRY_FRAMES, WINDOW, AutoQuality

AT_30 = 1.0 / 30.0
BUDGET_30 = BUDGET_SHARE * 1000.0 / 30.0  # 16.7 ms


def feed(auto: AutoQuality, ms: float, frames: int, interval: float = AT_30) -> list[str]:
    return [m for m in (auto.record(ms, interval) for _ in range(frames)) if m is not None]


def test_best_stays_while_its_median_frame_fits_half_the_cameras_frame_time() -> None:
    auto = AutoQuality()
    assert auto.resolve("auto") == "best"
    times = [BUDGET_30 - 1.0] * (WINDOW - 5) + [100.0] * 5  # a few slow frames (a hiccup) do not count
    assert [auto.record(ms, AT_30) for ms in times * 3] == [None] * (3 * len(times))
    assert auto.best and auto.resolve("auto") == "best"


def test_a_machine_too_slow_for_best_falls_back_to_fast_once_with_a_reason() -> None:
    auto = AutoQuality()
    assert feed(auto, BUDGET_30 + 2.0, WINDOW - 1) == []  # not before a whole window is measured
    messages = feed(auto, BUDGET_30 + 2.0, 1)
    assert len(messages) == 1 and "switched to Fast" in messages[0] and "19 ms" in messages[0]
    assert "33 ms" in messages[0]
    assert auto.resolve("auto") == "fast"
    assert feed(auto, BUDGET_30 + 2.0, 3 * WINDOW) == []  # said once


def test_the_choices_the_user_made_are_kept_whatever_was_measured() -> None:
    auto = AutoQuality()
    feed(auto, 1000.0, WINDOW)
    assert auto.resolve("best") == "best" and auto.resolve("fast") == "fast" and auto.resolve("auto") == "fast"


def test_best_is_tried_again_after_a_while_only_when_fasts_times_say_it_would_fit() -> None:
    auto = AutoQuality()
    feed(auto, 30.0, WINDOW)  # too slow: Fast from now on
    assert not auto.best
    # Fast at 12 ms predicts Best at 14.4 ms: over 0.8 x 16.7 ms, so it stays on Fast however long it runs.
    assert feed(auto, 12.0, 2 * RETRY_FRAMES) == [] and not auto.best
    auto = AutoQuality()
    feed(auto, 30.0, WINDOW)
    assert feed(auto, 8.0, RETRY_FRAMES - 1) == [] and not auto.best  # not before RETRY_FRAMES on Fast
    messages = feed(auto, 8.0, 1)
    assert len(messages) == 1 and "back on Best" in messages[0] and auto.best


@pytest.mark.parametrize(("fps", "slow_ms", "switches"), [(15.0, 20.0, True), (60.0, 10.0, True), (30.0, 15.0, False)])
def test_the_budget_is_half_the_frame_time_counted_at_most_as_30_fps(fps: float, slow_ms: float,
                                                                       switches: bool) -> None:
    auto = AutoQuality()
    feed(auto, slow_ms, WINDOW, 1.0 / fps)  # 15 fps: 16.7 ms (not 33); 60 fps: 8.3 ms
    assert auto.best is not switches


def test_reset_starts_again_on_best() -> None:
    auto = AutoQuality()
    feed(auto, 1000.0, WINDOW)
    auto.reset()
    assert auto.best and feed(auto, 1000.0, WINDOW - 1) == []


# ------------------------------------------------------------------------------------- in the live session


def test_the_session_measures_its_frames_and_the_pipeline_takes_fast_when_auto_gives_up(
        make_session, notices, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from ui_fakes import FakeSegmenter, frames_source

    from desktop_app.core.params import EffectParams

    monkeypatch.setattr(live_quality, "WINDOW", 3)
    monkeypatch.setattr(live_quality, "BUDGET_SHARE", 0.0)  # any frame time is too slow: Auto gives Best up
    session, got = make_session(lambda: frames_source(), params=EffectParams(effect="blur", smoothing=0.0),
                                segmenter=FakeSegmenter())
    got.wait(lambda: got.count >= 8 and bool(got.stats) and got.stats[-1].live_quality == "auto: fast")
    assert session._pipeline is not None and session._pipeline.auto_best is False
    assert sum("switched to Fast" in n for n in notices) == 1
    session.set_params(EffectParams(effect="blur", smoothing=0.0, live_quality="best"))  # the user's choice holds
    got.wait(lambda: got.stats[-1].live_quality == "best")
    assert session._pipeline.live_best(session._pipeline.params)


def test_a_chosen_live_quality_is_not_measured(make_session, notices,  # noqa: F811
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from ui_fakes import FakeSegmenter, frames_source

    from desktop_app.core.params import EffectParams

    monkeypatch.setattr(live_quality, "WINDOW", 3)
    monkeypatch.setattr(live_quality, "BUDGET_SHARE", 0.0)
    session, got = make_session(lambda: frames_source(), params=EffectParams(effect="blur", live_quality="fast"),
                                segmenter=FakeSegmenter())
    got.wait(lambda: got.count >= 8 and bool(got.stats) and got.stats[-1].model_ready)
    assert got.stats[-1].live_quality == "fast" and session._auto.best and notices == []
    assert session._pipeline is not None and not session._pipeline.live_best(session._pipeline.params)
