"""ONNX Runtime CPU threads and spinning: which session settings give the steadiest, fastest inference?

Runs the bundled model (or `--model`) with every combination of intra-op threads (1, 2) and spinning
(off, on), interleaved round-robin in one process so machine noise hits all of them alike. Two phases:
`idle` (nothing else running) and `busy` (a second thread blurring 640x480 frames with OpenCV, the way
compositing competes for the cores in the live pipeline; it also reports how many blurs that thread
finished per second while each configuration ran, since spinning threads steal its core). Prints a table and writes
bench/results/threads.json with medians, p90s and ratios against the default (1 thread, spinning off).

    python bench/bench_threads.py [--runs 400] [--model path.onnx] [--out bench/results/threads.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from desktop_app.core import models  # noqa: E402
from desktop_app.core.adapters import adapter_for  # noqa: E402
from desktop_app.core.engine import CPU, session_options  # noqa: E402

CONFIGS: tuple[tuple[int, bool], ...] = ((1, False), (1, True), (2, False), (2, True))
BASELINE = (1, False)


def _label(threads: int, spinning: bool) -> str:
    return f"{threads} thread{'s' if threads > 1 else ''}, spinning {'on' if spinning else 'off'}"


def _model(path: str | None) -> tuple[Path, models.ModelSpec | None]:
    if path:
        return Path(path), None
    spec = models.load_manifest().get("selfie-general")
    variant = models.choose_variant(spec, gpu=False)
    models.verify(variant)
    return variant.path, spec


def _feeds(session: ort.InferenceSession, spec: models.ModelSpec | None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    if spec is not None:
        from desktop_app.core.engine import TensorMeta

        adapter = adapter_for(spec, [TensorMeta.from_ort(a) for a in session.get_inputs()])
        return {k: v.copy() for k, v in adapter.preprocess(frame).items()}
    return {
        a.name: rng.random(tuple(d if isinstance(d, int) else 1 for d in a.shape), dtype=np.float32)
        for a in session.get_inputs()
    }


class Blurrer(threading.Thread):
    """Keeps one core busy with OpenCV work like the compositor does, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.frames = 0

    def run(self) -> None:
        image = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
        while not self.stop.is_set():
            cv2.GaussianBlur(image, (0, 0), 8)
            self.frames += 1


def _phase(
    sessions: dict, feeds: dict[str, np.ndarray], runs: int, warmup: int, blurrer: Blurrer | None
) -> tuple[dict[tuple[int, bool], list[float]], dict[tuple[int, bool], float]]:
    """Per-config run times (ms) and, when busy, the blur thread's frames/s while that config ran."""
    times: dict[tuple[int, bool], list[float]] = {key: [] for key in sessions}
    blur_frames = dict.fromkeys(sessions, 0)
    for _ in range(warmup):
        for session in sessions.values():
            session.run(None, feeds)
    order = list(sessions)
    for index in range(runs):
        rotated = order[index % len(order) :] + order[: index % len(order)]  # no fixed position bias
        for key in rotated:
            frames = blurrer.frames if blurrer else 0
            start = time.perf_counter()
            sessions[key].run(None, feeds)
            times[key].append((time.perf_counter() - start) * 1000.0)
            if blurrer:
                blur_frames[key] += blurrer.frames - frames
    blur_fps = {key: blur_frames[key] / (sum(times[key]) / 1000.0) for key in sessions}
    return times, blur_fps


def _stats(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples)
    return {
        "median_ms": round(float(np.median(values)), 3),
        "p90_ms": round(float(np.percentile(values, 90)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "mean_ms": round(float(values.mean()), 3),
        "runs": len(samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="timed runs per configuration and phase (>= 300)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--model", help="an .onnx file (default: the bundled selfie-general CPU variant)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "threads.json"))
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)

    path, spec = _model(args.model)
    sessions = {
        (threads, spin): ort.InferenceSession(
            str(path), sess_options=session_options(CPU, threads, spin), providers=[CPU]
        )
        for threads, spin in CONFIGS
    }
    feeds = _feeds(next(iter(sessions.values())), spec)

    results: dict[str, object] = {
        "model": path.name,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "onnxruntime": ort.__version__,
        "runs_per_config": args.runs,
        "baseline": _label(*BASELINE),
        "phases": {},
    }
    print(f"{path.name}: {args.runs} interleaved runs per configuration, {os.cpu_count()} cores")
    for phase in ("idle", "busy"):
        blurrer = Blurrer() if phase == "busy" else None
        if blurrer:
            blurrer.start()
        try:
            times, blur_fps = _phase(sessions, feeds, args.runs, args.warmup, blurrer)
        finally:
            if blurrer:
                blurrer.stop.set()
                blurrer.join()
        base = float(np.median(times[BASELINE]))
        rows = {}
        extra = f" {'blur fps':>9}" if blurrer else ""
        print(f"\n{phase}: {'configuration':<26} {'median':>8} {'p90':>8} {'p99':>8} {'vs default':>10}{extra}")
        for key, samples in times.items():
            row = _stats(samples)
            row["median_ratio"] = round(row["median_ms"] / base, 3)
            if blurrer:
                row["blur_fps_meanwhile"] = round(blur_fps[key], 1)
            rows[_label(*key)] = row
            print(
                f"{'':6}{_label(*key):<26} {row['median_ms']:>8.3f} {row['p90_ms']:>8.3f} "
                f"{row['p99_ms']:>8.3f} {row['median_ratio']:>10.2f}"
                + (f" {row['blur_fps_meanwhile']:>9.1f}" if blurrer else "")
            )
        results["phases"][phase] = rows  # type: ignore[index]

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
