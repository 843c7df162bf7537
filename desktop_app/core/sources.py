"""Frame sources: real cameras, a video file or still image played as a camera, and synthetic frames.

Every source gives (H, W, 3) uint8 RGB `Frame`s from `read()`, which blocks until the next frame is due
(a file source is paced at its frame rate unless `paced=False`) and raises `SourceError` with a message a
user can act on when the source is missing, busy or gone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np

from desktop_app.core.buffers import BufferPool
from desktop_app.core.frames import Frame

if TYPE_CHECKING:
    from desktop_app.core.video_read import VideoReader

RESOLUTIONS: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))
# Frames a live source's pool keeps for reuse: in the slot, being processed, held by the result in flight to the
# GUI, the result the sinks repeat, and a spare; more in flight at once are fresh arrays (never an overwrite).
FRAME_POOL_KEEP = 6


class SourceError(RuntimeError):
    """A source could not be opened or stopped delivering frames; the message is for the user."""


class FrameSource(Protocol):
    name: str
    fps: float

    def open(self) -> None: ...

    def read(self) -> Frame: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CameraInfo:
    index: int
    name: str


def list_cameras() -> list[CameraInfo]:
    """Cameras by name, without opening them (opening lights the LED and can take seconds)."""
    try:
        if sys.platform.startswith("linux"):
            return _linux_cameras(Path("/sys/class/video4linux"))
        if sys.platform == "win32":
            return _windows_cameras()
        if sys.platform == "darwin":
            return _mac_cameras()
    except Exception:  # enumeration is best effort: a failure means "no names", never a crash
        return []
    return []


def _linux_cameras(root: Path) -> list[CameraInfo]:
    cameras = []
    for node in sorted(root.glob("video*"), key=lambda p: int(p.name[5:] or 0)):
        index_file = node / "index"
        if index_file.exists() and index_file.read_text().strip() != "0":
            continue  # a metadata node of a camera already listed
        name = (node / "name").read_text().strip() if (node / "name").exists() else node.name
        cameras.append(CameraInfo(int(node.name[5:]), name))
    return cameras


def _windows_cameras() -> list[CameraInfo]:
    try:
        from pygrabber.dshow_graph import FilterGraph  # DirectShow names, in DSHOW index order
    except ImportError:
        return []
    return [CameraInfo(i, n) for i, n in enumerate(FilterGraph().get_input_devices())]


def _mac_cameras() -> list[CameraInfo]:
    out = subprocess.run(
        ["system_profiler", "SPCameraDataType", "-json"], capture_output=True, text=True, timeout=5
    ).stdout
    items = json.loads(out or "{}").get("SPCameraDataType", [])
    return [CameraInfo(i, item.get("_name", f"Camera {i}")) for i, item in enumerate(items)]


def camera_backend() -> int:
    """The platform's native capture API: OpenCV's default probing is slow and picks poorly."""
    if sys.platform == "win32":
        return cv2.CAP_DSHOW  # same device order as the DirectShow names above
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_V4L2


class Camera:
    """A webcam via OpenCV with the platform backend."""

    def __init__(self, index: int, name: str = "", resolution: tuple[int, int] = (1280, 720)) -> None:
        self.index, self.name, self.resolution = index, name or f"Camera {index}", resolution
        self.fps = 30.0
        self._cap: cv2.VideoCapture | None = None
        self._count = 0
        # The driver's BGR picture (scratch: only read here) and the RGB frames handed out (pooled: reused only
        # once nothing references them), so a call does not allocate two frame-sized arrays per frame.
        self._bgr: np.ndarray | None = None
        self._pool = BufferPool(FRAME_POOL_KEEP)

    def open(self) -> None:
        cap = cv2.VideoCapture(self.index, camera_backend())
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.name} could not be opened: it may be unplugged or used by another app.")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.resolution[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.resolution[1])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue of stale ones
        ok, _ = cap.read()
        if not ok:
            cap.release()
            raise SourceError(f"{self.name} opened but sends no picture: it may be busy in another app.")
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        self._cap = cap

    def read(self) -> Frame:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open.")
        ok, bgr = self._cap.read(self._bgr)
        if not ok or bgr is None:
            raise SourceError(f"{self.name} stopped sending frames: was it unplugged?")
        self._bgr = bgr
        self._count += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=self._pool.take(bgr.shape))
        return Frame(rgb, time.perf_counter(), self._count, self.name)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class _PacedSource:
    """Shared pacing: `read()` returns frame n no earlier than start + n / fps."""

    name: str
    fps: float

    def __init__(self, paced: bool) -> None:
        self.paced = paced
        self._start = 0.0
        self._count = 0

    def _wait_turn(self) -> None:
        if not self.paced:
            return
        if self._count == 0:
            self._start = time.perf_counter()
        due = self._start + self._count / self.fps
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:  # fell far behind (machine suspended, debugger): restart the clock
            self._start, self._count = time.perf_counter(), 0

    def _frame(self, rgb: np.ndarray) -> Frame:
        self._count += 1
        return Frame(rgb, time.perf_counter(), self._count, self.name)


class VideoFileSource(_PacedSource):
    """A video file played as a camera: looping, paced at its own frame rate (the fake camera). Read with PyAV
    (core.video_read) like every other video file, upright, so OpenCV's own FFmpeg is never needed."""

    def __init__(
        self, path: Path, loop: bool = True, paced: bool = True, size: tuple[int, int] | None = None
    ) -> None:
        super().__init__(paced)
        self.path, self.loop, self.size = Path(path), loop, size
        self.name = self.path.name
        self.fps = 30.0
        self._reader: VideoReader | None = None
        self._frames: Iterator[np.ndarray] | None = None
        # Frames handed out come from a pool (reused only once nothing references them): the decoder's own
        # array is copied at once and dropped, so no decoded frame lives long on the heap (docs/benchmarks.md).
        self._pool = BufferPool(FRAME_POOL_KEEP)

    def _open_reader(self) -> None:
        from desktop_app.core.video_read import VideoReader, VideoReadError

        try:
            reader = VideoReader(self.path)
        except (VideoReadError, OSError) as exc:
            raise SourceError(f"{self.path.name}: cannot be played (missing, corrupt or not a video).") from exc
        # Looping: seek back at the end rather than reopen (the decoder's buffers would churn RSS every loop)
        self._reader, self._frames = reader, reader.looping() if self.loop else iter(reader)
        self.fps = reader.fps if 1.0 <= reader.fps <= 240.0 else 30.0

    def _next(self) -> np.ndarray | None:
        from desktop_app.core.video_read import VideoReadError

        try:
            return next(self._frames) if self._frames is not None else None
        except (StopIteration, VideoReadError):
            return None

    def open(self) -> None:
        self.close()
        self._open_reader()

    def read(self) -> Frame:
        if self._reader is None:
            raise SourceError(f"{self.name} is not open.")
        self._wait_turn()
        rgb = self._next()
        if rgb is None and self.loop:
            self.close()
            self._open_reader()
            rgb = self._next()
        if rgb is None:
            raise SourceError(f"{self.name}: the video ended or could not be read.")
        if self.size and (rgb.shape[1], rgb.shape[0]) != self.size:
            out = self._pool.take((self.size[1], self.size[0], *rgb.shape[2:]))
            rgb = cv2.resize(rgb, self.size, dst=out, interpolation=cv2.INTER_AREA)
        else:
            out = self._pool.take(rgb.shape)
            np.copyto(out, rgb)
        del rgb  # the decoder's array: freed now, before the next frame is decoded
        return self._frame(out)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader, self._frames = None, None


class GeneratedSource(_PacedSource):
    """Frames from a function of the frame number: a still image, synthetic motion, or a scripted failure.

    `make(n)` returns RGB pixels or raises `SourceError` (e.g. to simulate a camera unplugged mid-stream).
    """

    def __init__(self, make: Callable[[int], np.ndarray], name: str = "generated", fps: float = 30.0,
                 paced: bool = True) -> None:
        super().__init__(paced)
        self.make, self.name, self.fps = make, name, fps

    def open(self) -> None:
        self._count = 0

    def read(self) -> Frame:
        self._wait_turn()
        return self._frame(self.make(self._count))

    def close(self) -> None:
        pass


def image_source(rgb: np.ndarray, name: str, fps: float = 30.0, paced: bool = True) -> GeneratedSource:
    """A still image repeated as a camera would send it."""
    frozen = np.ascontiguousarray(rgb)
    frozen.setflags(write=False)
    return GeneratedSource(lambda _n: frozen, name=name, fps=fps, paced=paced)


def open_fake_camera(path: Path, size: tuple[int, int] | None = None, paced: bool = True) -> FrameSource:
    """`--camera PATH`: a video (looping, paced) or a still image played as a camera."""
    from desktop_app.core.imageio import ImageReadError, read_image
    from desktop_app.core.videoio import is_video

    if is_video(path):
        return VideoFileSource(path, paced=paced, size=size)
    try:
        rgb = read_image(path).rgb
    except ImageReadError as exc:
        raise SourceError(str(exc)) from exc
    if size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return image_source(rgb, Path(path).name, paced=paced)


NO_CAMERA = "No camera was found. Plug one in (it is picked up automatically) or drop photos on the window."
CameraLister = Callable[[], list[CameraInfo]]
CameraOpener = Callable[[int, str, tuple[int, int]], FrameSource]  # (index, name, resolution) -> source


def camera_factory(name: str | None, resolution: tuple[int, int], lister: CameraLister = list_cameras,
                   opener: CameraOpener | None = None) -> Callable[[], FrameSource]:
    """A factory that finds the camera by name each time it is called (indices change on replug).

    `name=None` takes the first camera there is; no match raises `SourceError` (the live session retries).
    `opener(index, name, resolution)` makes the source (default: `Camera`).
    """
    def make() -> FrameSource:
        cameras = lister()
        match = [c for c in cameras if c.name == name] if name else cameras[:1]
        if not match:
            raise SourceError(f"{name} is not connected." if name else NO_CAMERA)
        return (opener or Camera)(match[0].index, match[0].name, resolution)

    return make
