"""Files, folders and videos in; processed files out. Used by the CLI and the GUI alike.

Each input is processed on its own: a failure is recorded with a one-line reason and the batch goes on.
Outputs go to a separate folder (sub-folders mirrored), never overwrite anything, and appear complete or
not at all; cancelling stops between images or mid-video without leaving a partial file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2

from desktop_app.core.frames import Frame, Result
from desktop_app.core.imageio import (
    SUPPORTED_IMAGE_EXTENSIONS,
    ImageReadError,
    ImageWriteError,
    output_stem,
    read_image,
    write_image,
)
from desktop_app.core.params import EffectParams
from desktop_app.core.safe_write import FileError, InputError
from desktop_app.core.videoio import (
    SUPPORTED_VIDEO_EXTENSIONS,
    VideoReader,
    VideoReadError,
    VideoWriteError,
    VideoWriter,
    has_audio,
    is_video,
)

GREEN_SCREEN = (0, 177, 64)


class Processor(Protocol):
    """What batch needs from a pipeline (a Protocol so tests can pass a fake)."""

    def process(self, frame: Frame) -> Result: ...

    def set_params(self, params: EffectParams) -> None: ...

    def reset(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Job:
    source: Path
    out_dir: Path  # where this input's output goes (sub-folders of a dropped folder are mirrored)


@dataclass(slots=True)
class Outcome:
    source: Path
    output: Path | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    cancelled: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def succeeded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]


Progress = Callable[[int, int, Path], None]  # (finished items, total items, current input)


def _wanted(path: Path) -> bool:
    suffix = path.suffix.lower()
    return not path.name.startswith(".") and (
        suffix in SUPPORTED_IMAGE_EXTENSIONS or suffix in SUPPORTED_VIDEO_EXTENSIONS
    )


def plan(paths: Iterable[Path], out_dir: Path) -> tuple[list[Job], list[Outcome]]:
    """Expand folders recursively; return the jobs and the inputs that failed before processing.

    A file named explicitly is always tried (its content decides what it is); inside folders only image
    and video extensions are taken, and the output folder itself is never read back in.
    """
    out_resolved = out_dir.resolve()
    jobs: list[Job] = []
    failures: list[Outcome] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            failures.append(Outcome(path, error=f"{path}: file not found"))
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p)):
                resolved = child.resolve()
                if out_resolved in resolved.parents or resolved in seen:
                    continue
                seen.add(resolved)
                jobs.append(Job(child, out_dir / child.parent.relative_to(path)))
        elif path.resolve() not in seen:
            seen.add(path.resolve())
            jobs.append(Job(path, out_dir))
    return jobs, failures


class Batch:
    """Runs jobs through one `Processor`; `cancel` may be set from any thread."""

    def __init__(self, processor: Processor, params: EffectParams, fmt: str = "png",
                 progress: Progress | None = None, cancel: threading.Event | None = None) -> None:
        self.processor, self.params, self.fmt = processor, params, fmt
        self.progress = progress or (lambda _done, _total, _path: None)
        self.cancel = cancel or threading.Event()

    def run(self, jobs: list[Job], report: Report | None = None) -> Report:
        report = report or Report()
        for done, job in enumerate(jobs):
            if self.cancel.is_set():
                report.cancelled = True
                break
            self.progress(done, len(jobs), job.source)
            started = time.perf_counter()
            outcome = self._video(job) if is_video(job.source) else self._image(job)
            outcome.seconds = time.perf_counter() - started
            if outcome.error == _CANCELLED:
                report.cancelled = True
                break
            report.outcomes.append(outcome)
        else:
            self.progress(len(jobs), len(jobs), jobs[-1].source if jobs else Path())
        return report

    def _image(self, job: Job) -> Outcome:
        try:
            image = read_image(job.source)
            self.processor.set_params(self.params)
            self.processor.reset()  # a still photo: no temporal smoothing from the previous one
            result = self.processor.process(Frame(image.rgb, time.perf_counter(), 0, str(job.source)))
            output = write_image(result.pixels, job.out_dir, output_stem(job.source, self.params.effect),
                                 self.fmt, inputs=[job.source])
            return Outcome(job.source, output, frames=1)
        except (ImageReadError, ImageWriteError, OSError) as exc:
            return Outcome(job.source, error=describe_error(job.source, exc))

    def _video(self, job: Job) -> Outcome:
        params, notes = self.params, []
        if params.effect == "remove" and params.color is None:
            params = params.with_(color=GREEN_SCREEN)
            notes.append("MP4 has no transparency: the background was replaced by green screen")
        audio = has_audio(job.source)
        if audio is not False:
            notes.append("the audio track was not kept" if audio else "audio, if any, was not kept")
        self.processor.set_params(params)
        self.processor.reset()  # temporal smoothing starts fresh for each video
        frames, writer = 0, None
        try:
            with VideoReader(job.source) as reader:
                for rgb in reader:
                    if self.cancel.is_set():
                        if writer is not None:
                            writer.abort()
                        return Outcome(job.source, error=_CANCELLED)
                    pixels = self.processor.process(Frame(rgb, time.perf_counter(), frames, str(job.source))).pixels
                    if pixels.ndim == 2:  # the mask effect: a gray video
                        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
                    if writer is None:
                        writer = VideoWriter(job.out_dir, output_stem(job.source, params.effect), reader.fps,
                                             (pixels.shape[1], pixels.shape[0]), inputs=[job.source])
                    writer.write(pixels)
                    frames += 1
            if writer is None:
                return Outcome(job.source, error=f"{job.source.name}: the video has no frames")
            return Outcome(job.source, writer.close(), notes=notes, frames=frames)
        except (VideoReadError, VideoWriteError, OSError) as exc:
            if writer is not None:
                writer.abort()
            return Outcome(job.source, error=describe_error(job.source, exc), frames=frames)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise


_CANCELLED = "\0cancelled"


def describe_error(source: Path, exc: BaseException) -> str:
    """One line naming the input by its full path (names repeat across sub-folders) and the reason."""
    if isinstance(exc, InputError):
        return f"{source}: {exc.reason}"
    if isinstance(exc, FileError):
        return f"{source}: {exc.reason} (output: {exc.path})"
    return f"{source}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
