"""The CLI's models: the segmenter with every model file a run may need verified before anything is processed (one
error line and None when one is missing or tampered), and `NoSegmenter` for effects that need no person mask."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when used: `locallens --help` stays quick
    import numpy as np

    from desktop_app.core.engine import Device
    from desktop_app.core.params import EffectParams
    from desktop_app.core.segmenter import Segmenter


class NoSegmenter:
    """Stands in for the segmenter when the effect needs no person mask (`--effect none --faces blur`): no
    segmentation model is loaded or run; the faces stage's detector runs on the device asked for."""

    spec = None
    fallback_reason: str | None = None

    def __init__(self, device: Device) -> None:
        from types import SimpleNamespace

        from desktop_app.core.engine import CPU, DEFAULT_THREADS, available_providers, choose_providers

        self.provider = choose_providers(device, available_providers(), sys.platform)[0]
        self.is_gpu = self.provider != CPU
        self.engine = SimpleNamespace(threads=DEFAULT_THREADS)

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        raise RuntimeError("no person segmentation is loaded for an effect that needs none")

    def verify_all(self, detector: bool = False) -> None:
        """Nothing to check: no segmentation model is used."""

    def twin(self) -> NoSegmenter:
        """Itself: it holds no session to keep apart."""
        return self


def verify_face_models(params: EffectParams, device: Device, live: bool = False) -> None:
    """With faces on, check now the face detector a later frame will load (the photo one for files; the live one
    too for the `live` command), as `Segmenter.verify_all` does. Raises models.ModelIntegrityError."""
    from desktop_app.core import models
    from desktop_app.core.faces.detector import LIVE_MODEL, PHOTO_MODEL

    if params.faces is None:
        return
    manifest = models.load_manifest()
    for model_id in ((LIVE_MODEL, PHOTO_MODEL) if live else (PHOTO_MODEL,)):
        variant = models.choose_variant(manifest.get(model_id), gpu=device == "gpu")
        try:
            models.verify(variant)
        except models.ModelIntegrityError as exc:
            raise models.ModelIntegrityError(f"{exc} (model {model_id})") from exc


def segmenter_or_exit(model_id: str, device: Device, log_path: Path | None = None, *,
                       detector: bool = False, params: EffectParams | None = None,
                       live: bool = False) -> Segmenter | NoSegmenter | None:
    """The segmenter with every model file it may need verified up front, or None after one error line.

    A damaged second model (`auto` loads the landscape one on the first wide input) fails the whole run
    before anything is processed: it means the installation was modified, the fix (reinstall) is the same
    for every input, and a batch that dies or half-succeeds midway is worse than a clear refusal up front.
    `detector`: best-quality photos also need the person detector; it is checked the same way. `params`: an
    effect that needs no mask gets a `NoSegmenter` (nothing loaded), and with faces on the face detector is
    checked too (`live`: the live one as well).
    """
    from desktop_app.core.effects.registry import spec_for
    from desktop_app.core.notify import log
    from desktop_app.core.segmenter import Segmenter

    try:
        if params is not None:
            verify_face_models(params, device, live)
        if params is not None and not spec_for(params.effect).needs_model:
            return NoSegmenter(device)
        segmenter = Segmenter(model_id, device=device)
        segmenter.verify_all(detector=detector and (params is None or spec_for(params.effect).needs_model))
        return segmenter
    except Exception as exc:  # a tampered or missing model: one clear line
        from desktop_app.core.batch import printable

        log.error("cannot load the model: %s", exc, exc_info=exc)
        print(printable(f"error: {exc}"), file=sys.stderr)
        if model_id == "auto":
            print("note: --model ID picks one model (see `locallens models`)", file=sys.stderr)
        if log_path is not None:
            print(f"note: details are in the log: {log_path}", file=sys.stderr)
        return None
