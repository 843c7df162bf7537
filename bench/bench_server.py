"""On the device or on a server? The app's segmentation + blur, in-process vs behind a loopback HTTP server.

Three ways on the same frames (the bundled walk.mp4, cover-fitted to 640x480 and 1280x720):
  in-process  desktop_app.core's Segmenter + Pipeline on a processing thread fed by a capture thread (the app's way);
  python      the same Pipeline behind FastAPI + uvicorn (bench/server_py.py), JPEG in and out (quality 90, 4:2:0);
  node        onnxruntime-node + a JS port of the blur compose + sharp (bench/server_node/server.js).
Per size: one live client (latency median/p99, fps), 1..64 closed-loop clients, server-side micro-batching
(python: 1..64 frames per model call), the servers' RSS, and one client with a simulated one-way network delay
(10/30/80 ms slept before each send and after each reply) without and with pipelining, against a 30 fps camera.
Servers bind only to 127.0.0.1 on an ephemeral port and stop by themselves. Writes bench/results/server.json and
bench/results/server.png.

    bash tools/make_server_venv.sh && .venvs/server/bin/python bench/bench_server.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import simplejpeg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from server_clients import LiveRun, closed_loop, encode, in_process  # noqa: E402
from server_lib import ServerProcess, dynamic_batch_model, max_one_way_delay_ms, memory_mb, pipeline_depth  # noqa: E402
from server_plot import _ms, plot, tables  # noqa: E402

from desktop_app.benchmark import describe, machine, sample_frames  # noqa: E402
from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

SIZES = ((640, 480), (1280, 720))
LEVELS = (1, 2, 4, 8, 16, 32, 64)
DELAYS_MS = (0.0, 10.0, 30.0, 80.0)
FRAME_BUDGET = 1000.0 / 30.0
NODE_DIR = REPO / "bench" / "server_node"


RSS_CHILD = """
import os, sys, time
import numpy as np
import simplejpeg
sys.path.insert(0, {repo!r})
sys.path.insert(0, {bench!r})
from server_lib import memory_mb
from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.segmenter import Segmenter
pipeline = Pipeline(Segmenter(device="cpu"), EffectParams(effect="blur"), temporal=True)
frames = np.load({frames!r})
for i in range(30):
    pipeline.process(Frame(np.ascontiguousarray(frames[i % len(frames)]), time.perf_counter(), i, "camera"))
print(memory_mb(os.getpid())["peak_mb"] - frames.nbytes / 2**20)  # VmHWM (ru_maxrss counts the parent's), less input
"""


def in_process_rss(frames: list) -> float:
    """Peak RSS (MB) of a process that only runs the app's core on these frames (handed over as .npy, so no video
    decoder is loaded): what the app's pipeline costs, without this benchmark's HTTP client and plotting."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.npy"
        np.save(path, np.stack(frames[:5]))
        code = RSS_CHILD.format(repo=str(REPO), bench=str(REPO / "bench"), frames=str(path))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return round(float(out.stdout.split()[-1]), 1)


def server_cmd(kind: str, timeout_s: float, batch: int = 1,
               models: Path | None = None) -> tuple[list[str], Path | None]:
    if kind == "node":
        extra = ["--batch", str(batch), "--models", str(models)] if models is not None else []
        return ["node", "server.js", "--timeout", str(timeout_s), *extra], NODE_DIR
    return [sys.executable, str(REPO / "bench" / "server_py.py"), "--batch", str(batch),
            "--timeout", str(timeout_s)], None


def batch_models(folder: Path) -> Path:
    """Dynamic-batch copies of the two bundled segmentation models, for the Node server's batching runs."""
    from desktop_app.core import models

    manifest = models.load_manifest()
    for model_id in ("selfie-general", "selfie-landscape"):
        variant = models.choose_variant(manifest.get(model_id), gpu=False)
        (folder / variant.path.name).write_bytes(dynamic_batch_model(variant.path))
    return folder


def run_server(kind: str, frames: list, jpegs: list[bytes], args: argparse.Namespace, batching: bool) -> dict:
    """Every run against one server of `kind`; with `batching`, the python server's micro-batch sweep instead."""
    cmd, cwd = server_cmd(kind, args.server_timeout, batch=max(LEVELS) if batching else 1,
                          models=args.batch_models if batching and kind == "node" else None)
    out: dict = {}
    with ServerProcess(cmd, cwd=cwd) as server:
        out["listening"] = f"127.0.0.1:{server.port}"
        url = server.url
        warm_up(url, jpegs)
        pid = server.proc.pid  # type: ignore[union-attr]
        idle = memory_mb(pid)["rss_mb"]  # models loaded, warm, before any load
        if batching:
            out["batching"] = []
            for n in args.levels:
                httpx.post(f"{url}/batch/{n}", trust_env=False).raise_for_status()
                row = asyncio.run(closed_loop(url, jpegs, n, args.seconds))
                stats = httpx.get(f"{url}/stats", trust_env=False).json()
                out["batching"].append({"batch": n, **row, "mean_batch": round(stats["mean_batch"], 2)})
                print(f"    batch {n:>2}: {row['fps']:6.1f} fps, median {_ms(row['median_ms'])} ms, "
                      f"p99 {_ms(row['p99_ms'])} ms, mean batch {stats['mean_batch']:.1f}", flush=True)
        else:
            out["live"] = asyncio.run(LiveRun(url, frames, args.seconds).run())
            print(f"    one live client: {out['live']}", flush=True)
            out["clients"] = []
            for n in args.levels:
                row = asyncio.run(closed_loop(url, jpegs, n, args.seconds))
                out["clients"].append(row)
                print(f"    {n:>2} clients: {row['fps']:6.1f} fps, median {_ms(row['median_ms'])} ms, "
                      f"p99 {_ms(row['p99_ms'])} ms", flush=True)
            out["delay"] = delay_runs(url, frames, args)
        out["rss"] = {"idle_mb": idle, "peak_mb": memory_mb(pid)["peak_mb"]}
        print(f"    server RSS: {out['rss']}", flush=True)
    assert server.proc is not None and server.proc.poll() is not None, "the server outlived its run"
    return out


def warm_up(url: str, jpegs: list[bytes], requests: int = 3) -> None:
    """A few requests first: the model loaded (and its batched copy made), the code paths warm."""
    with httpx.Client(trust_env=False, timeout=120.0) as http:
        for i in range(requests):
            http.post(f"{url}/compose", content=jpegs[i % len(jpegs)], headers={"x-client": "warm-up"})


def delay_runs(url: str, frames: list, args: argparse.Namespace) -> list[dict]:
    """One client and a 30 fps camera at each delay: one request at a time, then pipelined (`pipeline_depth`
    requests in flight, from the service time measured at the first delay, 0 ms)."""
    rows = []
    service = None
    for delay in args.delays:
        plain = asyncio.run(LiveRun(url, frames, args.seconds, delay, 1, 30.0).run())
        if service is None:
            service = plain["median_ms"]  # the round trip at 0 ms: the service time the client sees
        depth = pipeline_depth(service or FRAME_BUDGET, delay)
        piped = asyncio.run(LiveRun(url, frames, args.seconds, delay, depth, 30.0).run())
        rows += [plain, piped]
        print(f"    delay {delay:>4.0f} ms: one at a time {plain['fps']:5.1f} fps median {_ms(plain['median_ms'])} "
              f"ms | {depth} in flight {piped['fps']:5.1f} fps median {_ms(piped['median_ms'])} ms", flush=True)
    return rows


def port_difference(jpegs: list[bytes]) -> dict:
    """How far the Node port's output is from the app's pipeline over a run of frames (one client, from a fresh
    history on both servers): mean and p99 absolute difference in 8-bit levels over all frames, and how much
    the effect changed the frames at all (the app's output against its input)."""
    outputs: dict[str, list[np.ndarray]] = {}
    for kind in ("python", "node"):
        cmd, cwd = server_cmd(kind, 120)
        with ServerProcess(cmd, cwd=cwd) as server, httpx.Client(trust_env=False, timeout=120.0) as http:
            outputs[kind] = []
            for i, jpeg in enumerate(jpegs):
                reply = http.post(f"{server.url}/compose", content=jpeg,
                                  headers={"x-client": "port-check", "x-frame": str(i)})
                reply.raise_for_status()
                outputs[kind].append(simplejpeg.decode_jpeg(reply.content, colorspace="RGB").astype(np.int16))
    node, app = np.stack(outputs["node"]), np.stack(outputs["python"])
    source = np.stack([simplejpeg.decode_jpeg(j, colorspace="RGB").astype(np.int16) for j in jpegs])
    diff = np.abs(node - app)
    return {"frames": len(jpegs), "mean_abs_levels": round(float(diff.mean()), 3),
            "p99_abs_levels": float(np.percentile(diff, 99)), "max_abs_levels": int(diff.max()),
            "app_output_vs_input_mean_abs_levels": round(float(np.abs(app - source).mean()), 3)}


def crossovers(size_result: dict) -> dict:
    """The points the docs state: from the measured rows of one size."""
    local_fps = size_result["in_process"]["fps"]
    out: dict = {"in_process_fps": local_fps}
    for kind in ("python", "node"):
        res = size_result.get(kind)
        if not res:
            continue
        plain = [r for r in res["delay"] if r["depth"] == 1]
        piped = [r for r in res["delay"] if r["depth"] > 1]
        failing = [r["delay_ms"] for r in plain if r["fps"] < 0.95 * 30.0]
        out[kind] = {
            "one_at_a_time_fails_30fps_from_delay_ms": min(failing) if failing else None,
            # from one client's unpaced round trip (no camera wait): the service time a request costs
            "model_max_one_way_delay_ms": round(max_one_way_delay_ms(res["live"]["median_ms"] or 1e9), 1),
            "pipelined_fps_by_delay": {str(r["delay_ms"]): r["fps"] for r in piped},
            "pipelined_median_ms_by_delay": {str(r["delay_ms"]): r["median_ms"] for r in piped},
            "clients_beating_in_process": next((r["clients"] for r in res["clients"] if r["fps"] > local_fps), None),
            "best_clients_fps": max(r["fps"] for r in res["clients"]),
        }
    for kind in ("python", "node"):
        batching = size_result.get(f"{kind}_batching", {}).get("batching", [])
        if batching and kind in out:
            out[kind]["batch_beating_in_process"] = next((r["batch"] for r in batching if r["fps"] > local_fps), None)
            out[kind]["best_batch_fps"] = max(r["fps"] for r in batching)
    return out


def measure_size(seg: Segmenter, base: list, size: tuple[int, int], args: argparse.Namespace, node: bool,
                 result: dict) -> None:
    """In-process, then each server, on the same frames at one size; into result["sizes"]["WxH"]."""
    key = f"{size[0]}x{size[1]}"
    frames = [bg.cover_fit(f, size) for f in base]
    jpegs = [encode(f) for f in frames]
    print(f"{key}: in-process", flush=True)
    size_result: dict = {"jpeg_kb": round(sum(map(len, jpegs)) / len(jpegs) / 1024, 1)}
    size_result["in_process"] = in_process(seg, frames, args.seconds)
    size_result["in_process"]["rss_mb"] = in_process_rss(frames)
    print(f"    {size_result['in_process']}", flush=True)
    for kind, batching in (("python", False), ("python_batching", True), ("node", False), ("node_batching", True)):
        if kind.startswith("node") and not node:
            continue
        print(f"{key}: {kind}", flush=True)
        size_result[kind] = run_server(kind.split("_")[0], frames, jpegs, args, batching)
    if node:
        size_result["node_port_vs_app"] = port_difference(jpegs[:12])
        print(f"    node port vs the app's output: {size_result['node_port_vs_app']}", flush=True)
    size_result["crossovers"] = crossovers(size_result)
    result["sizes"][key] = size_result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (1 s per row, fewer levels)")
    parser.add_argument("--seconds", type=float, default=2.5, help="measured seconds per row (after 0.5 s of warm-up)")
    parser.add_argument("--no-node", action="store_true")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "server.json")
    parser.add_argument("--png", type=Path, default=REPO / "bench" / "results" / "server.png")
    args = parser.parse_args(argv)
    args.levels, args.delays = LEVELS, DELAYS_MS
    if args.quick:
        args.seconds, args.levels, args.delays = 1.0, (1, 4), (0.0, 30.0)
    args.server_timeout = 900 if not args.quick else 120
    node = not args.no_node and shutil.which("node") is not None and (NODE_DIR / "node_modules").is_dir()
    started = time.time()
    seg = Segmenter(device="cpu")  # the app's defaults: one onnxruntime thread, OpenCV's default threads
    base, frames_label = sample_frames(48)
    result: dict = {
        "benchmark": "server", "model": describe(seg), "frames_source": frames_label,
        "jpeg": "simplejpeg (libjpeg-turbo) in Python, sharp (libvips) in Node; quality 90, 4:2:0, both ways",
        "delay_model": "client-side: the one-way delay slept before each send and after each reply "
                       "(no bandwidth limit, no jitter); a 30 fps camera",
        "cv2_threads": cv2.getNumThreads(), "seconds_per_row": args.seconds, "quick": args.quick,
        "load_average_start": list(os.getloadavg()), "machine": machine(), "sizes": {},
    }
    if not node:
        result["node_skipped"] = "node or bench/server_node/node_modules missing (bash tools/make_server_venv.sh)"
    with tempfile.TemporaryDirectory() as tmp:
        args.batch_models = batch_models(Path(tmp))
        for width, height in SIZES:
            measure_size(seg, base, (width, height), args, node, result)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({**result, "partial": True}, indent=2) + "\n")  # kept if cut short
    result["load_average_end"] = list(os.getloadavg())
    result["wall_s"] = round(time.time() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.png)
    print("\n" + tables(result) + "\n")
    print(f"wrote {args.json} and {args.png} in {result['wall_s']} s; load average {result['load_average_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
