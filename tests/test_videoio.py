"""Video I/O: validated open, RGB frames, clear errors (also part-way), atomic never-overwrite H.264/MP4 output."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from av_clips import clip
from corpus import VIDEO_COLORS, corrupt_video, empty_video, file_hashes, short_video, unwritable_dir
from tiny_disk import mount_tiny_tmpfs

from desktop_app.core import video_read, video_write
from desktop_app.core.videoio import (
    FALLBACK_FPS,
    SUPPORTED_VIDEO_EXTENSIONS,
    VideoReader,
    VideoReadError,
    VideoWriteError,
    VideoWriter,
    has_audio,
    is_video,
)


def near(frame: np.ndarray, color: tuple[int, int, int], tol: int = 10) -> bool:
    return bool(np.abs(frame.astype(int) - np.array(color)).max() <= tol)


def flat(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> np.ndarray:
    frame = np.empty((size[1], size[0], 3), np.uint8)
    frame[:] = color
    return frame


def test_short_video_reads_rgb_frames_and_metadata(tmp_path: Path) -> None:
    case = short_video(tmp_path)
    before = file_hashes([case.path])
    with VideoReader(case.path) as reader:
        assert (reader.size, reader.fps, reader.fps_known, reader.frame_count) == ((64, 48), 12.0, True, 9)
        frames = list(reader)
    assert len(frames) == 9 and reader.frames_read == 9
    for i, frame in enumerate(frames):
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.flags.c_contiguous
        assert near(frame, VIDEO_COLORS[i % 3]), i  # RGB order, not OpenCV's BGR
    assert file_hashes(before) == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (corrupt_video, "corrupt.mp4: not a video, or the file is corrupt"),
        (empty_video, "empty.mp4: not a video (the file is empty)"),
        (lambda d: d / "gone.mp4", "gone.mp4: file not found"),
        (lambda d: (d / "folder.mp4").mkdir() or d / "folder.mp4", "folder.mp4: is a folder, not a file"),
    ],
)
def test_unreadable_videos_have_exact_messages(tmp_path: Path, make, message: str) -> None:
    made = make(tmp_path)
    path = made.path if hasattr(made, "path") else made
    before = file_hashes([path]) if path.is_file() else {}
    with pytest.raises(VideoReadError) as info:
        VideoReader(path)
    assert str(info.value) == message
    assert file_hashes(before) == before


class FakeFrame:
    def __init__(self, value: int, seconds: float) -> None:
        self.value, self.time, self.rotation = value, seconds, 0

    def to_ndarray(self, format: str) -> np.ndarray:
        return np.full((4, 6, 3), self.value, np.uint8)


class FakeContainer:
    """Stands in for PyAV's container: `good` frames, then a decoding error; reports `count` and `fps`."""

    def __init__(self, good: int, count: int, fps: float) -> None:
        self.good, self.released = good, False
        stream = SimpleNamespace(average_rate=fps, guessed_rate=None, base_rate=None, frames=count,
                                 time_base=Fraction(1, 1000), start_time=0, thread_type=None)
        self.streams = SimpleNamespace(video=[stream], audio=[])

    def decode(self, _stream: object) -> Iterator[FakeFrame]:
        for i in range(self.good):
            yield FakeFrame(i + 1, i / 25)
        raise OSError("Invalid data found when processing input")

    def close(self) -> None:
        self.released = True


def test_a_stream_broken_part_way_ends_with_an_error_after_its_good_frames(tmp_path, monkeypatch) -> None:
    fake = FakeContainer(good=3, count=10, fps=25.0)
    monkeypatch.setattr(video_read, "open_container", lambda path: fake)
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"x")
    got: list[int] = []
    reader = VideoReader(path)
    with pytest.raises(VideoReadError) as info:
        for frame in reader:
            got.append(int(frame[0, 0, 0]))
    assert got == [1, 2, 3] and reader.timestamps == [0.0, 0.04, 0.08]
    assert str(info.value) == "broken.mp4: the video is truncated or corrupt: it stopped after 3 of 10 frames"
    assert info.value.frames_read == 3 and fake.released


def test_a_truly_truncated_file_also_reports_it(tmp_path: Path) -> None:
    src = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
    rng = np.random.default_rng(5)
    for _ in range(20):
        writer.write(rng.integers(0, 256, (48, 64, 3), np.uint8))
    writer.release()
    data = src.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    frames = 0
    with pytest.raises(VideoReadError) as info:
        for _ in VideoReader(cut):
            frames += 1
    assert 1 <= frames < 19 and info.value.frames_read == frames
    assert str(info.value) == f"cut.avi: the video is truncated or corrupt: it stopped after {frames} of 20 frames"


def test_frame_counts_within_tolerance_end_quietly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(video_read, "open_container", lambda path: FakeContainer(good=99, count=100, fps=30.0))
    (tmp_path / "v.mkv").write_bytes(b"x")
    assert sum(1 for _ in VideoReader(tmp_path / "v.mkv")) == 99


@pytest.mark.parametrize("fps", [0.0, float("nan"), -5.0, 1000.0, None])
def test_missing_or_absurd_fps_falls_back(tmp_path: Path, monkeypatch, fps: float | None) -> None:
    monkeypatch.setattr(video_read, "open_container", lambda path: FakeContainer(good=2, count=0, fps=fps))
    (tmp_path / "v.webm").write_bytes(b"x")
    reader = VideoReader(tmp_path / "v.webm")
    assert (reader.fps, reader.fps_known, reader.frame_count, reader.size) == (FALLBACK_FPS, False, None, (6, 4))
    with pytest.raises(VideoReadError) as info:  # the fake fails after its frames: a decoding error, not the end
        list(reader)
    assert info.value.reason == "the video is truncated or corrupt: it stopped after 2 frames"
    assert reader.frames_read == 2


def test_a_video_with_no_readable_frame_is_refused(tmp_path: Path, monkeypatch) -> None:
    fake = FakeContainer(good=0, count=5, fps=30.0)
    monkeypatch.setattr(video_read, "open_container", lambda path: fake)
    (tmp_path / "v.mp4").write_bytes(b"x")
    with pytest.raises(VideoReadError) as info:
        VideoReader(tmp_path / "v.mp4")
    assert info.value.reason == "the video has no readable frames (corrupt or unsupported codec)"
    assert fake.released


# ------------------------------------------------------------------------------------------- writing


def test_written_video_reads_back_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = []
    for _ in range(2):
        with VideoWriter(out, "clip_blur", 12.0, (64, 48)) as writer:
            for i in range(6):
                writer.write(flat(VIDEO_COLORS[i % 3]))
        paths.append(writer.path)
    assert [p.name for p in paths] == ["clip_blur.mp4", "clip_blur-1.mp4"]
    assert sorted(p.name for p in out.iterdir()) == ["clip_blur-1.mp4", "clip_blur.mp4"]
    with VideoReader(paths[0]) as reader:
        frames = list(reader)
        assert (reader.size, reader.fps, reader.frame_count) == ((64, 48), 12.0, 6)
    assert [near(f, VIDEO_COLORS[i % 3]) for i, f in enumerate(frames)] == [True] * 6
    assert has_audio(paths[0]) is False  # no audio given, none written


def test_odd_frame_sizes_are_cropped_to_even(tmp_path: Path) -> None:
    frame = flat(VIDEO_COLORS[0], (63, 47))
    frame[:, 31:] = VIDEO_COLORS[2]  # a sharp edge a rescale would move
    with VideoWriter(tmp_path, "odd", 10.0, (63, 47)) as writer:
        assert writer.encoded_size == (62, 46)
        writer.write(frame)
    with VideoReader(writer.path) as reader:
        frames = list(reader)
    assert reader.size == (62, 46) and len(frames) == 1
    assert near(frames[0][:, :29], VIDEO_COLORS[0], 16) and near(frames[0][:, 33:], VIDEO_COLORS[2], 16)


def test_exception_or_abort_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyError), VideoWriter(tmp_path, "x", 12.0, (64, 48)) as writer:
        writer.write(flat(VIDEO_COLORS[0]))
        raise KeyError("effect failed")
    assert writer.path is None and list(tmp_path.iterdir()) == []
    writer = VideoWriter(tmp_path, "x", 12.0, (64, 48))
    writer.write(flat(VIDEO_COLORS[1]))
    writer.abort()
    assert writer.path is None and list(tmp_path.iterdir()) == []
    with pytest.raises(VideoWriteError) as info:
        writer.close()
    assert info.value.reason == "the video was aborted"
    with VideoWriter(tmp_path, "x", 12.0) as writer:  # abort inside the block (a cancelled batch)
        writer.write(flat(VIDEO_COLORS[1]))
        writer.abort()
    assert writer.path is None and list(tmp_path.iterdir()) == []


def test_size_can_come_from_the_first_frame(tmp_path: Path) -> None:
    with VideoWriter(tmp_path, "auto", 8.0) as writer:
        assert writer.size is None
        writer.write(flat(VIDEO_COLORS[2], (32, 16)))
        writer.write(flat(VIDEO_COLORS[0], (32, 16)))
        with pytest.raises(ValueError, match=r"frame must be uint8 \(16, 32, 3\)"):
            writer.write(flat(VIDEO_COLORS[0], (64, 48)))
    assert writer.size == (32, 16) and writer.frames_written == 2
    with VideoReader(writer.path) as reader:
        assert (reader.size, reader.fps, len(list(reader))) == ((32, 16), 8.0, 2)


def test_no_frames_or_wrong_frames_are_errors_without_files(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path, "x", 12.0, (64, 48))
    with pytest.raises(ValueError, match=r"frame must be uint8 \(48, 64, 3\)"):
        writer.write(flat(VIDEO_COLORS[0], (32, 48)))
    with pytest.raises(VideoWriteError) as info:
        writer.close()
    assert info.value.reason == "no frames were written"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="fps must be positive"):
        VideoWriter(tmp_path, "x", 0.0, (64, 48))
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_and_input_protection(tmp_path: Path) -> None:
    dest = unwritable_dir(tmp_path)
    with pytest.raises(VideoWriteError) as info:
        VideoWriter(dest, "x", 12.0, (64, 48))
    assert str(info.value) == f"{dest}: cannot create the output folder: part of its path is a file"
    src = short_video(tmp_path).path
    before = file_hashes([src])
    with pytest.raises(VideoWriteError) as info:
        VideoWriter(src.parent, src.stem, 12.0, (64, 48), inputs=[src])
    assert info.value.reason == "refusing to write over an input file"
    assert file_hashes(before) == before


# ------------------------------------------------------------------------------------------- audio


def test_has_audio_looks_at_the_streams(tmp_path: Path) -> None:
    clip(tmp_path / "av.mp4", seconds=0.2, size=(64, 48))
    clip(tmp_path / "v.mov", seconds=0.2, size=(64, 48), audio=None)
    (tmp_path / "garbage.mp4").write_bytes(b"\xff" * 64)
    results = {name: has_audio(tmp_path / name) for name in ["av.mp4", "v.mov", "garbage.mp4", "missing.mp4"]}
    assert results == {"av.mp4": True, "v.mov": False, "garbage.mp4": None, "missing.mp4": None}


def test_video_extensions() -> None:
    assert {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"} == SUPPORTED_VIDEO_EXTENSIONS
    assert is_video("a/Clip.MOV") and is_video("x.webm") and not is_video("x.jpg") and not is_video("mp4")


_REAL_OPEN = video_write.open_output


class _BrokenContainer:
    """Wraps the output container like a full disk would look: it accepts every frame, then the file is cut short."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = Path(path)
        self._real = _REAL_OPEN(path, fmt)

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    def close(self) -> None:
        self._real.close()
        data = self.path.read_bytes()
        self.path.write_bytes(data[: len(data) // 2])  # the frames at the end are lost


def _write_clip(folder: Path, frames: int = 6) -> VideoWriter:
    writer = VideoWriter(folder, "clip", 12.0, (64, 48))
    for i in range(frames):
        writer.write(flat(VIDEO_COLORS[i % 3]))
    return writer


def test_a_broken_write_is_caught_before_publishing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_write, "open_output", _BrokenContainer)
    writer = _write_clip(tmp_path)
    with pytest.raises(VideoWriteError) as info:
        writer.close()
    assert info.value.reason == "the written video is broken"
    assert writer.path is None and list(tmp_path.iterdir()) == []


def test_a_frame_count_shortfall_is_caught(tmp_path: Path) -> None:
    writer = _write_clip(tmp_path, frames=6)
    writer.frames_written = 60  # as if 54 frames had been silently dropped by the encoder
    with pytest.raises(VideoWriteError, match="the written video is broken"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_a_broken_write_on_a_full_disk_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video_write, "open_output", _BrokenContainer)
    monkeypatch.setattr(video_write.shutil, "disk_usage", lambda _p: shutil_usage(0))
    writer = _write_clip(tmp_path)
    with pytest.raises(VideoWriteError) as info:
        writer.close()
    assert info.value.reason == "could not write the video: the disk is full"
    assert list(tmp_path.iterdir()) == []


def shutil_usage(free: int) -> object:

    return shutil._ntuple_diskusage(1 << 30, (1 << 30) - free, free)  # type: ignore[attr-defined]


def test_a_real_full_disk_gives_a_clear_error_and_no_file(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not mount_tiny_tmpfs(disk, "96k"):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        noise = np.random.default_rng(0).integers(0, 256, (200, 48, 64, 3), np.uint8)  # ~ 400 kB as H.264
        writer = VideoWriter(disk, "clip", 12.0, (64, 48))
        with pytest.raises(VideoWriteError) as info:  # while writing (ENOSPC), or when finishing the file
            for frame in noise:
                writer.write(frame)
            writer.close()
        assert info.value.reason == "could not write the video: the disk is full"
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_tiny_frames_are_refused_with_a_clear_reason(tmp_path: Path) -> None:
    with pytest.raises(VideoWriteError) as info:
        VideoWriter(tmp_path, "x", 12.0, (1, 64))
    assert info.value.reason == "too small to save as MP4 (1x64; needs at least 2x2)"
    writer = VideoWriter(tmp_path, "y", 12.0)
    with pytest.raises(VideoWriteError, match=r"too small to save as MP4 \(64x1; needs at least 2x2\)"):
        writer.write(flat(VIDEO_COLORS[0], (64, 1)))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_has_audio_does_not_open_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    result: list[bool | None] = []
    worker = threading.Thread(target=lambda: result.append(has_audio(fifo)))
    worker.start()
    worker.join(5)
    if worker.is_alive():  # blocked in open(): a writer end releases it, so the test fails instead of hanging
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail("has_audio() blocked on a FIFO")
    assert result == [None]
