"""Video reading and writing for batch processing (OpenCV), with the same safety rules as images.

- `VideoReader` validates the file on open (a corrupt or non-video file is a `VideoReadError` with one clear
  line) and yields RGB frames; a stream that breaks mid-way ends with a `VideoReadError` after the frames
  it could read.
- `VideoWriter` writes mp4 (`mp4v`: this OpenCV has no H.264 encoder) to a temp file and publishes it under a
  never-overwrite name on `close()` (see `safe_write`); `abort()` or an exception leaves nothing behind.
  OpenCV's writer reports no errors (a full disk gives a broken file), so `close()` re-opens the temp file
  and checks its frame count before publishing.
- OpenCV cannot copy audio: `has_audio()` tells the caller whether a track was dropped (mp4/mov only).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import stat
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import cv2
import numpy as np

from desktop_app.core.safe_write import (
    FileError,
    InputError,
    OutputError,
    atomic_output,
    check_input_file,
    check_not_input,
    fit_stem,
)

SUPPORTED_VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"})
FALLBACK_FPS = 30.0
MAX_FPS = 240.0
MP4V_FOURCC = int.from_bytes(b"mp4v", "little")  # what cv2.VideoWriter_fourcc(*"mp4v") returns
LOW_DISK_BYTES = 1 << 20  # less free space than this after a broken write: the disk is full


class VideoReadError(InputError):
    """A video that cannot be read (or stopped part-way); str() is "<file name>: <reason>"."""

    def __init__(self, path: Path | str, reason: str, frames_read: int = 0) -> None:
        self.frames_read = frames_read
        super().__init__(path, reason)


class VideoWriteError(FileError):
    """A video that could not be saved; str() is "<path>: <reason>"."""


def is_video(path: Path | str) -> bool:
    """By extension (for folder scanning); `VideoReader` decides by content."""
    return Path(path).suffix.lower() in SUPPORTED_VIDEO_EXTENSIONS


def _open_capture(path: Path) -> Any:
    """cv2.VideoCapture for `path` (a seam for tests)."""
    return cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)


class VideoReader:
    """Iterate RGB frames `(H, W, 3) uint8` of a video file.

    `fps` is the file's rate, or FALLBACK_FPS when missing or absurd (`fps_known` says which);
    `frame_count` is the container's count or None; `size` is (width, height) of the first frame.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.frames_read = 0
        _check_file(self.path)
        self._cap = _open_capture(self.path)
        if not self._cap.isOpened():
            self._cap.release()
            raise VideoReadError(self.path, "not a video, or the file is corrupt")
        ok, first = self._read_raw()
        if not ok or first is None:
            self._cap.release()
            raise VideoReadError(self.path, "the video has no readable frames (corrupt or unsupported codec)")
        self._first: np.ndarray | None = first
        self.size: tuple[int, int] = (first.shape[1], first.shape[0])
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps_known = math.isfinite(fps) and 1.0 <= fps <= MAX_FPS
        self.fps = fps if self.fps_known else FALLBACK_FPS
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count: int | None = int(count) if math.isfinite(count) and count >= 1 else None
        self._closed = False

    def _read_raw(self) -> tuple[bool, np.ndarray | None]:
        try:
            ok, bgr = self._cap.read()
        except cv2.error:
            return False, None
        if not ok or bgr is None or bgr.ndim != 3:
            return False, None
        return True, bgr

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield RGB frames; raise VideoReadError after the last good frame if the stream broke early."""
        if self._closed:
            raise VideoReadError(self.path, "the video was already closed")
        try:
            while True:
                bgr: np.ndarray | None
                if self._first is not None:
                    bgr, self._first = self._first, None
                else:
                    ok, bgr = self._read_raw()
                    if not ok or bgr is None:
                        break
                if (bgr.shape[1], bgr.shape[0]) != self.size:
                    raise VideoReadError(
                        self.path, f"the frame size changed mid-video at frame {self.frames_read + 1}",
                        self.frames_read,
                    )
                self.frames_read += 1
                yield np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            if self.frame_count is not None and self.frames_read < self.frame_count - _tolerance(
                self.frame_count
            ):
                raise VideoReadError(
                    self.path,
                    f"the video is truncated or corrupt: it stopped after {self.frames_read} "
                    f"of {self.frame_count} frames",
                    self.frames_read,
                )
        finally:
            self.close()

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tolerance(count: int) -> int:
    """Frame counts of some containers are estimates: allow a small shortfall before calling it broken."""
    return max(1, count // 50)


def _check_file(path: Path) -> None:
    check_input_file(path, VideoReadError, "video")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError as exc:
        raise VideoReadError(path, "permission denied") from exc


class VideoWriter:
    """Write RGB frames to `dest_dir/stem.mp4` (or `stem-N.mp4`); the file appears only on `close()`.

    Use as a context manager: leaving the block normally closes (publishes), an exception aborts, and
    leaving it after `abort()` does nothing more. `path` is the published file after `close()`.
    Frames must be `(H, W, 3) uint8`, all the size given (or, with `size=None`, the first frame's).
    MPEG-4 needs even dimensions: an odd width/height loses its last column/row (`encoded_size`); left
    to itself the encoder would rescale the whole frame.
    """

    def __init__(
        self,
        dest_dir: Path | str,
        stem: str,
        fps: float,
        size: tuple[int, int] | None = None,
        inputs: Iterable[Path | str] = (),
    ) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, not {fps}")
        stem = fit_stem(stem, "mp4")
        self._target = Path(dest_dir) / f"{stem}.mp4"
        self._done = False
        self.size: tuple[int, int] | None = None
        self.encoded_size: tuple[int, int] | None = None
        if size is not None:
            self._set_size(size)
        self.fps = float(fps)
        self.frames_written = 0
        self.path: Path | None = None
        self._writer: Any = None
        inputs = list(inputs)
        try:
            check_not_input(self._target, inputs)
            self._output = atomic_output(dest_dir, stem, "mp4", protect=inputs)
            self._pending = self._output.__enter__()
        except OutputError as exc:
            raise VideoWriteError(exc.path, exc.reason) from exc

    def _set_size(self, size: tuple[int, int]) -> None:
        width, height = int(size[0]), int(size[1])
        if width < 2 or height < 2:
            raise VideoWriteError(
                self._target, f"too small to save as MP4 ({width}x{height}; needs at least 2x2)")
        self.size = (width, height)
        self.encoded_size = (width - width % 2, height - height % 2)

    def _start(self) -> None:
        assert self.encoded_size is not None
        self._writer = cv2.VideoWriter(
            str(self._pending.tmp), MP4V_FOURCC, self.fps, self.encoded_size
        )
        if not self._writer.isOpened():
            error = VideoWriteError(self._target, "the video encoder could not start (mp4v)")
            self.abort()
            raise error

    def write(self, rgb: np.ndarray) -> None:
        if self._done:
            raise VideoWriteError(self._target, "the video was already closed")
        if self.size is None and rgb.ndim == 3:
            try:
                self._set_size((rgb.shape[1], rgb.shape[0]))
            except VideoWriteError:
                self.abort()
                raise
        assert self.size is not None and self.encoded_size is not None
        if rgb.dtype != np.uint8 or rgb.shape != (self.size[1], self.size[0], 3):
            raise ValueError(
                f"frame must be uint8 {(self.size[1], self.size[0], 3)}, not {rgb.dtype} {rgb.shape}"
            )
        if self._writer is None:
            self._start()
        ew, eh = self.encoded_size
        self._writer.write(cv2.cvtColor(rgb[:eh, :ew], cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file and publish it; VideoWriteError (and nothing left behind) if no frame was written."""
        if self._done:
            if self.path is None:
                raise VideoWriteError(self._target, "the video was aborted")
            return self.path
        if self._writer is not None:
            self._writer.release()
        if self.frames_written == 0:
            error = VideoWriteError(self._target, "no frames were written")
            self._finish(error)
            raise error
        problem = self._verify()
        if problem is not None:
            error = VideoWriteError(self._target, problem)
            self._finish(error)
            raise error
        self._finish(None)
        assert self._pending.final is not None
        self.path = self._pending.final
        return self.path

    def _verify(self) -> str | None:
        """Re-open the finished temp file: None if it plays with the frames written, else the reason."""
        tmp = self._pending.tmp
        try:
            written = tmp.stat().st_size > 0
        except OSError:
            written = False
        ok = False
        if written:
            cap = _open_capture(tmp)
            try:
                if cap.isOpened():
                    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
                    if math.isfinite(count) and count >= 1:
                        ok = abs(int(count) - self.frames_written) <= _tolerance(self.frames_written)
                        ok = ok and bool(cap.read()[0])  # the first frame decodes, and so does the last
                        if ok and count > 1:
                            ok = bool(cap.set(cv2.CAP_PROP_POS_FRAMES, count - 1)) and bool(cap.read()[0])
                    else:  # the container does not say: count what it holds
                        frames = 0
                        while frames <= self.frames_written and cap.grab():
                            frames += 1
                        ok = abs(frames - self.frames_written) <= _tolerance(self.frames_written)
            except cv2.error:
                ok = False
            finally:
                cap.release()
        if ok:
            return None
        return "could not write the video: the disk is full" if _disk_full(tmp.parent) else (
            "the written video is broken")

    def abort(self) -> None:
        """Drop everything written so far: no file appears."""
        if not self._done:
            if self._writer is not None:
                self._writer.release()
            self._finish(RuntimeError("aborted"))

    def _finish(self, error: BaseException | None) -> None:
        self._done = True
        if error is None:
            try:
                self._output.__exit__(None, None, None)
            except OutputError as exc:
                raise VideoWriteError(exc.path, exc.reason) from exc
        else:
            with contextlib.suppress(BaseException):
                self._output.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None and not self._done:
            self.close()
        else:
            self.abort()


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < LOW_DISK_BYTES
    except OSError:
        return False


# ------------------------------------------------------------------------------------------- audio

_CONTAINERS = {b"moov", b"trak", b"mdia"}
_MAX_MOOV = 64 << 20


def _boxes(fh: IO[bytes], start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the ISO-BMFF boxes in [start, end)."""
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        header = fh.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        head_len = 8
        if size == 1:
            large = fh.read(8)
            if len(large) < 8:
                return
            size = struct.unpack(">Q", large)[0]
            head_len = 16
        elif size == 0:
            size = end - pos
        if size < head_len or pos + size > end:
            return
        yield kind, pos + head_len, pos + size
        pos += size


def _handler_types(fh: IO[bytes], start: int, end: int, depth: int = 0) -> Iterator[bytes]:
    for kind, body, stop in _boxes(fh, start, end):
        if kind in _CONTAINERS and depth < 4 and stop - body <= _MAX_MOOV:
            yield from _handler_types(fh, body, stop, depth + 1)
        elif kind == b"hdlr" and stop - body >= 12:
            fh.seek(body + 8)  # version/flags (4), pre_defined (4), then handler_type
            yield fh.read(4)


def has_audio(path: Path | str) -> bool | None:
    """True/False if an mp4/mov/m4v file has/has not an audio ('soun') track; None if not knowable cheaply."""
    path = Path(path)
    if path.suffix.lower() not in {".mp4", ".mov", ".m4v"}:
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or device would block open() forever
            return None
        with open(path, "rb") as fh:
            end = fh.seek(0, 2)
            found_moov = False
            for kind, body, stop in _boxes(fh, 0, end):
                if kind == b"moov":
                    found_moov = True
                    if any(h == b"soun" for h in _handler_types(fh, body, stop, 1)):
                        return True
            return False if found_moov else None
    except (OSError, struct.error):
        return None
