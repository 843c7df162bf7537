"""Video I/O: validated open, RGB frames, clear errors (also part-way), atomic never-overwrite mp4 output."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from corpus import VIDEO_COLORS, corrupt_video, empty_video, file_hashes, short_video, unwritable_dir

from desktop_app.core import videoio
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


class FakeCapture:
    """Stands in for cv2.VideoCapture: `good` frames, then a failed read; reports `count` and `fps`."""

    def __init__(self, good: int, count: float, fps: float) -> None:
        self.good, self.count, self.fps, self.reads, self.released = good, count, fps, 0, False

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.reads > self.good:
            return False, None
        return True, np.full((4, 6, 3), self.reads, np.uint8)

    def get(self, prop: int) -> float:
        return {videoio.cv2.CAP_PROP_FPS: self.fps, videoio.cv2.CAP_PROP_FRAME_COUNT: self.count}[prop]

    def release(self) -> None:
        self.released = True


def test_a_stream_broken_part_way_ends_with_an_error_after_its_good_frames(tmp_path, monkeypatch) -> None:
    fake = FakeCapture(good=3, count=10, fps=25.0)
    monkeypatch.setattr(videoio, "_open_capture", lambda path: fake)
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"x")
    got: list[int] = []
    reader = VideoReader(path)
    with pytest.raises(VideoReadError) as info:
        for frame in reader:
            got.append(int(frame[0, 0, 0]))
    assert got == [1, 2, 3]
    assert str(info.value) == "broken.mp4: the video is truncated or corrupt: it stopped after 3 of 10 frames"
    assert info.value.frames_read == 3 and fake.released


def test_a_truly_truncated_file_also_reports_it(tmp_path: Path) -> None:
    src = tmp_path / "full.avi"
    writer = videoio.cv2.VideoWriter(str(src), videoio.cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
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
    monkeypatch.setattr(videoio, "_open_capture", lambda path: FakeCapture(good=99, count=100, fps=30.0))
    (tmp_path / "v.mkv").write_bytes(b"x")
    assert sum(1 for _ in VideoReader(tmp_path / "v.mkv")) == 99


@pytest.mark.parametrize("fps", [0.0, float("nan"), -5.0, 1000.0])
def test_missing_or_absurd_fps_falls_back(tmp_path: Path, monkeypatch, fps: float) -> None:
    monkeypatch.setattr(videoio, "_open_capture", lambda path: FakeCapture(good=2, count=0, fps=fps))
    (tmp_path / "v.webm").write_bytes(b"x")
    reader = VideoReader(tmp_path / "v.webm")
    assert (reader.fps, reader.fps_known, reader.frame_count, reader.size) == (FALLBACK_FPS, False, None, (6, 4))
    assert len(list(reader)) == 2


def test_a_video_with_no_readable_frame_is_refused(tmp_path: Path, monkeypatch) -> None:
    fake = FakeCapture(good=0, count=5, fps=30.0)
    monkeypatch.setattr(videoio, "_open_capture", lambda path: fake)
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
    assert has_audio(paths[0]) is False  # OpenCV writes no audio track


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


def box(kind: bytes, payload: bytes = b"", large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def hdlr(handler: bytes) -> bytes:
    return box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12 + b"name\x00")


def mp4(*handlers: bytes, large_mdat: bool = False) -> bytes:
    traks = b"".join(box(b"trak", box(b"tkhd", b"\x00" * 20) + box(b"mdia", hdlr(h))) for h in handlers)
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
    return ftyp + box(b"mdat", b"\x00" * 100, large=large_mdat) + box(b"moov", box(b"mvhd", b"\x00" * 20) + traks)


def test_has_audio_reads_track_handlers(tmp_path: Path) -> None:
    cases = {
        "av.mp4": mp4(b"vide", b"soun"),
        "v.mov": mp4(b"vide"),
        "big.m4v": mp4(b"vide", b"soun", large_mdat=True),
        "nomoov.mp4": box(b"ftyp", b"isom") + box(b"mdat", b"\x00" * 10),
        "garbage.mp4": b"\xff" * 64,
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "a.avi").write_bytes(b"RIFF")
    results = {name: has_audio(tmp_path / name) for name in [*cases, "a.avi", "missing.mp4"]}
    assert results == {
        "av.mp4": True, "v.mov": False, "big.m4v": True, "nomoov.mp4": None, "garbage.mp4": None,
        "a.avi": None, "missing.mp4": None,
    }


def test_video_extensions() -> None:
    assert {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"} == SUPPORTED_VIDEO_EXTENSIONS
    assert is_video("a/Clip.MOV") and is_video("x.webm") and not is_video("x.jpg") and not is_video("mp4")


_REAL_WRITER = cv2.VideoWriter


class _BrokenWriter:
    """Wraps OpenCV's writer like a full disk would look: it accepts every frame, then the file is cut short."""

    def __init__(self, path: str, *args: object) -> None:
        self.path = Path(path)
        self._real = _REAL_WRITER(path, *args)

    def isOpened(self) -> bool:  # OpenCV's name
        return self._real.isOpened()

    def write(self, frame: np.ndarray) -> None:
        self._real.write(frame)

    def release(self) -> None:
        self._real.release()
        data = self.path.read_bytes()
        self.path.write_bytes(data[: len(data) // 2])  # the moov index at the end is lost


def _write_clip(folder: Path, frames: int = 6) -> VideoWriter:
    writer = VideoWriter(folder, "clip", 12.0, (64, 48))
    for i in range(frames):
        writer.write(flat(VIDEO_COLORS[i % 3]))
    return writer


def test_a_broken_write_is_caught_before_publishing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(videoio.cv2, "VideoWriter", _BrokenWriter)
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
    monkeypatch.setattr(videoio.cv2, "VideoWriter", _BrokenWriter)
    monkeypatch.setattr(videoio.shutil, "disk_usage", lambda _p: shutil_usage(0))
    writer = _write_clip(tmp_path)
    with pytest.raises(VideoWriteError) as info:
        writer.close()
    assert info.value.reason == "could not write the video: the disk is full"
    assert list(tmp_path.iterdir()) == []


def shutil_usage(free: int) -> object:
    import shutil

    return shutil._ntuple_diskusage(1 << 30, (1 << 30) - free, free)  # type: ignore[attr-defined]


def _mount_tiny_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    if sys.platform != "linux" or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


def test_a_real_full_disk_gives_a_clear_error_and_no_file(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not _mount_tiny_tmpfs(disk, "96k"):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        noise = np.random.default_rng(0).integers(0, 256, (200, 48, 64, 3), np.uint8)  # ~ 1 MB as mp4v
        writer = VideoWriter(disk, "clip", 12.0, (64, 48))
        for frame in noise:
            writer.write(frame)
        with pytest.raises(VideoWriteError) as info:
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
