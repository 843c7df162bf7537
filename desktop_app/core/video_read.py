"""Reading video files with PyAV (FFmpeg): validated open, upright RGB frames, the stream's rate and timestamps.

- `VideoReader` validates the file on open (a corrupt or non-video file is a `VideoReadError` with one clear
  line) and yields `(H, W, 3) uint8` RGB frames, upright: a display-matrix rotation (phones' portrait clips) is
  applied to the pixels, as OpenCV did, so writers never need a rotation tag. A stream that breaks mid-way ends
  with a `VideoReadError` after the frames it could read.
- `fps` is the stream's average rate; `timestamps` (seconds from the first frame, one per frame yielded) keep a
  variable-rate video's timing; `time_base` is the stream's, so a writer can reproduce the timestamps exactly.
- `audio` describes the file's audio streams (the writer copies or re-encodes the first one).
The live camera does not come through here: it keeps cv2.VideoCapture.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from desktop_app.core.safe_write import InputError, check_input_file

SUPPORTED_VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"})
FALLBACK_FPS = 30.0
MAX_FPS = 240.0


class VideoReadError(InputError):
    """A video that cannot be read (or stopped part-way); str() is "<file name>: <reason>"."""

    def __init__(self, path: Path | str, reason: str, frames_read: int = 0) -> None:
        self.frames_read = frames_read
        super().__init__(path, reason)


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """One audio stream of a source: its codec name (FFmpeg's), sample rate and channel count."""

    index: int
    codec: str
    rate: int
    channels: int


def is_video(path: Path | str) -> bool:
    """By extension (for folder scanning); `VideoReader` decides by content."""
    return Path(path).suffix.lower() in SUPPORTED_VIDEO_EXTENSIONS


def open_container(path: Path | str) -> Any:
    """av.open for reading (a seam for tests); FFmpeg's errors come out as av.FFmpegError / OSError."""
    return av.open(str(path), mode="r", metadata_errors="ignore")


def audio_streams(container: Any) -> list[AudioInfo]:
    """The audio streams of an open container, in file order."""
    found = []
    for stream in container.streams.audio:
        ctx = stream.codec_context
        found.append(AudioInfo(stream.index, ctx.name or "unknown", int(ctx.sample_rate or 0),
                               int(getattr(ctx.layout, "nb_channels", 0) or ctx.channels or 0)))
    return found


def probe_audio(path: Path | str) -> list[AudioInfo] | None:
    """The audio streams of a video file, or None if it cannot be opened (never blocks on a FIFO)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open_container(path) as container:
            return audio_streams(container)
    except (av.FFmpegError, OSError, ValueError):
        return None


def has_audio(path: Path | str) -> bool | None:
    """True/False if the file has/has not an audio stream; None if it cannot be opened as a media file."""
    streams = probe_audio(path)
    return None if streams is None else bool(streams)


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """The frame as it is meant to be seen: `rotation` is the display matrix's counter-clockwise angle."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _rate(stream: Any) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and math.isfinite(float(rate)) and 1.0 <= float(rate) <= MAX_FPS:
            return Fraction(rate)
    return None


class VideoReader:
    """Iterate upright RGB frames `(H, W, 3) uint8` of a video file.

    `fps` is the stream's rate, or FALLBACK_FPS when missing or absurd (`fps_known` says which); `rate` is the
    same as an exact fraction; `frame_count` is the container's count or None; `size` is (width, height) of the
    first frame as shown (after rotation); `rotation` the angle that was applied.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.frames_read = 0
        self.timestamps: list[float] = []
        _check_file(self.path)
        try:
            self._container = open_container(self.path)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VideoReadError(self.path, "not a video, or the file is corrupt") from exc
        self._closed = False
        try:
            self._open_stream()
        except BaseException:
            self.close()
            raise

    def _open_stream(self) -> None:
        if not self._container.streams.video:
            raise VideoReadError(self.path, "not a video, or the file is corrupt")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._stream = stream
        self.audio = audio_streams(self._container)
        self.time_base: Fraction = Fraction(stream.time_base or Fraction(1, 90000))
        rate = _rate(stream)
        self.fps_known = rate is not None
        self.rate: Fraction = rate if rate is not None else Fraction(FALLBACK_FPS)
        self.fps = float(self.rate)
        self.frame_count: int | None = int(stream.frames) if stream.frames and stream.frames >= 1 else None
        self._broken = False
        self._frames = self._decode()
        first = next(self._frames, None)
        if first is None:
            raise VideoReadError(self.path, "the video has no readable frames (corrupt or unsupported codec)")
        self._first: tuple[np.ndarray, float] | None = first
        self.size: tuple[int, int] = (first[0].shape[1], first[0].shape[0])
        start = stream.start_time
        self.start: float = float(start * self.time_base) if start is not None else 0.0

    def _decode(self) -> Iterator[tuple[np.ndarray, float]]:
        """(rgb, seconds) per decoded frame; stops quietly at the first decoding error (checked by __iter__)."""
        origin: float | None = None
        try:
            for frame in self._container.decode(self._stream):
                seconds = float(frame.time) if frame.time is not None else None
                if seconds is None:
                    seconds = (self.frames_read + (0 if origin is None else 1)) / self.fps
                if origin is None:
                    origin = seconds
                rgb = upright(frame.to_ndarray(format="rgb24"), int(frame.rotation or 0))
                yield rgb, seconds - origin
                del rgb, frame  # a consumer that copies and drops the frame frees it before the next decode
        except (av.FFmpegError, OSError, ValueError):
            self._broken = True  # a decoding error, not the end of the file

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield RGB frames; raise VideoReadError after the last good frame if the stream broke early."""
        if self._closed:
            raise VideoReadError(self.path, "the video was already closed")
        try:
            yield from self._checked()
        finally:
            self.close()

    def looping(self) -> Iterator[np.ndarray]:
        """Yield the frames again and again (a file played as a camera), seeking back to the start at the end
        instead of reopening the file: reopening frees and reallocates the decoder's buffers every loop, 5-14 MB
        of RSS up and down (bench/bench_soak.py). Ends like `__iter__`, closing the reader, at a decoding error
        or when the file cannot seek back."""
        if self._closed:
            raise VideoReadError(self.path, "the video was already closed")
        try:
            while True:
                before = self.frames_read
                yield from self._checked()
                if self.frames_read == before or not self._rewind():
                    break
        finally:
            self.close()

    def _rewind(self) -> bool:
        """Back to the first frame on the same open file and decoder; False if it cannot seek."""
        try:
            self._container.seek(0)
        except (av.FFmpegError, OSError, ValueError):
            return False
        self._frames = self._decode()
        self._first, self._broken = None, False
        self.frames_read, self.timestamps = 0, []
        return True

    def _checked(self) -> Iterator[np.ndarray]:
        """The frames to the end, with the checks `__iter__` promises (size changes, truncation)."""
        while True:
            item: tuple[np.ndarray, float] | None
            if self._first is not None:
                item, self._first = self._first, None
            else:
                item = next(self._frames, None)
            if item is None:
                break
            rgb, seconds = item
            if (rgb.shape[1], rgb.shape[0]) != self.size:
                raise VideoReadError(
                    self.path, f"the frame size changed mid-video at frame {self.frames_read + 1}",
                    self.frames_read,
                )
            self.frames_read += 1
            self.timestamps.append(seconds)
            yield rgb
            del rgb, item  # not kept alive while the next frame is decoded (see `_decode`)
        if self.frame_count is None and self._broken:
            raise VideoReadError(self.path, f"the video is truncated or corrupt: it stopped after "
                                 f"{self.frames_read} frames", self.frames_read)
        if self.frame_count is not None and self.frames_read < self.frame_count - tolerance(self.frame_count):
            raise VideoReadError(
                self.path,
                f"the video is truncated or corrupt: it stopped after {self.frames_read} "
                f"of {self.frame_count} frames",
                self.frames_read,
            )

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            frames = getattr(self, "_frames", None)
            if frames is not None:
                frames.close()
            self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tolerance(count: int) -> int:
    """Frame counts of some containers are estimates: allow a small shortfall before calling it broken."""
    return max(1, count // 50)


def _check_file(path: Path) -> None:
    check_input_file(path, VideoReadError, "video")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError as exc:
        raise VideoReadError(path, "permission denied") from exc
