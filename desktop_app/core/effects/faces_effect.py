"""The faces stage's declaration: its parameters (style, shape, threshold, padding) and the model kind it needs.

The CLI's `--faces/--face-shape/--face-threshold/--face-padding` and the panel's Faces control are built from
`SPEC.params` (`registry.stage_params("faces")`); the stage itself is `desktop_app.core.faces.stage.FaceStage`,
run after the background effect on every frame while `EffectParams.faces` is set.
"""

from __future__ import annotations

from desktop_app.core.effects.registry import FACE_DETECTION, FACES_STAGE, Param, StageSpec, register_stage
from desktop_app.core.params import FACE_SHAPES, FACE_STYLES

FACES = Param("faces", "choice", "--faces", "hide every face: blur, pixelate or box (solid black); off by default",
              title="Faces", default=None, choices=FACE_STYLES, off="Off")
FACE_SHAPE = Param("face_shape", "choice", "--face-shape", "the hidden area: ellipse (face-shaped, default) or rect",
                   title="Shape", default="ellipse", choices=FACE_SHAPES)
FACE_THRESHOLD = Param("face_threshold", "float", "--face-threshold",
                       "the detector's score a face needs, 0-1 (default 0.5; lower finds more)", title="Sensitivity",
                       default=0.5, low=0.0, high=1.0, metavar="T")
FACE_PADDING = Param("face_padding", "float", "--face-padding",
                     "grow each face's box by this share of its size on every side, 0-1 (default 0.2)",
                     title="Padding", default=0.2, low=0.0, high=1.0, metavar="P")

SPEC = register_stage(StageSpec(name=FACES_STAGE, title="Faces", params=(FACES, FACE_SHAPE, FACE_THRESHOLD,
                                                                         FACE_PADDING),
                                model_kind=FACE_DETECTION, switch="faces"))
