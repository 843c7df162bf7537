"""The photos tab's bottom bar: a status line, and exports run through `BatchWorker` with progress and Cancel.

An export is Export all (every opened item into a folder) or the Save of one video (that one item, then
given the name picked in the Save As dialog, never replacing a file). Either waits for the model if it is
not loaded yet (`set_segmenter` starts it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from desktop_app.core.batch import Outcome, Processor, Report, record_output
from desktop_app.core.imageio import output_stem
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline, SegmenterLike
from desktop_app.core.safe_write import FileError, publish
from desktop_app.ui.batch_worker import BatchWorker

ProcessorFactory = Callable[[SegmenterLike, EffectParams], Processor]


def pipeline_for_batch(segmenter: SegmenterLike, params: EffectParams) -> Processor:
    pipeline = Pipeline(segmenter, params, temporal=True)  # videos keep smoothing; batch resets per photo
    pipeline.full_edges = True  # video files are not live: edges at full resolution (docs/quality.md)
    return pipeline


@dataclass(slots=True)
class ExportJob:
    """Export all (`save_as` None) or Save of one video as `folder/save_as.mp4`."""

    inputs: list[Path]
    folder: Path
    save_as: str | None = None  # the stem picked in the Save As dialog


def saved_text(path: Path, asked: str) -> str:
    """The status line after a save: says when the picked name existed and the next free one was used."""
    if path.name == asked:
        return f"Saved {path}"
    return f"Saved {path} ({asked} already exists and is never replaced)"


class ExportBar(QWidget):
    """`status_label`, `progress_bar` and `cancel_button` over one `BatchWorker` (`batch`)."""

    saved = Signal(object)  # Path of a saved video
    item_failed = Signal(object, str)  # input Path, one-line reason
    finished = Signal(object)  # core.batch.Report
    busy_changed = Signal()

    def __init__(self, params_provider: Callable[[], EffectParams], output_format: Callable[[], str],
                 processor_factory: ProcessorFactory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._params_provider, self._output_format = params_provider, output_format
        self._processor_factory = processor_factory
        self._segmenter: SegmenterLike | None = None
        self._pending: ExportJob | None = None  # waits for the model
        self._running: tuple[ExportJob, EffectParams] | None = None
        self._notes: list[str] = []
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status_label, 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.cancel_button)
        self.batch = BatchWorker(self)
        self.batch.progress.connect(self._on_progress)
        self.batch.item_done.connect(self._on_item_done)
        self.batch.finished.connect(self._on_finished)

    def busy(self) -> bool:
        """An export is running or waiting for the model."""
        return self.batch.is_running() or self._pending is not None

    def begin(self, job: ExportJob) -> None:
        """Start `job` now, or as soon as the model is loaded."""
        if self._segmenter is None:
            self._pending = job
            what = "The export" if job.save_as is None else "Saving the video"
            self.status_label.setText(f"{what} starts as soon as the model is loaded…")
            self.cancel_button.setEnabled(True)
            self.cancel_button.show()
            self.busy_changed.emit()
            return
        self._start(job)

    def set_segmenter(self, segmenter: SegmenterLike | None) -> None:
        self._segmenter = segmenter
        if segmenter is not None and self._pending is not None:
            job, self._pending = self._pending, None
            self._start(job)

    def _start(self, job: ExportJob) -> None:
        assert self._segmenter is not None
        params = self._params_provider()
        self._notes = []
        self.progress_bar.setRange(0, 0)
        self.progress_bar.show()
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.status_label.setText(f"Exporting to {job.folder}…" if job.save_as is None
                                  else f"Saving {job.save_as}.mp4 in {job.folder}…")
        self._running = (job, params)
        self.batch.start(job.inputs, job.folder, self._processor_factory(self._segmenter, params), params,
                         self._output_format())
        self.busy_changed.emit()

    def cancel(self) -> None:
        """Stop between files (or mid-video); finished files stay, no partial file is left."""
        if self._pending is not None:
            self._pending = None
            self.cancel_button.hide()
            self.status_label.setText("Export cancelled.")
            self.busy_changed.emit()
        if self.batch.is_running():
            self.batch.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling…")

    def shutdown(self) -> None:
        """Cancel and join the export thread."""
        self._pending = None
        self.batch.stop()

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, path: str) -> None:
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        if done < total and (self._running is None or self._running[0].save_as is None):
            self.status_label.setText(f"Exporting {Path(path).name} ({done + 1} of {total})…")

    @Slot(object)
    def _on_item_done(self, outcome: Outcome) -> None:
        if outcome.error is not None:
            self.item_failed.emit(outcome.source, outcome.error)
        self._notes.extend(f"{outcome.source.name}: {note}" for note in outcome.notes)

    @Slot(object)
    def _on_finished(self, report: Report) -> None:
        running, self._running = self._running, None
        self.progress_bar.hide()
        self.cancel_button.hide()
        if running is not None and running[0].save_as is not None:
            text = self._finish_video_save(*running, report)
        else:
            done, failed = len(report.succeeded), len(report.failed)
            text = f"Exported {done} file{'s' if done != 1 else ''} to {running[0].folder if running else ''}"
            if failed:
                text += f"; {failed} could not be processed (see Problems)"
            if report.cancelled:
                text += "; cancelled (files not started were skipped, no partial files)"
        if self._notes:
            text += ".\n" + "\n".join(self._notes)
        self.status_label.setText(text)
        self.busy_changed.emit()
        self.finished.emit(report)

    def _finish_video_save(self, job: ExportJob, params: EffectParams, report: Report) -> str:
        """The exported video takes the name picked in the dialog (the batch names it `<stem>_<effect>`)."""
        if report.cancelled:
            return "Save cancelled (no partial file was left)"
        if not report.succeeded or report.succeeded[0].output is None:
            reason = report.failed[0].error if report.failed else "nothing was written"
            return f"Not saved: {reason}"
        outcome = report.succeeded[0]
        output = outcome.output
        assert output is not None and job.save_as is not None
        asked = f"{job.save_as}.mp4"
        if job.save_as != output_stem(outcome.source, params.effect):
            try:  # a hard link under the new name, then the old one goes: never over an existing file
                output = publish(output, job.folder, job.save_as, "mp4", protect=[outcome.source])
                record_output(output)  # the folder's list of our outputs names the file under its new name too
            except (FileError, OSError) as exc:
                self.saved.emit(output)
                return f"Saved {output} (it could not be renamed to {asked}: {exc})"
        self.saved.emit(output)
        return saved_text(output, asked)
