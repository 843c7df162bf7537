"""Files, folders and videos in; processed files out. Used by the CLI and the GUI alike.

Each input is processed on its own: a failure is recorded with a one-line reason and the batch goes on.
Outputs go to a separate folder (sub-folders mirrored), never overwrite anything, and appear complete or
not at all; cancelling stops between images or mid-video without leaving a partial file. An unexpected
exception in any stage fails that input only (traceback in the log). Each folder that receives outputs keeps a
list of them (`OUTPUT_MARKER`), so scanning a parent folder later never processes those outputs again, while the
user's own files in the same folder are still found.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from desktop_app.core.batch_overlap import SKIP, Inline, ReadAhead, WriteBehind
from desktop_app.core.batch_plan import DEFAULT_OUTPUT_DIR as DEFAULT_OUTPUT_DIR  # re-exported: the planning half
from desktop_app.core.batch_plan import OUTPUT_MARKER as OUTPUT_MARKER
from desktop_app.core.batch_plan import Job as Job
from desktop_app.core.batch_plan import Outcome as Outcome
from desktop_app.core.batch_plan import Report as Report
from desktop_app.core.batch_plan import plan as plan
from desktop_app.core.batch_plan import printable as printable
from desktop_app.core.batch_plan import record_output as record_output
from desktop_app.core.batch_plan import recorded_outputs as recorded_outputs
from desktop_app.core.batch_plan import scan_folder as scan_folder
from desktop_app.core.batch_workers import Workers
from desktop_app.core.frames import Frame, Result
from desktop_app.core.imageio import ImageReadError, ImageWriteError, fit_format, read_image, write_image
from desktop_app.core.notify import log
from desktop_app.core.params import EffectParams
from desktop_app.core.safe_write import FileError, InputError, fit_stem, remove_stale_temps
from desktop_app.core.sinks import GREEN_SCREEN as GREEN_SCREEN  # re-exported: the controls import it from here
from desktop_app.core.videoio import VideoReader as VideoReader  # re-exported: tests wrap its frames
from desktop_app.core.videoio import is_video

# mp4: H.264 + the source's sound (a cut-out on green screen); webm: VP9 keeping a cut-out's transparency, sound as
# Opus; png: a lossless PNG sequence, `<stem>_<effect>/000001.png ...` (core.sequence), no sound.
VIDEO_FORMATS = ("mp4", "webm", "png")


Progress = Callable[[int, int, Path], None]  # (finished items, total items, current input)
FrameProgress = Callable[[int, "int | None", Path], None]  # (frames done, the video's frame count if known, video)


class Processor(Protocol):
    """What batch needs from a pipeline (a Protocol so tests can pass a fake)."""

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        """`still=True` for a photo (the quality setting applies), else a video frame (see `Pipeline`)."""

    def set_params(self, params: EffectParams) -> None: ...

    def reset(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Staged:
    """A segmented photo: its encoding and publishing (`save`, run by `Batch._finish`) and its pixels' size."""

    save: Callable[[], Outcome]
    nbytes: int


# Photos decoded ahead of the one being segmented (READ_AHEAD), and segmented ones waiting behind the one
# being encoded (WRITE_BEHIND). Past the first, neither side holds more than its byte budget, so with huge
# photos the batch keeps about one input and one output beyond what a serial loop holds.
READ_AHEAD = 2
WRITE_BEHIND = 1
AHEAD_BYTES = BEHIND_BYTES = 128 * 2**20  # ~3.5 decoded 12 MP photos


def _read_now(job: Job) -> Any:
    return read_image(job.source)


def _image_bytes(image: Any) -> int:
    alpha = getattr(image, "alpha", None)
    return int(image.rgb.nbytes) + (int(alpha.nbytes) if alpha is not None else 0)


# Photos over this many pixels are segmented one at a time even with several workers (each still decoded
# ahead): at 50 MP two at once gained nothing (8.54 vs 8.57 s for two photos) and held 0.5 GB more; at 12 MP
# two gain 1.3x (docs/benchmarks.md, "Session 18").
HEAVY_PIXELS = 24_000_000


def _is_video(job: Job) -> bool:
    return is_video(job.source)


def _weight(value: tuple[Outcome | Staged, float]) -> int:
    return value[0].nbytes if isinstance(value[0], Staged) else 0


def _reraise(exc: BaseException, _job: Job) -> Any:
    raise exc


def _taken(reads: ReadAhead[Job, Any] | Inline[Job, Any], index: int) -> Callable[[Job], Any]:
    """Input `index`'s read-ahead result as a reader for `_image`: its pixels, or what decoding it raised
    (raised inside `_image`, so it fails that input like a read on this thread would)."""
    try:
        value = reads.take(index)
    except Exception as exc:
        return functools.partial(_reraise, exc)
    return _read_now if value is SKIP else (lambda _job: value)


class Batch:
    """Runs jobs through one `Processor`; `cancel` may be set from any thread."""

    def __init__(self, processor: Processor, params: EffectParams, fmt: str = "png",
                 progress: Progress | None = None, cancel: threading.Event | None = None, *,
                 video_format: str = "mp4", overlap: bool = True, read_ahead: int = READ_AHEAD,
                 write_behind: int = WRITE_BEHIND, frame_progress: FrameProgress | None = None,
                 workers: int = 1, spare: Callable[[], Processor] | None = None) -> None:
        """`fmt`: images' output format; `video_format`: "mp4", "webm" (VP9, keeps a cut-out's alpha), or "png" for
        a folder of PNG frames per video; `frame_progress` is called after each video frame. `workers` > 1 (with
        `overlap` and `spare`): photos on that many threads, `processor` and processors from `spare()`."""
        if video_format not in VIDEO_FORMATS:
            raise ValueError(f"unknown video format {video_format!r}; choose one of {', '.join(VIDEO_FORMATS)}")
        self.processor, self.params, self.fmt, self.video_format = processor, params, fmt, video_format
        self.progress = progress or (lambda _done, _total, _path: None)
        self.frame_progress: FrameProgress = frame_progress or (lambda _done, _total, _path: None)
        self.cancel = cancel or threading.Event()
        self.overlap = overlap
        self.read_ahead, self.write_behind = read_ahead, write_behind
        self.workers, self.spare = workers, spare
        self._heavy = threading.Lock()  # held while a photo over HEAVY_PIXELS is segmented

    def run(self, jobs: list[Job], report: Report | None = None) -> Report:
        """Process `jobs` in order; outcomes, progress and output records keep that order.

        With `overlap` (the default) the next photos are decoded ahead on one thread (at most `read_ahead`)
        and finished photos are encoded and published behind on another (at most `write_behind` waiting),
        while the current one is segmented here: on two cores the stages run side by side. With `workers` > 1
        photos are read and segmented on that many threads instead (`batch_workers`), videos here. A cancel
        stops before the next input; photos up to the current one are still saved (as without overlap), and
        ones workers segmented past it are dropped, so the outputs are always the first inputs in order.
        """
        report = report or Report()
        for folder in dict.fromkeys(job.out_dir for job in jobs):
            remove_stale_temps(folder)  # a killed run's leftovers (ours by name, old by mtime), never a live writer's
        finished = False
        processors = self._processors(jobs)
        if len(processors) > 1:  # photos on several threads (batch_workers), videos here
            loads = [functools.partial(self._segment, processor) for processor in processors]
            reads: Any = Workers(jobs, loads, 2 * len(loads), barrier=_is_video, budget=BEHIND_BYTES, weight=_weight)
        elif self.overlap:
            reads = ReadAhead(jobs, self._load_ahead, self.read_ahead, budget=AHEAD_BYTES, weight=_image_bytes)
        else:  # one stage after another on this thread
            reads = Inline(jobs, self._load_ahead)
        writes: Any = WriteBehind[Outcome](self.write_behind, budget=BEHIND_BYTES) if self.overlap else reads
        with reads, writes:
            try:
                for done, job in enumerate(jobs):
                    self._collect(writes.done(), report)
                    if self.cancel.is_set():
                        report.cancelled = True
                        break
                    self.progress(done, len(jobs), job.source)
                    staged, spent = self._step(reads, done, job, len(processors) > 1)
                    if isinstance(staged, Outcome):
                        if staged.error == _CANCELLED:
                            report.cancelled = True
                            break
                        staged.seconds = spent
                        writes.submit(lambda outcome=staged: outcome)  # behind the pending writes: order is kept
                    else:
                        writes.submit(functools.partial(self._finish, job, staged, spent), staged.nbytes)
                else:
                    finished = True
            finally:
                # Photos segmented before a cancel (or an interrupt) are still saved, and recorded.
                self._collect(writes.drain(), report)
        if finished:
            self.progress(len(jobs), len(jobs), jobs[-1].source if jobs else Path())
        return report

    def _processors(self, jobs: list[Job]) -> list[Processor]:
        """`processor`, and one more from `spare` per extra worker the photos can use (fewer if one fails)."""
        photos = sum(not _is_video(job) for job in jobs)
        processors = [self.processor]
        while self.overlap and self.spare is not None and len(processors) < min(self.workers, photos):
            try:
                processors.append(self.spare())
            except Exception as exc:  # e.g. no memory for another session: the batch runs on fewer workers
                log.warning("batch: %d worker(s), another could not be made: %s", len(processors), exc, exc_info=exc)
                break
        return processors

    def _step(self, reads: Any, index: int, job: Job, workers: bool) -> tuple[Outcome | Staged, float]:
        """Input `index` up to its output, and the seconds that took: a worker's result, or done here (a video,
        a photo without workers) with `processor`."""
        if workers:  # `reads` is a Workers: a photo's result, or SKIP for a video (a barrier)
            value = reads.take(index)
            if value is not SKIP:
                return value
            try:
                return self._timed(self.processor, _read_now, job)
            finally:
                reads.passed(index)
        return self._timed(self.processor, _taken(reads, index), job)

    def _timed(self, processor: Processor, read: Callable[[Job], Any], job: Job) -> tuple[Outcome | Staged, float]:
        started = time.perf_counter()
        staged = self._one(job, processor, read)
        return staged, time.perf_counter() - started

    def _segment(self, processor: Processor, job: Job) -> tuple[Outcome | Staged, float]:
        """A worker thread's work: one photo read, segmented and composed with its own `processor`."""
        if self.cancel.is_set():
            return Outcome(job.source, error=_CANCELLED), 0.0
        return self._timed(processor, _read_now, job)

    @staticmethod
    def _collect(outcomes: Iterable[Outcome], report: Report) -> None:
        for outcome in outcomes:
            if outcome.output is not None:
                record_output(outcome.output)
            report.outcomes.append(outcome)

    @staticmethod
    def _load_ahead(job: Job) -> object:
        """The read-ahead thread's work: decode a photo (videos are opened by `_video` itself)."""
        return SKIP if is_video(job.source) else read_image(job.source)

    def _finish(self, job: Job, staged: Staged, spent: float) -> Outcome:
        """Encode and publish one segmented photo (on the write-behind thread when overlapping)."""
        started = time.perf_counter()
        try:
            outcome = staged.save()
        except (ImageWriteError, OSError) as exc:
            outcome = Outcome(job.source, error=describe_error(job.source, exc))
        except Exception as exc:
            log.error("unexpected error while saving %s", job.source, exc_info=exc)
            outcome = Outcome(job.source, error=printable(f"{job.source}: {unexpected_reason(exc)}"))
        outcome.seconds = spent + time.perf_counter() - started
        return outcome

    def _one(self, job: Job, processor: Processor, read: Callable[[Job], Any]) -> Outcome | Staged:
        """One input up to its output; any unexpected exception (a bug, cv2.error, MemoryError) fails this
        input only. A photo comes back `Staged` (its encoding and publishing, for `_finish`)."""
        try:
            return self._video(job) if is_video(job.source) else self._image(job, processor, read)
        except Exception as exc:
            log.error("unexpected error while processing %s", job.source, exc_info=exc)
            return Outcome(job.source, error=printable(f"{job.source}: {unexpected_reason(exc)}"))

    def _image(self, job: Job, processor: Processor, read: Callable[[Job], Any]) -> Outcome | Staged:
        try:
            image = read(job)
            processor.set_params(self.params)
            processor.reset()  # a still photo: no temporal smoothing from the previous one
            heavy = self._heavy if image.rgb.shape[0] * image.rgb.shape[1] > HEAVY_PIXELS else contextlib.nullcontext()
            with heavy:
                result = processor.process(Frame(image.rgb, time.perf_counter(), 0, str(job.source)), still=True)
            height, width = result.pixels.shape[:2]
            fmt, note = fit_format(self.fmt, width, height)
            stem = fit_stem(job.base, fmt, f"_{self.params.effect}")

            def save() -> Outcome:
                output = write_image(result.pixels, job.out_dir, stem, fmt, inputs=[job.source])
                return Outcome(job.source, output, frames=1, notes=[note] if note else [])

            return Staged(save, result.pixels.nbytes)
        except (ImageReadError, ImageWriteError, OSError) as exc:
            return Outcome(job.source, error=describe_error(job.source, exc))

    def _video(self, job: Job) -> Outcome:
        """The video as H.264/MP4 or VP9/WebM with its sound, or a PNG sequence (`core.batch_video`)."""
        from desktop_app.core.batch_video import process_video  # it builds on this module

        return process_video(self, job)


_CANCELLED = "\0cancelled"


def describe_error(source: Path, exc: BaseException) -> str:
    """One line naming the input by its full path (names repeat across sub-folders) and the reason."""
    if isinstance(exc, InputError):
        return printable(f"{source}: {exc.reason}")
    if isinstance(exc, FileError):
        return printable(f"{source}: {exc.reason} (output: {exc.path})")
    return printable(f"{source}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")


def unexpected_reason(exc: BaseException) -> str:
    """A one-line reason for an exception nobody expected (the traceback goes to the log)."""
    if isinstance(exc, MemoryError):
        return "not enough memory to process this file"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"unexpected error ({type(exc).__name__}{': ' + text if text else ''}); details are in the log"
