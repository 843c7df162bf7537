"""`process` on videos: H.264 MP4 with sound by default, `--format webm` keeps a cut-out's transparency, and the
progress bar counts frames with the time left (redrawn on a terminal, one plain line when piped)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from av_clips import clip, streams
from corpus import file_hashes

from desktop_app.cli import ProgressBar, main, output_formats
from desktop_app.core.progress import time_left as eta


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_terminal_gets_one_redrawn_line_with_frames_and_time_left() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(stream, tty=True, clock=clock)
    bar.update(0, 2, Path("talk.mp4"))
    for done in range(1, 11):
        clock.now += 0.5  # 2 frames/s: 10 frames of 40 leave 15 s
        bar.frame(done, 40, Path("talk.mp4"))
    bar.finish()
    text = stream.getvalue()
    assert "\n" not in text[:-1] and text.endswith("\n")  # one line, redrawn with \r
    last = text.rsplit("\r", 1)[1]
    assert "1/2 talk.mp4 frame 10/40, about 15 s left" in last
    assert last.startswith("[###.") and "[####" not in last  # 12.5 % of the whole batch


def test_redraws_are_rate_limited_but_the_last_frame_is_drawn() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(stream, tty=True, clock=clock)
    bar.update(0, 1, Path("v.mp4"))
    for done in range(1, 1001):
        clock.now += 0.001
        bar.frame(done, 1000, Path("v.mp4"))
    assert 5 <= stream.getvalue().count("\r") <= 15  # 1 s of frames: about ten redraws, not a thousand
    assert "frame 1000/1000" in stream.getvalue().rsplit("\r", 1)[1]


def test_piped_output_gets_only_a_plain_final_line_per_video() -> None:
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(stream, tty=False, clock=clock)
    bar.update(0, 2, Path("a.mp4"))
    for done in range(1, 5):
        clock.now += 0.25
        bar.frame(done, 4, Path("a.mp4"))
    bar.update(1, 2, Path("b.webm"))
    for done in range(1, 4):  # a container that does not say how many frames it holds
        clock.now += 0.5
        bar.frame(done, None, Path("b.webm"))
    bar.finish()
    assert stream.getvalue() == "a.mp4: 4 frames in 1.0 s (4.0 frames/s)\nb.webm: 3 frames in 1.5 s (2.0 frames/s)\n"


def test_eta_reads_like_a_person_would_say_it() -> None:
    assert [eta(0.2), eta(14.6), eta(125), eta(5400)] == [
        "about 1 s left", "about 15 s left", "about 2 min left", "about 1.5 h left"]


def test_format_webm_is_for_videos() -> None:
    assert output_formats("webm") == ("png", "webm")
    assert output_formats(None) == ("png", "mp4") and output_formats("png") == ("png", "png")


def test_process_remove_as_webm_and_blur_as_mp4_with_sound(tmp_path: Path, capsys) -> None:
    (tmp_path / "in").mkdir()
    src = clip(tmp_path / "in" / "talk.mp4", seconds=0.4, size=(64, 48))
    before = file_hashes([src])
    code, _, err = run(capsys, "process", str(src), "--effect", "remove", "--format", "webm", "--quality", "fast",
                       "--out", str(tmp_path / "out"))
    assert code == 0, err
    info = streams(tmp_path / "out" / "talk_remove.webm")
    assert info["video"]["codec"] == "vp9" and info["audio"]["codec"] == "opus"
    assert "talk.mp4: 6 frames in" in err  # capsys is not a terminal: the plain line
    code, _, err = run(capsys, "process", str(src), "--effect", "remove", "--out", str(tmp_path / "out"))
    assert code == 0 and "green screen (--format webm keeps it)" in err
    info = streams(tmp_path / "out" / "talk_remove.mp4")
    assert info["video"]["codec"] == "h264" and info["audio"]["codec"] == "aac"
    assert file_hashes(before) == before
