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
import json
import os
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from desktop_app.core.batch_overlap import SKIP, Inline, ReadAhead, WriteBehind
from desktop_app.core.frames import Frame, Result
from desktop_app.core.imageio import (
    SUPPORTED_IMAGE_EXTENSIONS,
    ImageReadError,
    ImageWriteError,
    fit_format,
    read_image,
    write_image,
)
from desktop_app.core.notify import log
from desktop_app.core.params import EffectParams
from desktop_app.core.safe_write import FileError, InputError, fit_stem, is_temp_name, remove_stale_temps
from desktop_app.core.sinks import GREEN_SCREEN as GREEN_SCREEN  # re-exported: the controls import it from here
from desktop_app.core.videoio import SUPPORTED_VIDEO_EXTENSIONS, is_video
from desktop_app.core.videoio import VideoReader as VideoReader  # re-exported: tests wrap its frames

# mp4: H.264 + the source's sound (a cut-out on green screen); webm: VP9 keeping a cut-out's transparency, sound as
# Opus; png: a lossless PNG sequence, `<stem>_<effect>/000001.png ...` (core.sequence), no sound.
VIDEO_FORMATS = ("mp4", "webm", "png")
DEFAULT_OUTPUT_DIR = "locallens-output"  # the CLI's default --out; never scanned as input
# In each folder that receives outputs: the names LocalLens wrote there, one JSON string per line; scans skip them.
OUTPUT_MARKER = ".locallens-output"
_MARKER_HEADER = "# Files LocalLens wrote into this folder (skipped when the folder is scanned as input).\n"


class Processor(Protocol):
    """What batch needs from a pipeline (a Protocol so tests can pass a fake)."""

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        """`still=True` for a photo (the quality setting applies), else a video frame (see `Pipeline`)."""

    def set_params(self, params: EffectParams) -> None: ...

    def reset(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Job:
    source: Path
    out_dir: Path  # where this input's output goes (sub-folders of a dropped folder are mirrored)
    name: str = ""  # output base name: the source's stem, or `stem_ext` when stems collide in one folder

    @property
    def base(self) -> str:
        return self.name or self.source.stem


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
FrameProgress = Callable[[int, "int | None", Path], None]  # (frames done, the video's frame count if known, video)


def printable(text: str) -> str:
    """`text` with control characters escaped (`\\n`, `\\x1b`, ...): a file name never splits a line."""
    return "".join(
        c.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") else c
        for c in text
    )


def _wanted(path: Path) -> bool:
    suffix = path.suffix.lower()
    return not path.name.startswith(".") and not is_temp_name(path.name) and (
        suffix in SUPPORTED_IMAGE_EXTENSIONS or suffix in SUPPORTED_VIDEO_EXTENSIONS
    )


def recorded_outputs(folder: Path) -> set[str]:
    """Names of the outputs LocalLens recorded in `folder` (an unreadable or foreign record counts as none)."""
    try:
        lines = (folder / OUTPUT_MARKER).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    names: set[str] = set()
    for line in lines:
        with contextlib.suppress(ValueError):
            name = json.loads(line) if line.startswith('"') else None
            if isinstance(name, str):
                names.add(name)
    return names


def scan_folder(folder: Path) -> list[Path]:
    """Image and video files under `folder` (symlinked folders not followed), leaving out what LocalLens wrote:
    recorded outputs, unfinished temp files and the CLI's default output folder."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        ours = recorded_outputs(here) if OUTPUT_MARKER in files else set()
        # PNG sequences are folders: recorded ones and unfinished temp ones are not descended into
        dirs[:] = [d for d in dirs if d != DEFAULT_OUTPUT_DIR and d not in ours and not is_temp_name(d)]
        found += [here / f for f in files if f not in ours and _wanted(here / f) and (here / f).is_file()]
    return sorted(found)


def _name_collisions(jobs: list[Job]) -> list[Job]:
    """Inputs with one stem and different extensions going to one folder get `stem_ext` as their base name."""
    suffixes: dict[tuple[Path, str], set[str]] = {}
    for job in jobs:
        suffixes.setdefault((job.out_dir, job.source.stem.casefold()), set()).add(job.source.suffix.lower())
    return [
        replace(job, name=f"{job.source.stem}_{job.source.suffix.lstrip('.').lower()}")
        if len(suffixes[(job.out_dir, job.source.stem.casefold())]) > 1 else job
        for job in jobs
    ]


def plan(paths: Iterable[Path], out_dir: Path) -> tuple[list[Job], list[Outcome]]:
    """Expand folders recursively; return the jobs and the inputs that failed before processing.

    A file named explicitly is always tried (its content decides what it is); inside folders only image
    and video extensions are taken, and neither the output folder nor any earlier LocalLens output folder
    (marked, or named like the default) is read back in. Same stems with different extensions in one
    output folder get told-apart names (`a.jpg` -> `a_jpg_blur.png`, `a.png` -> `a_png_blur.png`).
    """
    out_resolved = out_dir.resolve()
    jobs: list[Job] = []
    failures: list[Outcome] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            failures.append(Outcome(path, error=printable(f"{path}: file not found")))
        elif path.is_dir():
            for child in scan_folder(path):
                resolved = child.resolve()
                if out_resolved in resolved.parents or resolved in seen:
                    continue
                seen.add(resolved)
                jobs.append(Job(child, out_dir / child.parent.relative_to(path)))
        elif path.resolve() not in seen:
            seen.add(path.resolve())
            jobs.append(Job(path, out_dir))
    return _name_collisions(jobs), failures


def record_output(path: Path) -> None:
    """Add `path`'s name to its folder's list of LocalLens outputs (hidden on Windows too); never raises."""
    marker = path.parent / OUTPUT_MARKER
    new = not marker.exists()
    try:
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write((_MARKER_HEADER if new else "") + json.dumps(path.name) + "\n")
    except OSError:
        return  # a folder we may write outputs into but not this list: scans still skip the default name
    if new and os.name == "nt":
        try:
            import ctypes

            ctypes.windll.kernel32.SetFileAttributesW(str(marker), 0x2)  # type: ignore[attr-defined]
        except (OSError, AttributeError):
            pass


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
                 write_behind: int = WRITE_BEHIND, frame_progress: FrameProgress | None = None) -> None:
        """`fmt`: images' output format; `video_format`: "mp4", "webm" (VP9, keeps a cut-out's alpha), or "png" for
        a folder of PNG frames per video; `frame_progress` is called after each video frame."""
        if video_format not in VIDEO_FORMATS:
            raise ValueError(f"unknown video format {video_format!r}; choose one of {', '.join(VIDEO_FORMATS)}")
        self.processor, self.params, self.fmt, self.video_format = processor, params, fmt, video_format
        self.progress = progress or (lambda _done, _total, _path: None)
        self.frame_progress: FrameProgress = frame_progress or (lambda _done, _total, _path: None)
        self.cancel = cancel or threading.Event()
        self.overlap = overlap
        self.read_ahead, self.write_behind = read_ahead, write_behind
        self._read: Callable[[Job], Any] = _read_now  # the photo's decoded pixels: read-ahead's, or read now

    def run(self, jobs: list[Job], report: Report | None = None) -> Report:
        """Process `jobs` in order; outcomes, progress and output records keep that order.

        With `overlap` (the default) the next photos are decoded ahead on one thread (at most `read_ahead`)
        and finished photos are encoded and published behind on another (at most `write_behind` waiting),
        while the current one is segmented here: on two cores the stages run side by side. A cancel stops
        before the next input; photos already segmented are still saved (as they were without overlap).
        """
        report = report or Report()
        for folder in dict.fromkeys(job.out_dir for job in jobs):
            remove_stale_temps(folder)  # a killed run's leftovers (ours by name, old by mtime), never a live writer's
        finished = False
        if self.overlap:
            reads: Any = ReadAhead(jobs, self._load_ahead, self.read_ahead, budget=AHEAD_BYTES, weight=_image_bytes)
            writes: Any = WriteBehind[Outcome](self.write_behind, budget=BEHIND_BYTES)
        else:  # one stage after another on this thread
            reads = writes = Inline(jobs, self._load_ahead)
        with reads, writes:
            try:
                for done, job in enumerate(jobs):
                    self._collect(writes.done(), report)
                    if self.cancel.is_set():
                        report.cancelled = True
                        break
                    self.progress(done, len(jobs), job.source)
                    started = time.perf_counter()
                    self._read = _taken(reads, done)
                    staged = self._one(job)
                    spent = time.perf_counter() - started
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
                self._read = _read_now
                # Photos segmented before a cancel (or an interrupt) are still saved, and recorded.
                self._collect(writes.drain(), report)
        if finished:
            self.progress(len(jobs), len(jobs), jobs[-1].source if jobs else Path())
        return report

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

    def _one(self, job: Job) -> Outcome | Staged:
        """One input up to its output; any unexpected exception (a bug, cv2.error, MemoryError) fails this
        input only. A photo comes back `Staged` (its encoding and publishing, for `_finish`)."""
        try:
            return self._video(job) if is_video(job.source) else self._image(job)
        except Exception as exc:
            log.error("unexpected error while processing %s", job.source, exc_info=exc)
            return Outcome(job.source, error=printable(f"{job.source}: {unexpected_reason(exc)}"))

    def _image(self, job: Job) -> Outcome | Staged:
        try:
            image = self._read(job)
            self.processor.set_params(self.params)
            self.processor.reset()  # a still photo: no temporal smoothing from the previous one
            result = self.processor.process(Frame(image.rgb, time.perf_counter(), 0, str(job.source)), still=True)
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
