"""The photos tab's bottom bar: a status line, and exports run through `BatchWorker` with progress and Cancel.

An export is Export all (every opened item into a folder) or the Save of one video (that one item, then
given the name picked in the Save As dialog, never replacing a file). Videos are H.264 MP4 with their sound;
"Transparent videos (WebM)" makes Export all write a cut-out (remove) as VP9 WebM with alpha instead of green
screen. A video's progress is shown frame by frame with the time left. Either waits for the model if it is
not loaded yet (`set_segmenter` starts it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from desktop_app.core.batch import Outcome, Processor, Report, record_output
from desktop_app.core.batch_pipeline import batch_pipeline, spares
from desktop_app.core.batch_workers import default_workers
from desktop_app.core.effects.registry import spec_for
from desktop_app.core.imageio import output_stem
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import SegmenterLike
from desktop_app.core.progress import time_left
from desktop_app.core.safe_write import FileError, publish
from desktop_app.ui.batch_worker import BatchWorker

ProcessorFactory = Callable[[SegmenterLike, EffectParams], Processor]
FRAME_STEPS = 1000  # the progress bar's steps per item: a video's frames move it within its item


pipeline_for_batch: ProcessorFactory = batch_pipeline  # the CLI's: videos keep smoothing; batch resets per photo


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
    """`status_label`, `progress_bar` and `cancel_button` over one `BatchWorker` (`batch`). A video moves the bar
    frame by frame and the status line says which frame and about how long is left."""

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
        self._item: tuple[int, int, float] = (0, 0, 0.0)  # (finished items, total items, when this one started)
        self.clock: Callable[[], float] = time.monotonic
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.webm_check = QCheckBox("Transparent videos (WebM)")
        self.webm_check.setToolTip("Remove background: export videos as VP9 WebM that keeps the transparency "
                                   "(sound as Opus). Otherwise videos are H.264 MP4 with the cut-out on green screen.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status_label, 1)
        layout.addWidget(self.webm_check)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.cancel_button)
        self.batch = BatchWorker(self)
        self.batch.progress.connect(self._on_progress)
        self.batch.frame_progress.connect(self._on_frame_progress)
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
        # Every processor of the export is its own (sessions and detectors): the previews keep theirs meanwhile.
        make = spares(self._segmenter, params, self._processor_factory)
        self.batch.start(job.inputs, job.folder, make(), params, self._output_format(), self.video_format(job, params),
                         workers=default_workers(params.quality), spare=make)
        self.busy_changed.emit()

    def video_format(self, job: ExportJob, params: EffectParams) -> str:
        """WebM for Export all of a cut-out with "Transparent videos" ticked; MP4 otherwise (the Save of one
        video is named `.mp4` in its dialog)."""
        webm = self.webm_check.isChecked() and spec_for(params.effect).output_has_alpha(params)
        return "webm" if webm and job.save_as is None else "mp4"

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
        self._item = (done, total, self.clock())
        self.progress_bar.setRange(0, max(total, 1) * FRAME_STEPS)
        self.progress_bar.setValue(done * FRAME_STEPS)
        if done < total and (self._running is None or self._running[0].save_as is None):
            self.status_label.setText(f"Exporting {Path(path).name} ({done + 1} of {total})…")

    @Slot(int, int, str)
    def _on_frame_progress(self, frames: int, count: int, path: str) -> None:
        """A video's frame: the bar moves within this item, the status says which frame and the time left."""
        done, total, started = self._item
        what = f"Exporting {Path(path).name}" + (f" ({done + 1} of {total})" if total > 1 else "")
        if self._running is not None and self._running[0].save_as is not None:
            what = f"Saving {self._running[0].save_as}.mp4"
        if count > 0:
            elapsed = self.clock() - started
            left = elapsed / frames * max(count - frames, 0)
            self.progress_bar.setValue(done * FRAME_STEPS + min(frames * FRAME_STEPS // count, FRAME_STEPS))
            self.status_label.setText(f"{what}: frame {frames} of {count}, {time_left(left)}…")
        else:
            self.status_label.setText(f"{what}: frame {frames}…")

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
