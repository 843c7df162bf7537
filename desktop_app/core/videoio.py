"""Video files for batch processing, with the same safety rules as images: one import point for the rest of the app.

Reading is `core.video_read` (PyAV: upright RGB frames, the stream's rate and timestamps, its audio streams),
writing is `core.video_write` (H.264/MP4 through libopenh264, or VP9 with alpha in WebM; atomic, verified before
publishing) and the sound is `core.audio` (copied where the container takes it, else re-encoded). Batch video
no longer goes through OpenCV's own FFmpeg; the live camera keeps cv2.VideoCapture (and, for now, so do the
file camera in `core.sources` and `desktop_app.benchmark`).
"""

from __future__ import annotations

from desktop_app.core.video_read import (
    FALLBACK_FPS,
    MAX_FPS,
    SUPPORTED_VIDEO_EXTENSIONS,
    AudioInfo,
    VideoReader,
    VideoReadError,
    has_audio,
    is_video,
    probe_audio,
)
from desktop_app.core.video_write import H264_ENCODER, VIDEO_CONTAINERS, VP9_ENCODER, VideoWriteError, VideoWriter

__all__ = [
    "FALLBACK_FPS", "H264_ENCODER", "MAX_FPS", "SUPPORTED_VIDEO_EXTENSIONS", "VIDEO_CONTAINERS", "VP9_ENCODER",
    "AudioInfo", "VideoReadError", "VideoReader", "VideoWriteError", "VideoWriter", "has_audio", "is_video",
    "probe_audio",
]
