"""What the user chose: the effect and its parameters, shared by the CLI, the GUI and saved settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

Effect = Literal["none", "blur", "replace", "remove", "mask"]
# The built-in effects, in the panel's order; each is declared (parameters, model, output, compose step) by its
# module under desktop_app/core/effects (`effects.registry`), which `validate` asks.
EFFECTS: tuple[Effect, ...] = ("none", "blur", "replace", "remove", "mask")
Quality = Literal["fast", "best"]
QUALITIES: tuple[Quality, ...] = ("fast", "best")
# Live frames: "auto" (the default) is Best while this machine keeps up with the camera, else Fast (core.live_quality).
LiveQuality = Literal["auto", "fast", "best"]
LIVE_QUALITIES: tuple[LiveQuality, ...] = ("auto", "fast", "best")
# The faces stage (after the background effect): how every detected face is hidden, and its shape.
FaceStyle = Literal["blur", "pixelate", "box"]
FACE_STYLES: tuple[FaceStyle, ...] = ("blur", "pixelate", "box")
FaceShape = Literal["ellipse", "rect"]
FACE_SHAPES: tuple[FaceShape, ...] = ("ellipse", "rect")


@dataclass(frozen=True, slots=True)
class EffectParams:
    """Immutable so a worker can swap them atomically; use `with_(...)` to change one field."""

    effect: Effect = "blur"
    strength: int = 50  # blur strength, 1..100
    background: Path | None = None  # replace: the image, cover-fitted to the frame
    color: tuple[int, int, int] | None = None  # remove: a solid RGB colour; None = transparent (RGBA)
    threshold: float = 0.5  # mask probability counted as person, 0..1 (video and live: masks.frame_threshold)
    feather: float = 0.3  # edge softness, 0 (hard) .. 1 (wide)
    smoothing: float = 0.5  # temporal smoothing across video frames, 0 (off) .. 0.95
    # Photos and video files (the Photos tab, folders, Export all, `process`): "best" takes the best-quality still
    # path for photos (`desktop_app.core.quality.segment_still`) and, for photos and video frames, the band around
    # the person's edge matted (`core.matting`); "fast" the per-frame path. Live frames ignore it (`live_quality`).
    quality: Quality = "best"
    # Live frames only (the camera and the virtual camera): "fast" snaps the mask's edges at the model's grid; "best"
    # at half the frame's resolution (edges_full.refine_edges_half: steadier edges for about 1.13x fast's CPU a 720p
    # frame; docs/quality.md, "Session 14" and "Session 15"); "auto" (the default since session 15) is best while the
    # live session measures that it takes at most half the camera's frame time, else fast (core.live_quality).
    live_quality: LiveQuality = "auto"
    # Face anonymization, combinable with every effect: None = off. `face_threshold` is the detector's score a
    # face needs (0..1); `face_padding` grows each face's box by that fraction of its size on every side (0..1).
    faces: FaceStyle | None = None
    face_shape: FaceShape = "ellipse"
    face_threshold: float = 0.5
    face_padding: float = 0.2

    def with_(self, **changes: object) -> EffectParams:
        return replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> None:
        """Raise ValueError with a message a user can act on."""
        from desktop_app.core.effects.registry import spec_for  # the registry imports this module

        spec = spec_for(self.effect)  # ValueError naming the choices
        if not 1 <= self.strength <= 100:
            raise ValueError(f"strength must be between 1 and 100, not {self.strength}")
        for param in spec.params:
            if param.required and getattr(self, param.field) is None:
                raise ValueError(param.missing)
        for name in ("threshold", "feather"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        for name, choices in (("quality", QUALITIES), ("live_quality", LIVE_QUALITIES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"unknown {name.replace('_', ' ')} {getattr(self, name)!r}; choose one of "
                                 f"{', '.join(choices)}")
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(f"smoothing must be between 0 and 1 (exclusive), not {self.smoothing}")
        self._validate_faces(spec.output_for(self) == "gray")

    def _validate_faces(self, gray_output: bool) -> None:
        if self.faces is not None and self.faces not in FACE_STYLES:
            raise ValueError(f"unknown face style {self.faces!r}; choose one of {', '.join(FACE_STYLES)}")
        if self.face_shape not in FACE_SHAPES:
            raise ValueError(f"unknown face shape {self.face_shape!r}; choose one of {', '.join(FACE_SHAPES)}")
        for name in ("face_threshold", "face_padding"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name.replace('_', ' ')} must be between 0 and 1, not {value}")
        if self.faces is not None and gray_output:
            raise ValueError(f"the {self.effect} effect outputs the person mask, not a picture: faces cannot be "
                             "hidden in it (choose another effect, or no faces)")
