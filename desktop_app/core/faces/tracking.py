"""FaceTracker: face boxes stabilised across video frames, so no face is exposed for a frame when the detector
blinks (the interface the faces stage uses; the tracking itself is being written)."""

from __future__ import annotations

from desktop_app.core.detection import Detection


class FaceTracker:
    """`update(faces)` once per video frame -> the faces to hide in that frame (normalized frame coordinates).

    For now a pass-through: this frame's detections, nothing held after a miss."""

    def update(self, faces: list[Detection]) -> list[Detection]:
        return list(faces)

    def reset(self) -> None:
        """Forget every track (a new video, a new frame size)."""
