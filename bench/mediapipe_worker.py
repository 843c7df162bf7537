"""MediaPipe's side of bench/bench_vs_mediapipe.py; runs in .venvs/mediapipe (tools/make_mediapipe_venv.sh).

MediaPipe's own Python solution (`solutions.selfie_segmentation.SelfieSegmentation`, model_selection as ours)
makes the full-resolution mask; LocalLens's own `masks.MaskRefiner` and `effects.background.compose`
(numpy + OpenCV only, imported from this repository) threshold, feather and compose it, so both sides of the
benchmark share the compositing code. Driven by the parent over JSON lines on stdin/stdout:

    {"cmd": "load", "frames": {"640x480": "/tmp/x/640x480.npy", ...}, "background": "/tmp/x/bg.npy"}
    {"cmd": "run", "key": "640x480/blur", "size": "640x480", "effect": "blur", "n": 50, "warmup": 0}
    {"cmd": "model", "key": "640x480/model", "size": "640x480", "n": 50, "warmup": 0}
    {"cmd": "quit"}

    .venvs/mediapipe/bin/python bench/mediapipe_worker.py --check   # versions and the import check
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, TextIO

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Import our compositing code first and list what it pulls in (checked against ALLOWED_IMPORTS in main).
_before = set(sys.modules)
from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.masks import MaskRefiner  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402

THIRD_PARTY_IMPORTS = sorted(
    {m.split(".")[0] for m in set(sys.modules) - _before}
    - set(sys.stdlib_module_names)
    - {"desktop_app", "cython_runtime"}
    - {m for m in sys.modules if m.startswith("_cython")}
)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

# compose/blend/MaskRefiner use numpy + OpenCV only; Pillow comes with imageio (background.load_background
# reads through it) and is in this venv via tools/make_mediapipe_venv.sh. Anything else is an error.
ALLOWED_IMPORTS = {"cv2", "numpy", "PIL"}


def source_digest() -> str:
    """sha256 (12 hex) of the compositing sources as imported, so the parent can prove both sides ran the same."""
    import hashlib

    digest = hashlib.sha256()
    for module in (bg, sys.modules[MaskRefiner.__module__]):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:12]


SOURCE_DIGEST = source_digest()


def versions() -> dict[str, Any]:
    import mediapipe as mp

    return {
        "python": platform.python_version(),
        "mediapipe": mp.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "effects_module_imports": THIRD_PARTY_IMPORTS,
        "cv2_threads": cv2.getNumThreads(),
        "compositing_source_sha256": SOURCE_DIGEST,
    }


def model_selection(size: str) -> int:
    """The same model LocalLens's `auto` picks: 1 (landscape, 256x144) for wide frames, else 0 (general)."""
    width, height = (int(v) for v in size.split("x"))
    return 1 if width >= 1.5 * height else 0


class Worker:
    """One SelfieSegmentation graph and one MaskRefiner per stream key (a size/effect), like one video each."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._solution = mp.solutions.selfie_segmentation.SelfieSegmentation
        self.frames: dict[str, np.ndarray] = {}
        self.background: np.ndarray | None = None
        self.streams: dict[str, tuple[Any, MaskRefiner]] = {}
        self.position: dict[str, int] = {}

    def load(self, frames: dict[str, str], background: str) -> dict[str, Any]:
        self.frames = {size: np.load(path) for size, path in frames.items()}
        self.background = np.load(background)
        return {"loaded": {k: list(v.shape) for k, v in self.frames.items()}}

    def _stream(self, key: str, size: str) -> tuple[Any, MaskRefiner]:
        if key not in self.streams:
            params = EffectParams()
            refiner = MaskRefiner(params.threshold, params.feather, params.smoothing)
            self.streams[key] = (self._solution(model_selection=model_selection(size)), refiner)
            self.position[key] = 0
        return self.streams[key]

    def _next_frame(self, key: str, size: str) -> np.ndarray:
        frames = self.frames[size]
        i = self.position[key]
        self.position[key] = i + 1
        return frames[i % len(frames)]

    def run(self, key: str, size: str, effect: str, n: int, warmup: int) -> dict[str, Any]:
        """End to end per frame: process() -> threshold/feather (MaskRefiner) -> compose, as LocalLens does."""
        seg, refiner = self._stream(key, size)
        params = EffectParams(effect=effect, strength=50)  # type: ignore[arg-type]
        background = self.background if effect == "replace" else None
        times: dict[str, list[float]] = {"total": [], "process": [], "refine": [], "compose": [],
                                         "total_without_refine": []}
        cpu_start = 0.0
        for i in range(warmup + n):
            if i == warmup:
                cpu_start = time.process_time()
            rgb = self._next_frame(key, size)
            t0 = time.perf_counter()
            mask = seg.process(rgb).segmentation_mask
            t1 = time.perf_counter()
            refined = refiner.refine(mask)
            t2 = time.perf_counter()
            out = bg.compose(rgb, refined, params, background, mask_small=refined)
            t3 = time.perf_counter()
            if i < warmup:
                continue
            assert out.shape[:2] == rgb.shape[:2]
            for name, value in (("total", t3 - t0), ("process", t1 - t0), ("refine", t2 - t1), ("compose", t3 - t2),
                                ("total_without_refine", t3 - t0 - (t2 - t1))):
                times[name].append(value * 1e3)
        return {"times": times, "cpu_ms": (time.process_time() - cpu_start) * 1e3 / max(n, 1)}

    def model(self, key: str, size: str, n: int, warmup: int) -> dict[str, Any]:
        """MediaPipe alone: process() to the full-resolution float32 mask (its own upsample included)."""
        seg, _ = self._stream(key, size)
        times: list[float] = []
        cpu_start = 0.0
        for i in range(warmup + n):
            if i == warmup:
                cpu_start = time.process_time()
            rgb = self._next_frame(key, size)
            t0 = time.perf_counter()
            mask = np.asarray(seg.process(rgb).segmentation_mask)
            t1 = time.perf_counter()
            if i >= warmup:
                assert mask.shape == rgb.shape[:2]
                times.append((t1 - t0) * 1e3)
        return {"times": {"total": times}, "cpu_ms": (time.process_time() - cpu_start) * 1e3 / max(n, 1)}

    def close(self) -> None:
        for seg, _ in self.streams.values():
            seg.close()


def serve(out: TextIO) -> None:
    worker = Worker()
    out.write(json.dumps({"ready": True, **versions()}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request.pop("cmd")
        try:
            if cmd == "quit":
                break
            if cmd == "load":
                reply = worker.load(request["frames"], request["background"])
            elif cmd == "run":
                reply = worker.run(**request)
            elif cmd == "model":
                reply = worker.model(**request)
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as exc:  # reported to the parent, which stops the benchmark
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    worker.close()


def main() -> int:
    cv2.setNumThreads(1)
    if set(THIRD_PARTY_IMPORTS) - ALLOWED_IMPORTS:
        print(f"the effects module imported more than {sorted(ALLOWED_IMPORTS)}: {THIRD_PARTY_IMPORTS}",
              file=sys.stderr)
        return 3
    if "--check" in sys.argv:
        print(json.dumps(versions()))
        return 0
    # Our replies go to a private copy of stdout; fd 1 itself goes to stderr, so nothing MediaPipe or
    # TensorFlow Lite prints from C++ can corrupt the JSON stream.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    serve(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
