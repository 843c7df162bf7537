"""The status bar's permanent labels: what the live view shows, its rates and delays, where the model runs."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar

from desktop_app.core.pipeline import SegmenterLike
from desktop_app.ui.worker import LiveStats

LABELS = (("source", "What the live view shows"), ("capture", "Frames per second from the camera"),
          ("processed", "Frames per second with the effect applied"),
          ("inference", "Model time per frame"),
          ("quality", "The live quality in use (Auto: Best while this computer keeps up with the camera)"),
          ("latency", "Capture-to-screen delay (median)"),
          ("dropped", "Frames skipped because a newer one arrived"),
          ("provider", "Where the model runs"))
# Cleared while the camera is released.
LIVE_STATS = ("capture", "processed", "inference", "quality", "latency", "dropped")


class StatusLabels:
    """`labels[key]` for each of `LABELS`, added to `bar` as permanent widgets.

    The provider label says "Loading model…" until `model_ready` / `model_failed` / `no_model`.
    """

    def __init__(self, bar: QStatusBar) -> None:
        self.labels: dict[str, QLabel] = {}
        for key, tip in LABELS:
            label = QLabel()
            label.setToolTip(tip)
            self.labels[key] = label
            bar.addPermanentWidget(label)
        self._segmenter: SegmenterLike | None = None
        self._model_state = "Loading model…"
        self.show_provider()

    def show_stats(self, stats: LiveStats, latency_ms: float | None) -> None:
        """A live report: the source, its rates, the median capture-to-screen `latency_ms` (None: not yet)."""
        labels = self.labels
        labels["source"].setText(f"{stats.source}{' (demo)' if stats.on_demo else ''}")
        labels["capture"].setText(f"capture {stats.capture_fps:.1f} fps")
        labels["processed"].setText(f"processed {stats.processed_fps:.1f} fps" if stats.model_ready else "")
        labels["inference"].setText(f"inference {stats.inference_ms:.1f} ms" if stats.inference_ms else "")
        labels["quality"].setText(f"quality {stats.live_quality}" if stats.live_quality else "")
        labels["latency"].setText(f"latency {latency_ms:.0f} ms" if latency_ms is not None else "")
        labels["dropped"].setText(f"dropped {stats.dropped}")
        for key in LIVE_STATS:
            labels[key].show()
        self.show_provider()

    def show_paused(self) -> None:
        """No camera runs: no fps to show (and no empty gaps) until the live view is back."""
        self.labels["source"].setText("paused")
        for key in LIVE_STATS:
            self.labels[key].clear()
            self.labels[key].hide()

    def model_ready(self, segmenter: SegmenterLike) -> None:
        self._segmenter = segmenter
        self._model_state = ""
        self.show_provider()

    def model_failed(self, reason: str) -> None:
        self._model_state = "Model unavailable"
        self.labels["provider"].setToolTip(reason)
        self.show_provider()

    def no_model(self) -> None:
        self._model_state = "No model"
        self.show_provider()

    def show_provider(self) -> None:
        """Where the model runs (with the reason of a fallback), or the model's state before it is ready."""
        label = self.labels["provider"]
        if self._segmenter is None:
            label.setText(self._model_state)
            return
        provider = str(getattr(self._segmenter, "provider", "")).removesuffix("ExecutionProvider")
        reason = getattr(self._segmenter, "fallback_reason", None)
        label.setText(f"{provider} (fallback: {reason})" if reason else provider)
        label.setToolTip(reason or f"The model runs on {provider}")
