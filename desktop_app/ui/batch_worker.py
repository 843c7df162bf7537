"""Runs `core.batch.plan` + `Batch` on a QThread so exports never block the window.

`BatchWorker` lives on the GUI thread and re-emits what the thread reports, so anything connected to its
signals (lambdas included) runs on the GUI thread. `cancel()` sets the batch's cancel event (the core
stops between images or mid-video and leaves no partial file); `stop()` cancels and joins the thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop_app.core.batch import Batch, Outcome, Processor, Report, plan
from desktop_app.core.params import EffectParams


class _BatchThread(QThread):
    """The thread itself: plans, runs, and reports each finished item as soon as it is known."""

    progress = Signal(int, int, str)
    frame_progress = Signal(int, int, str)  # frames done, the video's frame count (-1: unknown), the video
    item_done = Signal(object)
    done = Signal(object)

    def __init__(self, paths: Sequence[Path], out_dir: Path, processor: Processor, params: EffectParams,
                 fmt: str, cancel: threading.Event, parent: QObject | None = None, video_format: str = "mp4",
                 workers: int = 1, spare: Callable[[], Processor] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("locallens-batch")
        self._paths, self._out_dir, self._processor = list(paths), out_dir, processor
        self._workers, self._spare = workers, spare
        self._params, self._fmt, self._cancel, self._video_format = params, fmt, cancel, video_format
        self._report = Report()
        self._reported = 0

    def _flush(self) -> None:
        """Emit outcomes appended to the report since the last call."""
        outcomes = self._report.outcomes
        while self._reported < len(outcomes):
            self.item_done.emit(outcomes[self._reported])
            self._reported += 1

    def _on_progress(self, done: int, total: int, current: Path) -> None:
        self._flush()
        self.progress.emit(done, total, str(current))

    def _on_frame(self, done: int, total: int | None, current: Path) -> None:
        self.frame_progress.emit(done, -1 if total is None else total, str(current))

    def run(self) -> None:
        report = self._report
        try:
            jobs, failures = plan(self._paths, self._out_dir)
            report.outcomes.extend(failures)
            self._flush()
            Batch(self._processor, self._params, self._fmt, progress=self._on_progress, cancel=self._cancel,
                  frame_progress=self._on_frame, video_format=self._video_format, workers=self._workers,
                  spare=self._spare).run(jobs, report)
        except Exception as exc:  # an unexpected failure still ends the batch with a report
            report.outcomes.append(Outcome(self._out_dir, error=f"the export stopped: {exc}"))
        self._flush()
        report.cancelled = report.cancelled or self._cancel.is_set()
        self.done.emit(report)


class BatchWorker(QObject):
    """One export at a time: `start(...)`, then `progress`, `item_done(Outcome)`, `finished(Report)`."""

    progress = Signal(int, int, str)  # (finished items, total items, current input)
    frame_progress = Signal(int, int, str)  # (frames done, the video's frame count or -1, the video)
    item_done = Signal(object)  # core.batch.Outcome
    finished = Signal(object)  # core.batch.Report

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _BatchThread | None = None
        self._cancel = threading.Event()

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self, paths: Sequence[Path], out_dir: Path, processor: Processor, params: EffectParams,
              fmt: str = "png", video_format: str = "mp4", workers: int = 1,
              spare: Callable[[], Processor] | None = None) -> None:
        """Process `paths` (files, folders, videos) into `out_dir`, photos on `workers` threads (the extra ones
        on processors from `spare`); raises RuntimeError if one is running."""
        if self._thread is not None:
            raise RuntimeError("an export is already running")
        self._cancel = threading.Event()
        thread = _BatchThread(paths, out_dir, processor, params, fmt, self._cancel, self, video_format, workers, spare)
        thread.progress.connect(self._on_progress)
        thread.frame_progress.connect(self.frame_progress)
        thread.item_done.connect(self._on_item_done)
        thread.done.connect(self._on_done)
        self._thread = thread
        thread.start()

    def cancel(self) -> None:
        """Ask the running batch to stop; `finished` still arrives with `report.cancelled` set."""
        self._cancel.set()

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Cancel and join the thread (window closing, teardown). Returns False if it did not end in time."""
        thread = self._thread
        if thread is None:
            return True
        self._cancel.set()
        ended = thread.wait(timeout_ms)
        if ended:
            self._thread = None
            thread.deleteLater()
        return ended

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, path: str) -> None:
        self.progress.emit(done, total, path)

    @Slot(object)
    def _on_item_done(self, outcome: Outcome) -> None:
        self.item_done.emit(outcome)

    @Slot(object)
    def _on_done(self, report: Report) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()  # `done` is its last act: this returns at once
            thread.deleteLater()
        self.finished.emit(report)
