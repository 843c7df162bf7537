"""The `replace` effect: an image cover-fitted behind the person (the blurred frame shows through where it is
translucent)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from desktop_app.core.buffers import output_array
from desktop_app.core.effects.background import blend_edges, blend_person, blurred_background, fitted_background, planes
from desktop_app.core.effects.blur_effect import STRENGTH
from desktop_app.core.effects.foreground import soft_foreground
from desktop_app.core.effects.registry import PERSON_SEGMENTATION, EffectSpec, Param, register
from desktop_app.core.params import EffectParams

BACKGROUND = Param("background", "image", "--background",
                   "background for replace: an image file, or a built-in one by name ({backgrounds})",
                   title="Background", metavar="IMG", required=True,
                   missing="the replace effect needs a background image",
                   live_help="background for replace: an image or a built-in name")


def compose_replace(rgb: np.ndarray, mask: np.ndarray, alpha: np.ndarray, params: EffectParams,
                    background: np.ndarray | None, mask_small: np.ndarray | None, live: bool) -> np.ndarray:
    if background is None:
        raise ValueError("the replace effect needs a background image")
    fitted = fitted_background(background, (rgb.shape[1], rgb.shape[0]))
    if fitted.shape[2] == 4:
        front, opacity = planes(fitted)
        back = blend_edges(front, blurred_background(rgb, params.strength, mask_small), opacity)
    else:
        back = output_array("background", rgb.shape)  # the output: pooled on the live path
        np.copyto(back, fitted)
    return blend_person(rgb, back, alpha, None if live else soft_foreground(rgb, alpha, 2))


# The strength blurs the frame behind a translucent image: a CLI flag, not a panel control (as before).
SPEC = register(EffectSpec(name="replace", title="Replace background",
                           params=(BACKGROUND, replace(STRENGTH, panel=False)),
                           model_kind=PERSON_SEGMENTATION, output="rgb", compose=compose_replace))
