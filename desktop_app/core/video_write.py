"""Writing processed videos with PyAV: H.264 in MP4 (plays in browsers and on phones), or VP9 with alpha in WebM.

- MP4: H.264 constrained baseline from **libopenh264** only (BSD; the GPL libx264 in PyAV's wheel is never
  picked: the encoder is named, and a missing libopenh264 is a clear error, never a silent fallback), yuv420p,
  `movflags=+faststart` (the index first: playback starts before the download ends). H.264 needs even sizes: an
  odd width or height loses its last column or row (`size_note` says so); nothing is rescaled.
- WebM: VP9 (libvpx-vp9), yuva420p when frames are RGBA (a transparent cut-out), `auto-alt-ref=0` (alpha needs
  it), audio as Opus.
- Frames arrive upright (the reader applied any rotation), so no rotation tag is written. Nothing of the source's
  metadata is copied (no title, location, creation time), and `fflags=+bitexact` keeps FFmpeg's own "encoder"
  tag out too: the file says no more than a processed photo does.
- The source's audio (`audio_from`) is copied or re-encoded by `core.audio.AudioTrack`, interleaved as frames come.
- The file is written to a temp name and published under a never-overwrite name on `close()` (`safe_write`),
  after re-opening it: the frame count, the first and last frames and the audio stream are checked. `abort()`
  or any exception leaves nothing behind; a write error (a full disk) is one `VideoWriteError` line.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import shutil
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import cv2
import numpy as np

from desktop_app.core.audio import AudioTrack
from desktop_app.core.safe_write import FileError, OutputError, atomic_output, check_not_input, fit_stem
from desktop_app.core.video_read import open_container, tolerance

H264_ENCODER = "libopenh264"  # never "h264" (FFmpeg would pick libx264, GPL) nor libx264 itself
VP9_ENCODER = "libvpx-vp9"
VIDEO_CONTAINERS = ("mp4", "webm")
LOW_DISK_BYTES = 1 << 20  # less free space than this after a broken write: the disk is full
BITS_PER_PIXEL = 0.07  # H.264 target bits per pixel and frame (720p30: ~1.9 Mb/s; beats mp4v on PSNR, smaller)
BT601_MATRIX, MPEG_RANGE, BT709 = 6, 1, 1  # FFmpeg's AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG, AVCOL_PRI/TRC_BT709


class VideoWriteError(FileError):
    """A video that could not be saved; str() is "<path>: <reason>"."""


def encoder_available(name: str) -> bool:
    """True if this FFmpeg build has the encoder `name` (a seam for tests)."""
    try:
        av.codec.Codec(name, "w")
    except Exception:  # av's UnknownCodecError, or ValueError in older builds
        return False
    return True


def open_output(path: Path, fmt: str) -> Any:
    """The output container (a seam for tests): no source metadata, no encoder tag, index first for MP4."""
    options = {"fflags": "+bitexact"}
    if fmt == "mp4":
        options["movflags"] = "+faststart"
    return av.open(str(path), mode="w", format=fmt, options=options)


def encoder_threads(height: int) -> int:
    """OpenH264 threads (one slice each): up to 4 on big frames, fewer on small ones (a slice needs rows)."""
    return max(1, min(os.cpu_count() or 1, 4, height // 120))


def _yuv420(rgb: np.ndarray) -> np.ndarray:
    """RGB -> planar I420 as PyAV's yuv420p wants it ((H * 3/2, W)); OpenCV does it ~6x faster than swscale."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


class VideoWriter:
    """Write frames to `dest_dir/stem.<fmt>` (or `stem-N.<fmt>`); the file appears only on `close()`.

    Use as a context manager: leaving the block normally closes (publishes), an exception aborts, and leaving it
    after `abort()` does nothing more. `path` is the published file after `close()`. Frames must be
    `(H, W, 3) uint8` (or `(H, W, 4)` for WebM: alpha is kept), all the size given (or the first frame's).
    `write(frame, seconds)` places a frame at its source time (variable frame rates keep their timing; `time_base`
    is then the source's, so the timestamps come through exactly); without it frames follow each other at `fps`.
    """

    def __init__(
        self,
        dest_dir: Path | str,
        stem: str,
        fps: float,
        size: tuple[int, int] | None = None,
        inputs: Iterable[Path | str] = (),
        *,
        fmt: str = "mp4",
        audio_from: Path | str | None = None,
        audio_offset: float = 0.0,
        time_base: Fraction | None = None,
    ) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, not {fps}")
        if fmt not in VIDEO_CONTAINERS:
            raise ValueError(f"unknown video container {fmt!r}")
        self.fmt = fmt
        stem = fit_stem(stem, fmt)
        self._target = Path(dest_dir) / f"{stem}.{fmt}"
        self._done = False
        self.size: tuple[int, int] | None = None
        self.encoded_size: tuple[int, int] | None = None
        self.size_note = ""
        self.fps = float(fps)
        self.rate = _rate(fps)
        self.time_base = Fraction(time_base) if time_base else 1 / self.rate
        self.frames_written = 0
        self.path: Path | None = None
        self.audio_note = ""
        self._audio_from = Path(audio_from) if audio_from is not None else None
        self._audio_offset = audio_offset
        self._audio: AudioTrack | None = None
        self._container: Any = None
        self._stream: Any = None
        self._last_pts = -1
        self._encoder = H264_ENCODER if fmt == "mp4" else VP9_ENCODER
        if not encoder_available(self._encoder):
            raise VideoWriteError(self._target, f"this installation has no {self._encoder} encoder "
                                  f"(needed for {fmt.upper()}); reinstall LocalLens")
        if size is not None:
            self._set_size(size)
        inputs = list(inputs)
        try:
            check_not_input(self._target, inputs)
            self._output = atomic_output(dest_dir, stem, fmt, protect=inputs)
            self._pending = self._output.__enter__()
        except OutputError as exc:
            raise VideoWriteError(exc.path, exc.reason) from exc

    def _set_size(self, size: tuple[int, int]) -> None:
        width, height = int(size[0]), int(size[1])
        if width < 2 or height < 2:
            raise VideoWriteError(
                self._target, f"too small to save as {self.fmt.upper()} ({width}x{height}; needs at least 2x2)")
        self.size = (width, height)
        if self.fmt == "mp4":  # H.264 4:2:0 needs even sizes: crop one column/row, never rescale
            self.encoded_size = (width - width % 2, height - height % 2)
            cut = [f"the {what} was cropped by 1 px to {new} (H.264 needs even sizes)"
                   for what, old, new in (("width", width, self.encoded_size[0]), ("height", height,
                                                                                    self.encoded_size[1]))
                   if old != new]
            self.size_note = "; ".join(cut)
        else:
            self.encoded_size = self.size

    def _start(self, alpha: bool) -> None:
        assert self.encoded_size is not None
        try:
            container = self._container = open_output(self._pending.tmp, self.fmt)
            stream = self._stream = container.add_stream(self._encoder, rate=self.rate)
            stream.width, stream.height = self.encoded_size
            stream.codec_context.time_base = self.time_base
            stream.time_base = self.time_base
            if self.fmt == "mp4":
                stream.pix_fmt = "yuv420p"
                width, height = self.encoded_size
                ctx = stream.codec_context
                stream.bit_rate = int(min(max(width * height * self.fps * BITS_PER_PIXEL, 200_000), 40_000_000))
                ctx.gop_size = max(1, round(self.fps * 2))
                # OpenH264 runs one thread per slice: 2 slices on 2 threads encode 720p ~3x faster than 1
                threads = encoder_threads(height)
                ctx.thread_count = threads
                ctx.options = {"slices": str(threads)}
                # what _yuv420 produces (OpenCV's RGB -> I420: BT.601 limited range), said so in the stream
                # so players do not guess BT.709 for HD sizes; sRGB pictures have BT.709 primaries/transfer
                ctx.colorspace, ctx.color_range = BT601_MATRIX, MPEG_RANGE
                ctx.color_primaries, ctx.color_trc = BT709, BT709
            else:
                stream.pix_fmt = "yuva420p" if alpha else "yuv420p"
                stream.codec_context.options = {"auto-alt-ref": "0", "crf": "32", "b": "0", "deadline": "realtime",
                                                "cpu-used": "8", "row-mt": "1"}
            if self._audio_from is not None:
                self._add_audio(container)
        except (av.FFmpegError, OSError, ValueError) as exc:
            error = VideoWriteError(self._target, f"the video encoder could not start ({self._encoder}: {exc})")
            self.abort()
            raise error from exc

    def _add_audio(self, container: Any) -> None:
        """The source's sound, or (a sound FFmpeg cannot decode nor copy here) the video alone, with a note."""
        assert self._audio_from is not None
        try:
            self._audio = AudioTrack(self._audio_from, container, self.fmt, self._audio_offset)
        except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
            self.audio_note = f"the audio track could not be kept ({exc})"
            return
        self.audio_note = self._audio.note

    def write(self, pixels: np.ndarray, seconds: float | None = None) -> None:
        """Add one frame (at `seconds` from the start, or right after the previous one)."""
        if self._done:
            raise VideoWriteError(self._target, "the video was already closed")
        if self.size is None and pixels.ndim == 3:
            try:
                self._set_size((pixels.shape[1], pixels.shape[0]))
            except VideoWriteError:
                self.abort()
                raise
        assert self.size is not None and self.encoded_size is not None
        channels = (3, 4) if self.fmt == "webm" else (3,)
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[:2] != (self.size[1], self.size[0]) or (
                pixels.shape[2] not in channels):
            raise ValueError(
                f"frame must be uint8 {(self.size[1], self.size[0], 3)}, not {pixels.dtype} {pixels.shape}"
            )
        if self._container is None:
            self._start(alpha=pixels.shape[2] == 4)
        ew, eh = self.encoded_size
        pts = self._last_pts + 1 if seconds is None else max(self._last_pts + 1, round(seconds / self.time_base))
        try:
            if self.fmt == "mp4":
                frame = av.VideoFrame.from_ndarray(_yuv420(pixels[:eh, :ew]), format="yuv420p")
            else:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels[:eh, :ew]),
                                                   format="rgba" if pixels.shape[2] == 4 else "rgb24")
            frame.pts = pts
            self._container.mux(self._stream.encode(frame))
            if self._audio is not None:
                self._audio.mux_until(float(pts * self.time_base))
        except (av.FFmpegError, OSError) as exc:
            error = self._write_error(exc)
            self.abort()
            raise error from exc
        self._last_pts = pts
        self.frames_written += 1

    def _write_error(self, exc: BaseException) -> VideoWriteError:
        if getattr(exc, "errno", None) == errno.ENOSPC or _disk_full(self._pending.tmp.parent):
            return VideoWriteError(self._target, "could not write the video: the disk is full")
        return VideoWriteError(self._target, f"could not write the video: {exc}")

    def duration(self) -> float:
        """Seconds of video written: the last frame's time plus one frame."""
        return float(self._last_pts * self.time_base) + 1 / self.fps

    def close(self) -> Path:
        """Finish the file and publish it; VideoWriteError (and nothing left behind) if no frame was written."""
        if self._done:
            if self.path is None:
                raise VideoWriteError(self._target, "the video was aborted")
            return self.path
        if self.frames_written == 0:
            error = VideoWriteError(self._target, "no frames were written")
            self._finish(error)
            raise error
        try:
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.finish(self.duration())
            self._container.close()
        except (av.FFmpegError, OSError) as exc:
            error = self._write_error(exc)
            self._finish(error)
            raise error from exc
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
            ok = tmp.stat().st_size > 0 and _plays(tmp, self.frames_written, self._audio is not None)
        except OSError:
            ok = False
        if ok:
            return None
        return "could not write the video: the disk is full" if _disk_full(tmp.parent) else (
            "the written video is broken")

    def abort(self) -> None:
        """Drop everything written so far: no file appears."""
        if not self._done:
            self._finish(RuntimeError("aborted"))

    def _finish(self, error: BaseException | None) -> None:
        self._done = True
        if self._audio is not None:
            self._audio.close()
        if error is not None and self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
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


def _plays(path: Path, frames: int, audio: bool) -> bool:
    """The file opens, holds `frames` video frames (within tolerance), its first and last frames decode, and it
    has an audio stream with packets when `audio`."""
    try:
        with open_container(path) as container:
            if not container.streams.video or (audio and not container.streams.audio):
                return False
            video = container.streams.video[0]
            count, last_key, audio_packets = 0, None, 0
            for packet in container.demux():
                if packet.size == 0:
                    continue
                if packet.stream.index == video.index:
                    count += 1
                    if packet.is_keyframe:
                        last_key = packet.pts
                else:
                    audio_packets += 1
            if abs(count - frames) > tolerance(frames) or (audio and audio_packets == 0) or last_key is None:
                return False
            container.seek(0, stream=video)
            if next(container.decode(video), None) is None:
                return False
            container.seek(last_key, stream=video, backward=True, any_frame=False)
            return sum(1 for _ in container.decode(video)) >= 1
    except (av.FFmpegError, OSError, ValueError):
        return False


def _disk_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < LOW_DISK_BYTES
    except OSError:
        return False
