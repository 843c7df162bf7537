"""Core benchmark: per-stage medians of Pipeline.process for blur and replace at 480p, 720p and 1080p.

For each size and effect the pipeline and the model alone (`segmenter.predict`) run alternately on the
same frames, so their ratio is measured side by side under the same machine noise. One onnxruntime thread
and one OpenCV thread (the one-core target). Also: where the compose time goes, and refining the mask at
model resolution vs at full resolution. Prints tables and writes bench/results/core.json.

    python bench/bench_core.py [--frames 200] [--json bench/results/core.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.masks import MaskRefiner, upsample  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import STAGES, Pipeline  # noqa: E402

SIZES = ((640, 480), (1280, 720), (1920, 1080))
EFFECTS = ("blur", "replace")
TARGETS_MS = {(1280, 720): 10.0, (1920, 1080): 20.0}  # blur, end to end, one core
WARMUP = 10
SUMMARY = ("total", "model_only", "ratio", "total_cpu", "model_only_cpu", "ratio_cpu")


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


class OrtStandIn:
    """Model-only stand-in until the Segmenter and manifest exist: the same resize and tensor layout."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        from desktop_app.core.resize import resize_corner_aligned

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self._session.get_inputs()[0]
        _, self._h, self._w, _ = meta.shape
        self._name = meta.name
        self._resize = resize_corner_aligned
        self.spec = None
        self.provider = "CPUExecutionProvider"
        self.label = f"onnxruntime on {path.name} (stand-in)"

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        start = time.perf_counter()
        small = self._resize(rgb, (self._w, self._h))
        feed = (small.astype(np.float32) * np.float32(1 / 255.0))[None]
        resized = time.perf_counter()
        out = self._session.run(None, {self._name: feed})[0]
        done = time.perf_counter()
        mask = out.reshape(self._h, self._w).astype(np.float32)
        return mask, {"resize": (resized - start) * 1e3, "inference": (done - resized) * 1e3}


def make_segmenter() -> tuple[object, str]:
    """The real Segmenter (CPU, 1 thread) if the models are there; else onnxruntime on models/*.onnx."""
    try:
        from desktop_app.core.segmenter import Segmenter

        seg = Segmenter(device="cpu", threads=1)
        variant = getattr(seg, "variant", None)
        return seg, f"Segmenter {seg.spec.id} {getattr(variant, 'precision', '?')} on {seg.provider}"
    except Exception as exc:  # no manifest yet: fall back, say so
        onnx_files = sorted((REPO / "models").glob("*.onnx"))
        if not onnx_files:
            raise SystemExit(f"no model to benchmark: {exc}") from exc
        seg = OrtStandIn(onnx_files[0])
        return seg, seg.label


def sample_frames(count: int = 24) -> tuple[list[np.ndarray], str]:
    """RGB frames from assets/samples/walk.mp4, else the sample photos, else synthetic noise."""
    frames: list[np.ndarray] = []
    video = REPO / "assets" / "samples" / "walk.mp4"
    if video.is_file():
        cap = cv2.VideoCapture(str(video))
        while len(frames) < count:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
        if frames:
            return frames, video.name
    photos = sorted((REPO / "assets" / "samples").glob("*.jpg"))
    for path in photos:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is not None:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if frames:
        return frames, ", ".join(p.name for p in photos)
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8) for _ in range(4)], "synthetic noise"


def background_image() -> tuple[Path, str]:
    found = sorted((REPO / "assets" / "backgrounds").glob("*.jpg"))
    if found:
        return found[0], found[0].name
    path = REPO / "bench" / "results" / "_synthetic_background.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    gradient = np.linspace(0, 255, 1920, dtype=np.uint8)[None, :, None].repeat(1080, 0).repeat(3, 2)
    cv2.imwrite(str(path), gradient)
    return path, "synthetic gradient"


def run_effect(seg: object, frames: list[np.ndarray], params: EffectParams, n: int) -> dict:
    """Pipeline and model-only alternately on each frame; medians per stage, and the ratio."""
    pipe = Pipeline(seg, params, temporal=True)  # type: ignore[arg-type]
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    totals: list[float] = []
    model_only: list[float] = []
    totals_cpu: list[float] = []
    model_cpu: list[float] = []
    for i in range(WARMUP + n):
        rgb = frames[i % len(frames)]
        cpu0, start = time.thread_time(), time.perf_counter()
        seg.predict(rgb)  # type: ignore[attr-defined]
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
    return row


def timed(fn: Callable[[], object], n: int) -> float:
    """Median CPU time of this thread in ms (parts are small: wall time would mostly measure neighbours)."""
    values = []
    for _ in range(n):
        start = time.thread_time()
        fn()
        values.append((time.thread_time() - start) * 1e3)
    return median(values)


def compose_parts(seg: object, frame: np.ndarray, size: tuple[int, int], n: int) -> dict:
    """Where the mask and blur-compose time goes at one size (the same mask every call)."""
    width, height = size
    mask_small, _ = seg.predict(frame)  # type: ignore[attr-defined]
    refiner = MaskRefiner(0.5, 0.3, 0.0)
    refined = refiner.refine(mask_small)
    mask = upsample(refined, (height, width))
    alpha = bg.to_alpha(mask)
    blurred = bg.blurred_background(frame, 50, refined)
    return {
        "refine_small": timed(lambda: refiner.refine(mask_small), n),
        "upsample": timed(lambda: upsample(refined, (height, width)), n),
        "to_alpha": timed(lambda: bg.to_alpha(mask), n),
        "blurred_background": timed(lambda: bg.blurred_background(frame, 50, refined), n),
        "blurred_background_plain": timed(lambda: bg.blurred_background(frame, 50), n),
        "blend_edges": timed(lambda: bg.blend_edges(frame, blurred, alpha), n),  # what compose uses
        "blend_full_frame": timed(lambda: bg.blend(frame, blurred, alpha, out=blurred), n),
        "full_res_gaussian_reference": timed(lambda: cv2.GaussianBlur(frame, (0, 0), 16), max(10, n // 10)),
    }


def refine_order(seg: object, frame: np.ndarray, size: tuple[int, int], n: int) -> dict:
    """Refine at model resolution then upsample (what the pipeline does) vs upsample then refine."""
    width, height = size
    mask_small, _ = seg.predict(frame)  # type: ignore[attr-defined]
    refiner = MaskRefiner(0.5, 0.3, 0.0)
    small_first = upsample(refiner.refine(mask_small), (height, width))
    full_first = refiner.refine(upsample(mask_small, (height, width)))
    a, b = small_first > 0.5, full_first > 0.5
    return {
        "refine_then_upsample_ms": timed(lambda: upsample(refiner.refine(mask_small), (height, width)), n),
        "upsample_then_refine_ms": timed(lambda: refiner.refine(upsample(mask_small, (height, width))), n),
        "mean_abs_diff": round(float(np.abs(small_first - full_first).mean()), 4),
        "iou_at_0.5": round(float((a & b).sum() / max(1, (a | b).sum())), 4),
    }


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "core.json")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    seg, seg_label = make_segmenter()
    base, frames_label = sample_frames()
    bg_path, bg_label = background_image()
    print(f"model: {seg_label}; frames: {frames_label}; background: {bg_label}; {args.frames} frames each")

    rows = []
    columns = (*STAGES, "total", "model", "ratio", "cpu tot", "cpu mod", "cpu rat")
    header = f"{'size':>10} {'effect':>8} " + " ".join(f"{c:>9}" for c in columns)
    print(header)
    for width, height in SIZES:
        frames = [bg.cover_fit(f, (width, height)) for f in base]
        for effect in EFFECTS:
            params = EffectParams(effect=effect, strength=50, background=bg_path if effect == "replace" else None)
            row = {"size": f"{width}x{height}", "effect": effect, **run_effect(seg, frames, params, args.frames)}
            target = TARGETS_MS.get((width, height)) if effect == "blur" else None
            if target is not None:
                row["target_ms"] = target
                row["meets_target"] = row["total"] <= target
                row["meets_target_cpu"] = row["total_cpu"] <= target
            rows.append(row)
            cells = [row[s] for s in STAGES] + [row[k] for k in SUMMARY]
            verdict = ""
            if target:
                verdict = (f"  target {target:.0f} ms: wall {'ok' if row['meets_target'] else 'MISSED'}, "
                           f"cpu {'ok' if row['meets_target_cpu'] else 'MISSED'}")
            print(f"{row['size']:>10} {effect:>8} " + " ".join(f"{c:>9.2f}" for c in cells) + verdict)

    parts = {}
    order = {}
    print("\nwhere the mask + blur compose time goes (CPU ms, median):")
    for width, height in SIZES:
        frame = bg.cover_fit(base[0], (width, height))
        key = f"{width}x{height}"
        parts[key] = compose_parts(seg, frame, (width, height), args.frames // 2)
        order[key] = refine_order(seg, frame, (width, height), args.frames // 4)
        print(f"  {key:>10}: " + ", ".join(f"{k} {v:.2f}" for k, v in parts[key].items()))
    print("\nrefine at model resolution then upsample vs upsample then refine (CPU ms, median):")
    for key, values in order.items():
        print(f"  {key:>10}: {values}")

    result = {
        "benchmark": "core",
        "model": seg_label,
        "frames_source": frames_label,
        "background": bg_label,
        "frames_per_row": args.frames,
        "ort_threads": 1,
        "cv2_threads": cv2.getNumThreads(),
        "load_average": list(os.getloadavg()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "opencv": cv2.__version__, "numpy": np.__version__},
        "rows": rows,
        "compose_parts_ms": parts,
        "refine_order": order,
    }
    print("\n" + markdown(rows, os.getloadavg()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
