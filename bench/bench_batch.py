"""Batch throughput on 12-megapixel JPEGs, exactly the way `python main.py process` runs them.

Makes --images synthetic 4000x3000 JPEGs (the sample photos cover-fitted, mirrored/shifted per image, with
a little grain so they compress like camera photos) in a temporary folder, then for the effects blur (JPEG
out) and remove (transparent PNG out) builds the Segmenter, Pipeline and Batch the way
`desktop_app.cli.run_process` does and times `Batch.run` over the folder, in rounds alternating the effects.
Then times read_image / Pipeline.process / write_image separately per image (where the time goes) and a few
alternatives for the slow parts (PNG compression level, decoding). Prints tables, writes
bench/results/batch.json.

    python bench/bench_batch.py [--images 12] [--rounds 2] [--parts-images 4]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.cli import build_parser, params_from_args  # noqa: E402
from desktop_app.core.batch import Batch, plan  # noqa: E402
from desktop_app.core.effects.background import cover_fit  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.imageio import output_stem, read_image, write_image  # noqa: E402
from desktop_app.core.pipeline import STAGES, Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

SIZE = (4000, 3000)
RUNS = (("blur", "jpg"), ("remove", "png"))
SAMPLES = REPO / "assets" / "samples"


def ms_stats(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"median": round(float(np.median(arr)), 1), "p90": round(float(np.percentile(arr, 90)), 1),
            "n": len(values)}


def make_inputs(folder: Path, count: int) -> list[Path]:
    """`count` different 4000x3000 RGB JPEGs (quality 92, no metadata) from the sample photos."""
    samples = [read_image(p).rgb for p in sorted(SAMPLES.glob("*.jpg"))]
    if not samples:
        raise SystemExit(f"no sample photos in {SAMPLES}")
    rng = np.random.default_rng(12)
    paths = []
    for i in range(count):
        src = samples[i % len(samples)]
        if (i // len(samples)) % 2:
            src = src[:, ::-1]
        h, w = src.shape[:2]
        dy, dx = (i * 7) % max(1, h // 10), (i * 11) % max(1, w // 10)  # a different 90% crop per image
        crop = np.ascontiguousarray(src[dy : dy + h * 9 // 10, dx : dx + w * 9 // 10])
        big = cv2.resize(crop, SIZE, interpolation=cv2.INTER_CUBIC) if crop.shape[1] < SIZE[0] else crop
        big = cover_fit(big, SIZE)
        grain = rng.normal(0.0, 3.0, size=(SIZE[1] // 2, SIZE[0] // 2, 1)).astype(np.float32)
        grain = cv2.resize(grain, SIZE, interpolation=cv2.INTER_NEAREST)[..., None]
        photo = np.clip(big.astype(np.float32) + grain, 0, 255).astype(np.uint8)
        path = folder / f"photo_{i:02d}.jpg"
        Image.fromarray(photo).save(path, format="JPEG", quality=92)
        paths.append(path)
    return paths


def cli_batch(in_dir: Path, out_dir: Path, effect: str, fmt: str) -> dict[str, Any]:
    """`main.py process IN --effect E --format F --out OUT` minus the printing: the same objects, timed."""
    args = build_parser().parse_args(["process", str(in_dir), "--effect", effect, "--format", fmt,
                                      "--out", str(out_dir)])
    params = params_from_args(args)
    jobs, failures = plan(args.paths, args.out)
    t0 = time.perf_counter()
    segmenter = Segmenter(args.model, device=args.device)  # as cli_models.segmenter_or_exit
    pipeline = Pipeline(segmenter, params, temporal=True)
    t1 = time.perf_counter()
    report = Batch(pipeline, params, args.format).run(jobs)
    t2 = time.perf_counter()
    if failures or report.failed or len(report.succeeded) != len(jobs):
        raise SystemExit(f"batch failed: {[o.error for o in failures + report.failed]}")
    out_bytes = sum(o.output.stat().st_size for o in report.succeeded if o.output is not None)
    return {"images": len(jobs), "seconds": t2 - t1, "images_per_s": len(jobs) / (t2 - t1),
            "setup_ms": (t1 - t0) * 1e3, "per_image_s": [o.seconds for o in report.succeeded],
            "output_mb": out_bytes / 2**20, "provider": segmenter.provider}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - t0) * 1e3


def breakdown(paths: list[Path], out_root: Path) -> dict[str, dict[str, Any]]:
    """read_image / Pipeline.process / write_image timed separately per image, effects interleaved."""
    parts: dict[str, dict[str, list[float]]] = {e: {k: [] for k in ("read", "process", "write", *STAGES)}
                                                 for e, _ in RUNS}
    pipes = {}
    for effect, fmt in RUNS:
        args = build_parser().parse_args(["process", str(paths[0]), "--effect", effect, "--format", fmt])
        params = params_from_args(args)
        pipes[effect] = (Pipeline(Segmenter(args.model, device=args.device), params, temporal=True), params, fmt)
    for path in paths:
        for effect, (pipeline, params, fmt) in pipes.items():
            image, read_ms = timed(lambda p=path: read_image(p))
            pipeline.set_params(params)
            pipeline.reset()
            result, process_ms = timed(lambda p=pipeline, i=image, s=path: p.process(
                Frame(i.rgb, time.perf_counter(), 0, str(s))))
            _, write_ms = timed(lambda r=result, s=path, p=params, f=fmt: write_image(
                r.pixels, out_root / p.effect, output_stem(s, p.effect), f, inputs=[s]))
            row = parts[effect]
            row["read"].append(read_ms)
            row["process"].append(process_ms)
            row["write"].append(write_ms)
            for stage in STAGES:
                row[stage].append(result.timings[stage])
    return {e: {k: ms_stats(v) for k, v in row.items()} for e, row in parts.items()}


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    return round(float(np.median([timed(fn)[1] for _ in range(repeat)])), 1)


def probes(paths: list[Path], repeat: int) -> dict[str, Any]:
    """Alternatives for the slow parts, on the same data: decoding and PNG/JPEG encoding settings."""
    path = paths[0]
    rgb = read_image(path).rgb
    segmenter = Segmenter("selfie-general", device="auto")
    args = build_parser().parse_args(["process", str(path), "--effect", "remove"])
    rgba = Pipeline(segmenter, params_from_args(args), temporal=True).process(Frame(rgb, 0.0)).pixels
    pil_rgba, pil_rgb = Image.fromarray(rgba, mode="RGBA"), Image.fromarray(rgb, mode="RGB")

    def encoded(image: Image.Image, **kwargs: Any) -> int:
        buf = io.BytesIO()
        image.save(buf, **kwargs)
        return buf.tell()

    def pil_decode(to_array: bool = False) -> None:
        with Image.open(path) as im:
            im.load()
            if to_array:
                np.asarray(im)

    out: dict[str, Any] = {"read_ms": {
        "read_image (ours: open, EXIF, convert)": median_ms(lambda: read_image(path), repeat),
        "PIL open + load only": median_ms(pil_decode, repeat),
        "PIL open + load + np.asarray": median_ms(lambda: pil_decode(True), repeat),
        "PIL open + load + convert('RGB') + np.asarray": median_ms(lambda: np.asarray(Image.open(path).convert("RGB")),
                                                                   repeat),
        "cv2.imread + BGR2RGB": median_ms(lambda: cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), repeat),
    }}
    png: dict[str, Any] = {}
    for level in (1, 3, 6):
        ms = median_ms(lambda lv=level: encoded(pil_rgba, format="PNG", compress_level=lv), repeat)
        png[f"PIL compress_level={level}"] = {"ms": ms, "mb": round(encoded(pil_rgba, format="PNG",
                                                                          compress_level=level) / 2**20, 1)}
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    png["cv2.imencode level 1"] = {
        "ms": median_ms(lambda: cv2.imencode(".png", cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA),
                                             [cv2.IMWRITE_PNG_COMPRESSION, 1]), repeat),
        "mb": round(len(buf) / 2**20, 1) if ok else None}
    out["png_rgba_12mp"] = png
    out["jpeg_rgb_12mp_ms"] = {
        "PIL quality=92 (ours)": median_ms(lambda: encoded(pil_rgb, format="JPEG", quality=92), repeat),
        "cv2.imencode quality=92": median_ms(lambda: cv2.imencode(
            ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]), repeat),
    }
    return out


def git_head() -> str:
    import subprocess

    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()


def machine_info() -> dict[str, Any]:
    import onnxruntime as ort
    import PIL

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").is_file() else ""
    return {"cpu": cpu, "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "onnxruntime": ort.__version__, "opencv": cv2.__version__, "numpy": np.__version__,
            "pillow": PIL.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2, help="timed batch runs per effect (alternating)")
    parser.add_argument("--parts-images", type=int, default=4, help="images timed stage by stage")
    parser.add_argument("--probe-repeat", type=int, default=2)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "batch.json")
    args = parser.parse_args(argv)
    load = [os.getloadavg()]
    started = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e, _ in RUNS}
    with tempfile.TemporaryDirectory(prefix="locallens-batch-") as tmp:
        in_dir, out_root = Path(tmp) / "in", Path(tmp) / "out"
        in_dir.mkdir()
        paths = make_inputs(in_dir, args.images)
        input_mb = sum(p.stat().st_size for p in paths) / 2**20
        print(f"{len(paths)} inputs {SIZE[0]}x{SIZE[1]} JPEG, {input_mb:.1f} MB; load {load[0][0]:.2f}")
        for r in range(args.rounds):
            order = RUNS if r % 2 == 0 else RUNS[::-1]
            for effect, fmt in order:
                out_dir = out_root / f"{effect}-{r}"
                run = cli_batch(in_dir, out_dir, effect, fmt)
                shutil.rmtree(out_dir)
                runs[effect].append(run)
                print(f"  round {r + 1} {effect:>6} -> {fmt}: {run['images_per_s']:.2f} images/s "
                      f"({run['seconds']:.1f} s)", flush=True)
            load.append(os.getloadavg())
        parts = breakdown(paths[: args.parts_images], out_root / "parts")
        load.append(os.getloadavg())
        probe = probes(paths, args.probe_repeat)
        load.append(os.getloadavg())

    rows = []
    print(f"\nbatch throughput, {args.images} x 12 MP JPEG, median of {args.rounds} runs (python main.py process)")
    print(f"{'effect':>7} {'out':>4} {'img/s':>6} {'min':>6} {'max':>6} {'s/img':>6} {'read':>7} {'process':>8} "
          f"{'write':>7}   (read/process/write: median ms per image, timed separately)")
    for effect, fmt in RUNS:
        rates = [run["images_per_s"] for run in runs[effect]]
        p = parts[effect]
        row = {"effect": effect, "format": fmt, "images": args.images,
               "images_per_s": round(float(np.median(rates)), 3),
               "images_per_s_min": round(min(rates), 3), "images_per_s_max": round(max(rates), 3),
               "seconds_per_image_median": round(float(np.median([s for run in runs[effect]
                                                                  for s in run["per_image_s"]])), 3),
               "output_mb_per_image": round(runs[effect][0]["output_mb"] / args.images, 2),
               "setup_ms": round(float(np.median([run["setup_ms"] for run in runs[effect]])), 1),
               "parts_ms": p}
        rows.append(row)
        print(f"{effect:>7} {fmt:>4} {row['images_per_s']:>6.2f} {row['images_per_s_min']:>6.2f} "
              f"{row['images_per_s_max']:>6.2f} {row['seconds_per_image_median']:>6.2f} "
              f"{p['read']['median']:>7.0f} {p['process']['median']:>8.0f} {p['write']['median']:>7.0f}")
    print("\nprocess stages (median ms): " + "; ".join(
        f"{r['effect']}: " + ", ".join(f"{s} {r['parts_ms'][s]['median']:.0f}" for s in STAGES) for r in rows))
    print(f"read alternatives (ms): {probe['read_ms']}")
    print(f"PNG RGBA 12 MP encode (ms, MB): {probe['png_rgba_12mp']}")
    print(f"JPEG RGB 12 MP encode (ms): {probe['jpeg_rgb_12mp_ms']}")
    loads = [entry[0] for entry in load]
    print(f"\n1-minute load average during the run: {min(loads):.2f} .. {max(loads):.2f} on {os.cpu_count()} CPUs; "
          f"{time.perf_counter() - started:.0f} s")

    result = {
        "benchmark": "batch",
        "command": "python bench/bench_batch.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "git_head": git_head(),
        "inputs": {"count": args.images, "size": list(SIZE), "format": "JPEG quality 92",
                   "mb_total": round(input_mb, 1), "made_from": "assets/samples/*.jpg cover-fitted, with grain"},
        "how": "desktop_app.cli build_parser/params_from_args + core.batch plan/Batch, Segmenter(model, "
               "device='auto') and Pipeline(temporal=True) as cli.run_process; Batch.run timed",
        "provider": runs[RUNS[0][0]][0]["provider"],
        "rounds": args.rounds,
        "rows": rows,
        "probes": probe,
        "machine": machine_info(),
        "load_average_1min": {"start": load[0][0], "min": min(loads), "max": max(loads),
                              "samples": [round(x, 2) for x in loads]},
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
