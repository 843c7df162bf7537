"""The `remove` effect: the person cut out (RGBA, the mask as alpha) or on a solid colour (RGB)."""

from __future__ import annotations

import cv2
import numpy as np

from desktop_app.core.buffers import output_array
from desktop_app.core.effects.background import blend_person, solid_image
from desktop_app.core.effects.foreground import estimate_foreground, soft_foreground
from desktop_app.core.effects.registry import PERSON_SEGMENTATION, EffectSpec, Param, register
from desktop_app.core.params import EffectParams

COLOR = Param("color", "color", "--color", "remove: solid colour instead of transparency", title="Background",
              metavar="RRGGBB", live_help="remove: solid colour (default: green screen)")


def compose_remove(rgb: np.ndarray, mask: np.ndarray, alpha: np.ndarray, params: EffectParams,
                   background: np.ndarray | None, mask_small: np.ndarray | None, live: bool) -> np.ndarray:
    """Fully transparent pixels are black (nothing of the old background survives in the RGB), and soft edges
    carry the person's estimated colour (`foreground.estimate_foreground`; one pass when `live`)."""
    passes = 1 if live else 2
    if params.color is None:
        # The frame-sized arrays are `output_array`s: pooled on the live path (the RGBA is the output).
        person = output_array("person", rgb.shape)
        person.fill(0)
        person = cv2.copyTo(rgb, alpha, person)  # black where transparent (3x bitwise_and's speed)
        estimate_foreground(rgb, alpha, out=person, passes=passes)
        rgba = cv2.cvtColor(person, cv2.COLOR_RGB2RGBA, dst=output_array("rgba", (*rgb.shape[:2], 4)))
        rgba[..., 3] = alpha
        return rgba
    solid = output_array("background", rgb.shape)
    np.copyto(solid, solid_image(params.color, (rgb.shape[1], rgb.shape[0])))
    return blend_person(rgb, solid, alpha, soft_foreground(rgb, alpha, passes))


SPEC = register(EffectSpec(name="remove", title="Remove background", params=(COLOR,), model_kind=PERSON_SEGMENTATION,
                           output="rgba", output_with_color="rgb", mp4=True, compose=compose_remove))
