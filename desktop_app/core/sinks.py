"""Where processed live frames go besides the preview: the FrameSink protocol and the one conversion point.

A sink (the window's view, the virtual camera, the recorder) receives `SinkFrame`s: always RGB, always at the
processed size, never mirrored (the mirror is a property of the preview only; call apps mirror their own
self-view). `to_rgb` turns any effect's output (RGB, RGBA cut-out, gray mask) into that RGB; batch video
writing and every sink share it, so a cut-out looks the same in a file, in a call and in a recording.
`fit_to` keeps a sink at the size it was opened at; `message_frame` is the picture a sink gets when there
is none to show (the camera is lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

GREEN_SCREEN = (0, 177, 64)  # what a transparent background becomes where the output cannot carry alpha


class SinkError(RuntimeError):
    """A sink that cannot open or has failed; the message is one sentence a user can act on."""


@dataclass(frozen=True, slots=True)
class SinkFrame:
    """One frame for a sink: (H, W, 3) uint8 RGB, C-contiguous, not mirrored. Read it, never write to it (the
    array may be shared with the preview, the other sinks and later message frames); keep it as long as needed."""

    rgb: np.ndarray
    captured_at: float  # time.perf_counter() when the source frame was read (for latency)
    index: int  # the processed-frame counter of the session
    message: str | None = None  # set when this is a message frame (camera lost) rather than a processed one

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]


@runtime_checkable
class FrameSink(Protocol):
    """A consumer of processed live frames. `send` is called on the processing thread and must return quickly:
    a sink that does slow work (encoding, pacing to a camera rate) hands the newest frame to its own thread and
    drops older ones, never queues. Any failure is raised as SinkError; the session then drops the sink with a
    notice and goes on.

    `open` is called on the processing thread before the first frame, with the session's output size and rate;
    every frame sent has that size. `close` is called once when the sink is removed, fails or the session stops
    (also after an `open` that raised), so it must cope with a sink that never opened. After `close` the session
    may `open` the same sink again (the next `start`)."""

    name: str

    def open(self, size: tuple[int, int], fps: float) -> None: ...

    def send(self, frame: SinkFrame) -> None: ...

    def close(self) -> None: ...


def to_rgb(pixels: np.ndarray, background: tuple[int, int, int] = GREEN_SCREEN) -> np.ndarray:
    """Any effect output as (H, W, 3) uint8 RGB: RGB as is, a gray mask as gray RGB, RGBA composited over
    `background` (a cut-out's transparent pixels carry no picture, so only the person and the colour show)."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 2:
        return np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return np.ascontiguousarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = pixels[:, :, 3:4].astype(np.uint16)
        rgb = pixels[:, :, :3].astype(np.uint16)
        bg = np.asarray(background, dtype=np.uint16).reshape(1, 1, 3)
        out = (rgb * alpha + bg * (255 - alpha) + 127) // 255
        return out.astype(np.uint8)
    raise ValueError(f"cannot show pixels of shape {pixels.shape}")


def fit_to(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`rgb` at exactly `size` (width, height): scaled with its aspect kept and centred on black (a sink opened at
    one size keeps it when the live resolution changes: a call app or a file cannot change size mid-stream)."""
    width, height = size
    h, w = rgb.shape[:2]
    if (w, h) == (width, height):
        return rgb
    scale = min(width / w, height / h)
    new_w, new_h = max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(rgb, (new_w, new_h), interpolation=interpolation)
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - new_w) // 2, (height - new_h) // 2
    out[y:y + new_h, x:x + new_w] = scaled
    return out


_ASCII = str.maketrans({"\u2026": "...", "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'",
                        "\u201c": '"', "\u201d": '"', "\u00d7": "x"})
_FONT = cv2.FONT_HERSHEY_SIMPLEX
MESSAGE_BACKGROUND = 24  # the message frame's dark gray


def message_frame(size: tuple[int, int], text: str) -> np.ndarray:
    """A dark (H, W, 3) RGB frame with `text` drawn centred in white (lines split at "\\n" and wrapped to fit):
    what a sink shows instead of a picture, e.g. "Camera lost - reconnecting", so a call never freezes."""
    width, height = size
    out = np.full((height, width, 3), MESSAGE_BACKGROUND, np.uint8)
    scale = max(0.35, height / 720.0)
    thickness = max(1, round(scale * 2))
    lines = [line for raw in text.translate(_ASCII).encode("ascii", "replace").decode("ascii").splitlines()
             for line in _wrap(raw, width * 0.9, scale, thickness)]
    if not lines:
        return out
    line_h = cv2.getTextSize("Ag", _FONT, scale, thickness)[0][1]
    step = round(line_h * 1.8)
    y = (height - step * (len(lines) - 1)) // 2 + line_h // 2
    for line in lines:
        text_w = cv2.getTextSize(line, _FONT, scale, thickness)[0][0]
        cv2.putText(out, line, ((width - text_w) // 2, y), _FONT, scale, (235, 235, 235), thickness, cv2.LINE_AA)
        y += step
    return out


def _wrap(line: str, max_width: float, scale: float, thickness: int) -> list[str]:
    """Greedy word wrap of one line to `max_width` pixels (a word longer than that stays on its own line)."""
    words, lines, current = line.split(), [], ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if current and cv2.getTextSize(candidate, _FONT, scale, thickness)[0][0] > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines
