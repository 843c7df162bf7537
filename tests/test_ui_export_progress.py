"""Export all shows a video's progress frame by frame, with about how long is left; "Transparent videos" exports
cut-outs as WebM."""

from __future__ import annotations

from pathlib import Path

from av_clips import clip
from test_videoio_av import Same

from desktop_app.core.params import EffectParams
from desktop_app.ui.exports import FRAME_STEPS, ExportBar, ExportJob


def make_bar(qtbot, effect: str = "blur") -> ExportBar:  # type: ignore[no-untyped-def]
    bar = ExportBar(lambda: EffectParams(effect), lambda: "png", lambda _s, _p: Same())
    qtbot.addWidget(bar)
    return bar


def test_a_videos_frames_move_the_bar_and_tell_the_time_left(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = make_bar(qtbot)
    now = [10.0]
    bar.clock = lambda: now[0]
    bar._on_progress(1, 2, "/x/b.mp4")  # the second of two items starts
    now[0] += 6.0
    bar._on_frame_progress(30, 90, "/x/b.mp4")  # a third of its frames in 6 s: 12 s to go
    assert bar.status_label.text() == "Exporting b.mp4 (2 of 2): frame 30 of 90, about 12 s left…"
    assert (bar.progress_bar.maximum(), bar.progress_bar.value()) == (2 * FRAME_STEPS, FRAME_STEPS + 333)
    bar._on_frame_progress(31, -1, "/x/b.mp4")  # a container that does not say how many frames it holds
    assert bar.status_label.text() == "Exporting b.mp4 (2 of 2): frame 31…"


def test_a_real_export_reports_every_frame(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    video = clip(tmp_path / "in" / "v.mp4", seconds=0.4, fps=10, size=(64, 48))
    bar = make_bar(qtbot)
    seen: list[str] = []
    bar.batch.frame_progress.connect(lambda *_: seen.append(bar.status_label.text()))  # after the bar's own slot
    bar.set_segmenter(object())  # type: ignore[arg-type]
    with qtbot.waitSignal(bar.finished, timeout=20000):
        bar.begin(ExportJob([video], tmp_path / "out"))
    assert [text.split(",")[0] for text in seen] == [f"Exporting v.mp4: frame {i} of 4" for i in range(1, 5)]
    assert all("left…" in text for text in seen)
    assert (tmp_path / "out" / "v_blur.mp4").is_file()


def test_transparent_videos_export_cut_outs_as_webm(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    video = clip(tmp_path / "in" / "v.mp4", seconds=0.2, fps=10, size=(64, 48))
    bar = make_bar(qtbot, "remove")
    assert not bar.webm_check.isChecked()  # green-screen MP4 stays the default
    bar.webm_check.setChecked(True)
    assert bar.video_format(ExportJob([video], tmp_path), EffectParams("remove", color=(0, 0, 255))) == "mp4"
    assert bar.video_format(ExportJob([video], tmp_path, save_as="mine"), EffectParams("remove")) == "mp4"
    bar.set_segmenter(object())  # type: ignore[arg-type]
    with qtbot.waitSignal(bar.finished, timeout=20000):
        bar.begin(ExportJob([video], tmp_path / "out"))
    assert (tmp_path / "out" / "v_remove.webm").is_file()
    assert "green screen" not in bar.status_label.text()
