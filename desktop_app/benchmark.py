"""`python main.py bench`: per-stage medians of the live pipeline, next to the model alone, on this machine.

For each size and effect the pipeline and the model alone (`segmenter.predict`) run alternately on the same
frames, so their ratio is measured side by side under the same machine noise. One onnxruntime thread and one
OpenCV thread (the one-core target). Wall and thread-CPU time are both reported: on a shared machine the
wall time also measures the neighbours. `bench/bench_core.py` adds a breakdown of the compose stage.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from desktop_app import paths
from desktop_app.core.effects import background as bg
from desktop_app.core.effects.registry import spec_for
from desktop_app.core.frames import Frame
from desktop_app.core.params import Effect, EffectParams
from desktop_app.core.pipeline import STAGES, Pipeline

if TYPE_CHECKING:
    from desktop_app.core.engine import Device
    from desktop_app.core.segmenter import Segmenter

SIZES = ((640, 480), (1280, 720), (1920, 1080))
EFFECTS: tuple[Effect, ...] = ("blur", "replace")
TARGETS_MS = {(1280, 720): 10.0, (1920, 1080): 20.0}  # blur, end to end, one core
WARMUP = 10
SUMMARY = ("total", "model_only", "ratio", "total_cpu", "model_only_cpu", "ratio_cpu")


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def sample_frames(count: int = 24) -> tuple[list[np.ndarray], str]:
    """RGB frames from the bundled sample video, else the sample photo."""
    from desktop_app.core.video_read import VideoReader, VideoReadError

    frames: list[np.ndarray] = []
    try:
        with VideoReader(paths.sample_video()) as reader:
            for rgb in reader:
                frames.append(rgb)
                if len(frames) >= count:
                    break
    except (VideoReadError, OSError):
        frames = []
    if frames:
        return frames, paths.sample_video().name
    from desktop_app.core.imageio import read_image

    return [read_image(paths.sample_image()).rgb], paths.sample_image().name


def background_image() -> Path:
    found = sorted((paths.assets_dir() / "backgrounds").glob("*.jpg"))
    if found:
        return found[0]
    path = Path(tempfile.gettempdir()) / "locallens-bench-background.png"
    gradient = np.linspace(0, 255, 1920, dtype=np.uint8)[None, :, None].repeat(1080, 0).repeat(3, 2)
    cv2.imwrite(str(path), gradient)
    return path


def run_effect(seg: Segmenter, frames: list[np.ndarray], params: EffectParams, n: int, crop: bool = True
               ) -> dict[str, Any]:
    """Pipeline and model-only alternately on each frame; medians per stage, and the ratio. `crop`: the model on a
    crop around the person, as the live engine runs it (core.person_crop); the model-only run sees the whole frame."""
    pipe = Pipeline(seg, params, temporal=True)
    pipe.crop = crop
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    totals: list[float] = []
    model_only: list[float] = []
    totals_cpu: list[float] = []
    model_cpu: list[float] = []
    for i in range(WARMUP + n):
        rgb = frames[i % len(frames)]
        cpu0, start = time.thread_time(), time.perf_counter()
        seg.predict(rgb)
        cpu1, mid = time.thread_time(), time.perf_counter()
        result = pipe.process(Frame(rgb, mid, i, "bench"))
        cpu2, end = time.thread_time(), time.perf_counter()
        if i < WARMUP:
            continue
        model_only.append((mid - start) * 1e3)
        totals.append((end - mid) * 1e3)
        model_cpu.append((cpu1 - cpu0) * 1e3)
        totals_cpu.append((cpu2 - cpu1) * 1e3)
        for s in STAGES:
            stages[s].append(result.timings[s])
    row = {s: median(v) for s, v in stages.items()}
    row["total"] = median(totals)
    row["model_only"] = median(model_only)
    row["ratio"] = round(row["total"] / row["model_only"], 2)
    row["p90_total"] = round(float(np.percentile(totals, 90)), 3)
    # CPU time of this thread (ORT with 1 thread runs in the caller): less sensitive to other processes.
    row["total_cpu"] = median(totals_cpu)
    row["model_only_cpu"] = median(model_cpu)
    row["ratio_cpu"] = round(row["total_cpu"] / row["model_only_cpu"], 2)
    row["cropped_frames"] = pipe._crop.crops
    return row


def markdown(rows: list[dict], load: tuple[float, float, float]) -> str:
    """The docs/benchmarks.md table for these rows."""
    lines = [
        f"Load average at the end of the run: {load[0]:.1f} (2 cores). Milliseconds, medians.",
        "",
        "| size | effect | resize | inference | mask | compose | total (wall) | model only | ratio "
        "| total (CPU) | model (CPU) | ratio (CPU) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['effect']} | {r['resize']:.2f} | {r['inference']:.2f} | {r['mask']:.2f} "
            f"| {r['compose']:.2f} | {r['total']:.2f} | {r['model_only']:.2f} | {r['ratio']:.2f} "
            f"| {r['total_cpu']:.2f} | {r['model_only_cpu']:.2f} | {r['ratio_cpu']:.2f} |"
        )
    return "\n".join(lines)


def measure(seg: Segmenter, n: int, log: Callable[[str], object] = print) -> list[dict[str, Any]]:
    """Every size x effect row, printed as it is measured."""
    base, _ = sample_frames()
    bg_path = background_image()
    rows = []
    columns = (*STAGES, "total", "model", "ratio", "cpu tot", "cpu mod", "cpu rat")
    log(f"{'size':>10} {'effect':>8} " + " ".join(f"{c:>9}" for c in columns))
    for width, height in SIZES:
        frames = [bg.cover_fit(f, (width, height)) for f in base]
        for effect in EFFECTS:
            takes_image = spec_for(effect).takes("background")
            params = EffectParams(effect=effect, strength=50, background=bg_path if takes_image else None)
            row = {"size": f"{width}x{height}", "effect": effect, **run_effect(seg, frames, params, n)}
            target = TARGETS_MS.get((width, height)) if effect == "blur" else None
            verdict = ""
            if target is not None:
                row["target_ms"] = target
                row["meets_target"] = row["total"] <= target
                row["meets_target_cpu"] = row["total_cpu"] <= target
                verdict = (f"  target {target:.0f} ms: wall {'ok' if row['meets_target'] else 'MISSED'}, "
                           f"cpu {'ok' if row['meets_target_cpu'] else 'MISSED'}")
            rows.append(row)
            cells = [row[s] for s in STAGES] + [row[k] for k in SUMMARY]
            log(f"{row['size']:>10} {effect:>8} " + " ".join(f"{c:>9.2f}" for c in cells) + verdict)
    return rows


def describe(seg: Segmenter) -> str:
    """What ran: `auto` uses the general model for 4:3 frames and the landscape one for 16:9."""
    return (f"Segmenter(auto): selfie-general for 640x480, selfie-landscape for 16:9, "
            f"{seg.variant.precision} on {seg.provider}")


def machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "opencv": cv2.__version__, "numpy": np.__version__,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def run_benchmark(frames: int = 200, json_path: Path | None = None, device: Device = "cpu") -> int:
    from desktop_app.core.segmenter import Segmenter

    cv2.setNumThreads(1)
    seg = Segmenter(device=device, threads=1)
    label = describe(seg)
    print(f"model: {label}; {frames} frames per row (medians, ms)")
    rows = measure(seg, frames)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print("\n" + markdown(rows, load))
    if json_path is not None:
        result = {"benchmark": "core", "model": label, "frames_per_row": frames, "ort_threads": 1,
                  "cv2_threads": cv2.getNumThreads(), "machine": machine(), "rows": rows}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {json_path}")
    return 0
