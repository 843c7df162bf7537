"""The `mask` effect: the person probability itself as an 8-bit (H, W) image at the frame's size."""

from __future__ import annotations

import numpy as np

from desktop_app.core.effects.registry import PERSON_SEGMENTATION, EffectSpec, register
from desktop_app.core.params import EffectParams


def compose_mask(rgb: np.ndarray, mask: np.ndarray, alpha: np.ndarray, params: EffectParams,
                 background: np.ndarray | None, mask_small: np.ndarray | None, live: bool) -> np.ndarray:
    return alpha if alpha is not mask else alpha.copy()


# The pipeline hands this effect the unthresholded probability (smoothed across video frames), not the refined mask.
SPEC = register(EffectSpec(name="mask", title="Mask only", params=(), model_kind=PERSON_SEGMENTATION, output="gray",
                           compose=compose_mask, uses_probability=True))
