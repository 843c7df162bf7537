"""A video file played as a camera loops by seeking back on the same decoder, never by reopening the file
(reopening freed and reallocated the decoder's buffers every loop: 5-14 MB of RSS up and down in a long call)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from av_clips import clip

from desktop_app.core.sources import VideoFileSource
from desktop_app.core.video_read import VideoReader


def test_a_looping_file_camera_seeks_back_instead_of_reopening(tmp_path: Path) -> None:
    path = clip(tmp_path / "loop.mp4", seconds=1.0, fps=10, audio=None)  # 10 frames
    source = VideoFileSource(path, loop=True, paced=False)
    source.open()
    try:
        reader = source._reader
        frames = [source.read().pixels for _ in range(32)]
        assert source._reader is reader  # the same open file and decoder after three loops
        assert reader is not None and len(reader.timestamps) <= 10  # nothing grows loop after loop
    finally:
        source.close()
    assert all(np.array_equal(frames[i], frames[i + 10]) for i in range(22))  # each loop shows the same frames


def test_looping_reads_every_frame_each_time_and_closes_when_stopped(tmp_path: Path) -> None:
    path = clip(tmp_path / "loop.mp4", seconds=1.0, fps=10, audio=None)
    once = list(VideoReader(path))
    reader = VideoReader(path)
    frames = reader.looping()
    got = [next(frames) for _ in range(len(once) * 2 + 1)]
    assert all(np.array_equal(a, b) for a, b in zip(got, once + once + once[:1], strict=True))
    frames.close()
    assert reader._closed
