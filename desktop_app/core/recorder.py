"""Recording the processed live view: `Recorder`, a FrameSink that writes H.264 into a fragmented MP4.

- Encoder: OpenH264 through PyAV, named explicitly ("libopenh264"; never libx264, which is GPL), yuv420p, so
  the size is cropped to even sides. About 0.1 bit per pixel, a keyframe every second.
- Container: fragmented MP4 (`frag_keyframe+empty_moov+default_base_moof`, a fragment every 0.25 s, every
  fragment flushed to the OS as it is written). A crash or a SIGKILL leaves a file that plays up to its last
  written fragment. Measured with this recorder, SIGKILLed after 45 / 100 / 300 written frames: 42 / 93 / 297
  decode cleanly to the end (OpenCV's own FFmpeg reads the same 93). Matroska with 0.25 s clusters survives
  as well (40 of 45, 96 of 100), so the choice is playback: MP4 opens in browsers, phones and QuickTime,
  Matroska in none of them. Plain (unfragmented) MP4 does not survive at all: its index is written last.
- Crash safety needs the file written where it stays, so there is no temp name: the final name is taken at
  once with exclusive create, "LocalLens <YYYY-MM-DD HH-MM-SS>.mp4", then " (2)", " (3)" on a clash; nothing
  is ever overwritten. The folder (default <Videos>/LocalLens) is created by the first recording.
- Timing: each frame's time is its `captured_at`, so dropped frames do not speed playback up; the nominal rate
  is the live fps. `send` only swaps the newest frame into a one-frame slot (a frame it replaces is counted as
  dropped); one encoder thread encodes it. Never a queue.
- Errors: a write failure (a full disk) stops the recording; the next `send` or `close` raises SinkError with
  one line, worded as the reason after "Recording stopped: " (how the live session and the button show it).
  The file is cut back to its last complete fragment, so it plays up to the moment the disk filled.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av
import numpy as np
from platformdirs import user_videos_dir

from desktop_app import APP_NAME
from desktop_app.core.sinks import SinkError, SinkFrame, fit_to

CODEC = "libopenh264"  # BSD-licensed; FFmpeg's "h264" encoder would pick libx264 (GPL) where the wheel has it
TIME_BASE = Fraction(1, 1000)  # pts in milliseconds since the first frame
FRAGMENT_SECONDS = 0.25
BITS_PER_PIXEL = 0.1
MUXER_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": str(int(FRAGMENT_SECONDS * 1_000_000)),  # microseconds; also between keyframes
    "flush_packets": "1",  # every fragment goes to the OS at once, not when a 32 KB buffer fills
}
MIN_SIDE = 16
MAX_NAME_TRIES = 1000

FileOpener = Callable[[Path], IO[bytes]]


def default_recordings_dir() -> Path:
    """<Videos>/LocalLens (platformdirs; home/Videos where the platform names none)."""
    return Path(user_videos_dir()) / APP_NAME


def recording_stem(when: datetime) -> str:
    return f"{APP_NAME} {when:%Y-%m-%d %H-%M-%S}"


def _exclusive_open(path: Path) -> IO[bytes]:
    return open(path, "xb", buffering=0)  # kept open for the whole recording


class WholeWrites:
    """A file whose `write` writes all it is given or raises: a raw write on a nearly full disk writes part and
    returns the count, and FFmpeg's I/O through PyAV would take that as done, leaving a hole mid-fragment."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw

    def write(self, data: bytes) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            n = self.raw.write(view[done:])
            if not n:
                raise OSError(errno.EIO, "the file accepted no more data")
            done += n
        return done

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def truncate(self, size: int) -> int:
        return self.raw.truncate(size)

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        self.raw.close()


def create_new_file(folder: Path, stem: str, opener: FileOpener = _exclusive_open) -> tuple[Path, IO[bytes]]:
    """`<stem>.mp4`, else `<stem> (2).mp4`, ...: taken with exclusive create, so an existing file is never
    touched, even one that appears between the check and the open."""
    for n in range(1, MAX_NAME_TRIES + 1):
        path = folder / (f"{stem}.mp4" if n == 1 else f"{stem} ({n}).mp4")
        try:
            return path, opener(path)
        except FileExistsError:
            continue
    raise SinkError(f"too many recordings named {stem!r} in {folder}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "the disk is full"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return "the folder is read-only"
    text = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    return size[0] & ~1, size[1] & ~1


def fit_frame(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` as exactly `size` (w, h): a frame one pixel larger (an odd side) is cropped to the even size;
    another size is fitted by `sinks.fit_to` (scaled, centred on black: a resolution change does not stretch)."""
    width, height = size
    h, w = rgb.shape[:2]
    if 0 <= w - width <= 1 and 0 <= h - height <= 1:
        return np.ascontiguousarray(rgb[:height, :width])
    return fit_to(rgb, size)


@dataclass(frozen=True, slots=True)
class RecorderStats:
    frames_written: int
    dropped: int  # frames replaced in the slot before the encoder took them
    duration: float  # seconds of video written so far
    path: Path | None


class Recorder:
    """A FrameSink that records to `<folder>/LocalLens <date time>.mp4`. One Recorder records once:
    `open` starts a new file, `close` finalises it (and raises SinkError if the recording failed)."""

    name = "Recording"  # the session's notice reads "Recording stopped: <the SinkError>"

    def __init__(self, folder: Path | None = None, *, now: Callable[[], datetime] = datetime.now,
                 opener: FileOpener = _exclusive_open) -> None:
        self.folder = Path(folder) if folder is not None else default_recordings_dir()
        self._now, self._opener = now, opener
        self._cond = threading.Condition()
        self._pending: SinkFrame | None = None
        self._stopping = False
        self._busy = False  # the encoder thread is encoding a frame it took from the slot
        self._thread: threading.Thread | None = None
        self._file: WholeWrites | None = None
        self._container: Any = None
        self._stream: Any = None
        self._size = (0, 0)
        self._fps = 30.0
        self._path: Path | None = None
        self._used = False
        self._error: str | None = None
        self._error_reported = False
        self._header_bytes = 0  # file size once the header is written: no frame yet
        self._good_bytes = 0  # file size after the last successful write: a fragment boundary
        self._written = 0
        self._dropped = 0
        self._first_at: float | None = None
        self._last_pts = -1

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def error(self) -> str | None:
        """Why the recording failed (also after SinkError was raised, or swallowed by a caller); None if not."""
        with self._cond:
            return self._error

    @property
    def recording(self) -> bool:
        return self._thread is not None

    @property
    def stats(self) -> RecorderStats:
        with self._cond:
            written, dropped, last_pts = self._written, self._dropped, self._last_pts
        duration = 0.0 if written == 0 else (last_pts + self._frame_ms()) / 1000
        return RecorderStats(written, dropped, duration, self._path)

    def _frame_ms(self) -> int:
        return max(1, round(1000 / self._fps))

    def open(self, size: tuple[int, int], fps: float) -> None:
        if self._used:
            raise SinkError("this recorder has already recorded; start a new one")
        width, height = even_size(size)
        if width < MIN_SIDE or height < MIN_SIDE:
            raise SinkError(f"a {size[0]}x{size[1]} picture is too small to record "
                            f"(needs at least {MIN_SIDE}x{MIN_SIDE})")
        self._size, self._fps, self._used = (width, height), fps if fps > 0 else 30.0, True
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path, handle = create_new_file(self.folder, recording_stem(self._now()), self._opener)
        except OSError as exc:
            raise SinkError(f"cannot write to {self.folder}: {_reason(exc)}") from exc
        self._path, self._file = path, WholeWrites(handle)
        try:
            self._container = av.open(self._file, "w", format="mp4", options=dict(MUXER_OPTIONS))
            stream = self._container.add_stream(CODEC, rate=Fraction(round(self._fps * 1000), 1000))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.time_base = TIME_BASE
            stream.codec_context.time_base = TIME_BASE
            stream.codec_context.gop_size = max(1, round(self._fps))
            stream.codec_context.bit_rate = max(200_000, int(width * height * self._fps * BITS_PER_PIXEL))
            self._stream = stream
            self._container.start_encoding()
            self._good_bytes = self._header_bytes = self._file.tell()
        except Exception as exc:
            self._discard()
            raise SinkError(f"the video file could not be started: {_reason(exc)}") from exc
        self._thread = threading.Thread(target=self._run, name="locallens-recorder", daemon=True)
        self._thread.start()

    def send(self, frame: SinkFrame) -> None:
        """Swap `frame` in as the one to encode next; raises SinkError once the recording has failed."""
        with self._cond:
            self._raise_error()
            if self._thread is None:
                return
            if self._pending is not None:
                self._dropped += 1
            self._pending = frame
            self._cond.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the frame in the slot (if any) has been encoded; False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: (self._pending is None and not self._busy) or self._error is not None, timeout)

    def close(self) -> None:
        """Encode the last frame, flush, finalise and close the file (idempotent). A file with no frame is
        removed; a failed recording keeps what it wrote and raises SinkError (once)."""
        thread = self._thread
        if thread is not None:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            thread.join()
            self._thread = None
            self._finish()
        with self._cond:
            self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None and not self._error_reported:
            self._error_reported = True
            raise SinkError(self._error)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                frame, self._pending = self._pending, None
                self._busy = frame is not None
            if frame is None:
                return
            try:
                self._encode(frame)
            except Exception as exc:  # a write error (full disk) or an encoder failure
                self._fail(exc)
                return
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _encode(self, frame: SinkFrame) -> None:
        at = frame.captured_at
        if self._first_at is None:
            self._first_at = at
        pts = max(self._last_pts + 1, round((at - self._first_at) * 1000))
        video = av.VideoFrame.from_ndarray(fit_frame(frame.rgb, self._size), format="rgb24")
        video.pts, video.time_base = pts, TIME_BASE
        self._mux(self._stream.encode(video))
        with self._cond:
            self._written += 1
            self._last_pts = pts

    def _mux(self, packets: list[Any]) -> None:
        for packet in packets:
            packet.duration = self._frame_ms()  # the last frame's length; the others follow from the next pts
            self._container.mux(packet)
        assert self._file is not None
        self._good_bytes = self._file.tell()

    def _fail(self, exc: BaseException) -> None:
        with self._cond:
            if self._error is None:
                self._error = (f"{_reason(exc)}; the video up to then is kept in {self._path}"
                               if self._good_bytes > self._header_bytes else
                               f"{_reason(exc)}; nothing was saved")
            self._cond.notify_all()

    def _finish(self) -> None:
        """Flush the encoder and write the last fragment; on failure, cut the file back to the last complete
        fragment so it plays to its end. A recording with no frame leaves no file."""
        if self._error is None:
            try:
                self._mux(self._stream.encode(None))
                self._container.close()
                self._container = None
                assert self._file is not None
                self._good_bytes = self._file.tell()
                os.fsync(self._file.fileno())
            except Exception as exc:
                self._fail(exc)
        if self._written == 0 or self._good_bytes <= self._header_bytes:
            self._discard()
            return
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()  # its trailer may fail again on a full disk; the cut below fixes it
        handle, self._file, self._container = self._file, None, None
        if handle is not None:
            with contextlib.suppress(OSError):
                if self._error is not None:
                    handle.truncate(self._good_bytes)
            with contextlib.suppress(OSError):
                handle.close()

    def _discard(self) -> None:
        """Close and remove the file this recorder created (it has no frame)."""
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
        handle, self._file, self._container = self._file, None, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink()
            self._path = None
