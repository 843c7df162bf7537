"""LocalLens vs MediaPipe end to end: the same frames, the same compositing, interleaved in one run.

(a) ours: `Pipeline(Segmenter(device="cpu", threads=1), EffectParams(effect), temporal=True).process()`, with the
    live engine's crop around the person (`crop = True`, core.person_crop)
    (resize + inference + mask refine/upsample + compose) in this process.
(b) theirs: MediaPipe's own Python solution `SelfieSegmentation(model_selection=...).process(rgb)` with
    the same model ours uses (1, landscape, for 16:9; 0, general, for 4:3) to its full-resolution mask,
    then the same `MaskRefiner` threshold/feather and `effects.background.compose`,
    in a child process in .venvs/mediapipe (bench/mediapipe_worker.py).

Frames from assets/samples/walk.mp4, cover-fitted to 640x480, 1280x720 and 1920x1080. OpenCV runs one
thread on both sides and onnxruntime one; MediaPipe's graph and TFLite/XNNPACK use threads of their own that
its Python API does not let us set (reported as CPU ms per frame next to wall ms). Blocks of --block frames
alternate between the sides (who goes first alternates too) and rounds cycle over every size/effect, so
machine noise falls on both alike; warm-up frames are not counted.

Two ratios (MediaPipe / ours) per row: `ratio`, of the medians over all frames, and `paired`, the median
over rounds of the ratio of two neighbouring blocks (one per side, measured back to back). This shared
machine changes speed by up to 1.5x from one second to the next; small blocks and pairing cancel that,
where the ratio of overall medians can still mix a fast phase on one side with a slow one on the other.
Prints a table and writes bench/results/vs_mediapipe.json.

    python bench/bench_vs_mediapipe.py [--frames 500] [--block 10] [--sizes 640x480,1280x720]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.core.effects import background as bg  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.masks import upsample  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import STAGES, Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

SIZES = ((640, 480), (1280, 720), (1920, 1080))
EFFECTS = ("blur", "replace")
TARGET_RATIO = 1.5  # theirs / ours, end to end
MP_PYTHON = REPO / ".venvs" / "mediapipe" / "bin" / "python"
WORKER = REPO / "bench" / "mediapipe_worker.py"
VIDEO = REPO / "assets" / "samples" / "walk.mp4"
BACKGROUND = REPO / "assets" / "backgrounds" / "coffee.jpg"
DISTINCT_FRAMES = 30


def stats(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"median": round(float(np.median(arr)), 3), "p90": round(float(np.percentile(arr, 90)), 3),
            "mean": round(float(arr.mean()), 3), "n": len(values)}


def read_video_frames(count: int) -> list[np.ndarray]:
    """`count` RGB frames spread evenly over the clip (so the person moves between them)."""
    cap = cv2.VideoCapture(str(VIDEO))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or count
    wanted = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
    frames, index = [], 0
    while len(frames) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        if index in wanted:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        index += 1
    cap.release()
    if not frames:
        raise SystemExit(f"cannot read frames from {VIDEO}")
    return frames


class MediaPipeWorker:
    """The child process in .venvs/mediapipe, spoken to over JSON lines."""

    def __init__(self, log: IO[bytes]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([str(MP_PYTHON), str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=log, text=True, env=env)
        self.info = self._reply()

    def _reply(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the MediaPipe worker exited (code {self.proc.wait()}); see its log")
        reply = json.loads(line)
        if "error" in reply:
            raise SystemExit(f"MediaPipe worker: {reply['error']}")
        return reply

    def call(self, cmd: str, **kwargs: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kwargs}) + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, SystemExit, json.JSONDecodeError):
            self.call("quit")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Ours:
    """Our side: one Pipeline per size/effect stream (temporal, like live video), frames cycled in order."""

    def __init__(self, segmenter: Segmenter, frames: dict[str, list[np.ndarray]]) -> None:
        self.segmenter, self.frames = segmenter, frames
        self.pipelines: dict[str, Pipeline] = {}
        self.position: dict[str, int] = {}

    def _next_frame(self, key: str, size: str) -> tuple[np.ndarray, int]:
        i = self.position.get(key, 0)
        self.position[key] = i + 1
        frames = self.frames[size]
        return frames[i % len(frames)], i

    def run(self, key: str, size: str, effect: str, n: int, warmup: int) -> dict[str, Any]:
        if key not in self.pipelines:
            params = EffectParams(effect=effect, strength=50,  # type: ignore[arg-type]
                                  background=BACKGROUND if effect == "replace" else None)
            self.pipelines[key] = Pipeline(self.segmenter, params, temporal=True)
            self.pipelines[key].crop = True  # as the live engine runs it (core.person_crop)
        pipe = self.pipelines[key]
        times: dict[str, list[float]] = {"total": [], **{s: [] for s in STAGES}}
        cpu_start = 0.0
        for j in range(warmup + n):
            if j == warmup:
                cpu_start = time.process_time()
            rgb, i = self._next_frame(key, size)
            t0 = time.perf_counter()
            result = pipe.process(Frame(rgb, t0, i, key))
            out = result.pixels
            t1 = time.perf_counter()
            if j < warmup:
                continue
            assert out.shape[:2] == rgb.shape[:2]
            times["total"].append((t1 - t0) * 1e3)
            for s in STAGES:
                times[s].append(result.timings[s])
        return {"times": times, "cpu_ms": (time.process_time() - cpu_start) * 1e3 / max(n, 1)}

    def model(self, key: str, size: str, n: int, warmup: int) -> dict[str, Any]:
        """Model alone to a full-resolution float mask: Segmenter.predict + upsample (MediaPipe's process())."""
        times: list[float] = []
        cpu_start = 0.0
        for j in range(warmup + n):
            if j == warmup:
                cpu_start = time.process_time()
            rgb, _ = self._next_frame(key, size)
            t0 = time.perf_counter()
            small, _ = self.segmenter.predict(rgb)
            mask = upsample(small, rgb.shape[:2])
            t1 = time.perf_counter()
            if j >= warmup:
                assert mask.shape == rgb.shape[:2]
                times.append((t1 - t0) * 1e3)
        return {"times": {"total": times}, "cpu_ms": (time.process_time() - cpu_start) * 1e3 / max(n, 1)}


def source_digest() -> str:
    """sha256 (12 hex) of effects/background.py + masks.py as imported here (the worker reports its own)."""
    import hashlib

    from desktop_app.core import masks

    digest = hashlib.sha256()
    for module in (bg, masks):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:12]


SOURCE_DIGEST = source_digest()


def git_head() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip()


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cpus": os.cpu_count(), "platform": platform.platform()}


def check_mediapipe_venv() -> dict[str, Any]:
    """Versions from the MediaPipe venv, or exit non-zero saying how to create it."""
    how = "create it with: bash tools/make_mediapipe_venv.sh"
    if not MP_PYTHON.is_file():
        print(f"error: the MediaPipe venv is missing ({MP_PYTHON.parent.parent}); {how}", file=sys.stderr)
        raise SystemExit(2)
    done = subprocess.run([str(MP_PYTHON), str(WORKER), "--check"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        print(f"error: the MediaPipe venv does not work ({done.stderr.strip().splitlines()[-1:]}); {how}",
              file=sys.stderr)
        raise SystemExit(2)
    return json.loads(done.stdout.strip().splitlines()[-1])


def block_medians(block_results: list[dict[str, Any]]) -> list[float]:
    return [float(np.median(block["times"]["total"])) for block in block_results]


def paired_ratio(ours: list[float], theirs: list[float]) -> dict[str, float]:
    """Median and quartiles over rounds of theirs/ours for the two block medians of each round (back to back)."""
    ratios = np.asarray(theirs) / np.asarray(ours)
    return {"median": round(float(np.median(ratios)), 2), "p25": round(float(np.percentile(ratios, 25)), 2),
            "p75": round(float(np.percentile(ratios, 75)), 2), "pairs": len(ratios)}


def summarise(block_results: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, list[float]] = {}
    for block in block_results:
        for name, values in block["times"].items():
            merged.setdefault(name, []).extend(values)
    out: dict[str, Any] = {"total": stats(merged.pop("total"))}
    if "total_without_refine" in merged:
        out["total_without_refine"] = stats(merged.pop("total_without_refine"))
    out["parts_median"] = {name: round(float(np.median(v)), 3) for name, v in merged.items()}
    out["cpu_ms_per_frame"] = round(float(np.mean([b["cpu_ms"] for b in block_results])), 3)
    return out


def _paired_text(paired: dict[str, float]) -> str:
    return f"{paired['median']:.2f} ({paired['p25']:.2f}-{paired['p75']:.2f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500, help="measured frames per side, size and effect")
    parser.add_argument("--block", type=int, default=10, help="frames per block before switching sides")
    parser.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES),
                        help="comma-separated WxH frame sizes (default: all three)")
    parser.add_argument("--warmup", type=int, default=10, help="uncounted frames per stream at the start")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "vs_mediapipe.json")
    args = parser.parse_args(argv)
    theirs_versions = check_mediapipe_venv()
    cv2.setNumThreads(1)

    import onnxruntime as ort

    segmenter = Segmenter("auto", device="cpu", threads=1)  # landscape model for 16:9, general for 4:3
    base = read_video_frames(DISTINCT_FRAMES)
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    frames = {f"{w}x{h}": [bg.cover_fit(f, (w, h)) for f in base] for w, h in sizes}
    background = bg.load_background(BACKGROUND)
    rounds = -(-args.frames // args.block)
    streams = [(size, effect) for size in frames for effect in (*EFFECTS, "model")]
    load: list[tuple[float, float, float]] = [os.getloadavg()]
    print(f"ours: onnxruntime {ort.__version__} {segmenter.provider} 1 thread, opencv {cv2.__version__}; theirs: "
          f"mediapipe {theirs_versions['mediapipe']} (opencv {theirs_versions['opencv']}); {rounds} rounds x "
          f"{args.block} frames per side and stream; load {load[0][0]:.2f}")

    results: dict[str, dict[str, list[dict[str, Any]]]] = {f"{s}/{e}": {"ours": [], "theirs": []} for s, e in streams}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="locallens-vsmp-") as tmp, \
            open(Path(tmp) / "worker.log", "w+b") as log:
        paths = {}
        for size, items in frames.items():
            paths[size] = str(Path(tmp) / f"{size}.npy")
            np.save(paths[size], np.stack(items))
        np.save(Path(tmp) / "bg.npy", background)
        worker = MediaPipeWorker(log)
        if worker.info.get("compositing_source_sha256") != SOURCE_DIGEST:
            worker.close()
            raise SystemExit("the compositing code changed on disk between the two imports; run again")
        try:
            worker.call("load", frames=paths, background=str(Path(tmp) / "bg.npy"))
            ours = Ours(segmenter, frames)
            for r in range(rounds):
                n = min(args.block, args.frames - r * args.block)
                for k, (size, effect) in enumerate(streams):
                    key = f"{size}/{effect}"
                    warmup = args.warmup if r == 0 else 0
                    if effect == "model":
                        sides = {"ours": partial(ours.model, key, size, n, warmup),
                                 "theirs": partial(worker.call, "model", key=key, size=size, n=n, warmup=warmup)}
                    else:
                        sides = {"ours": partial(ours.run, key, size, effect, n, warmup),
                                 "theirs": partial(worker.call, "run", key=key, size=size, effect=effect, n=n,
                                                   warmup=warmup)}
                    order = ("ours", "theirs") if (r + k) % 2 == 0 else ("theirs", "ours")
                    for side in order:
                        results[key][side].append(sides[side]())
                load.append(os.getloadavg())
                print(f"  round {r + 1}/{rounds} done, {time.perf_counter() - started:.0f} s, "
                      f"load {load[-1][0]:.2f}", flush=True)
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-3000:])
            raise
        finally:
            worker.close()

    rows, model_rows = [], []
    for size, effect in streams:
        key = f"{size}/{effect}"
        ours_s, theirs_s = summarise(results[key]["ours"]), summarise(results[key]["theirs"])
        blocks = {side: block_medians(results[key][side]) for side in ("ours", "theirs")}
        row = {"size": size, "effect": effect, "ours": ours_s, "theirs": theirs_s,
               "ratio_median": round(theirs_s["total"]["median"] / ours_s["total"]["median"], 2),
               "ratio_p90": round(theirs_s["total"]["p90"] / ours_s["total"]["p90"], 2),
               "ratio_paired": paired_ratio(blocks["ours"], blocks["theirs"]),
               "block_medians": {side: [round(v, 3) for v in values] for side, values in blocks.items()}}
        if effect == "model":
            model_rows.append(row)
        else:
            row["meets_target"] = min(row["ratio_median"], row["ratio_paired"]["median"]) >= TARGET_RATIO
            # If MediaPipe's mask needed no threshold/feather at full resolution (a lower bound for them).
            row["ratio_median_without_their_refine"] = round(
                theirs_s["total_without_refine"]["median"] / ours_s["total"]["median"], 2)
            rows.append(row)

    print("\nend to end, ms per frame (frame in -> composed frame out); ratio = theirs / ours (median, p90); "
          "no-refine: their median without the full-resolution threshold/feather; cpu: CPU ms per frame")
    print(f"{'size':>10} {'effect':>8} {'ours med':>9} {'ours p90':>9} {'mp med':>9} {'mp p90':>9} "
          f"{'ratio':>6} {'paired (p25-p75)':>17} {'ratio90':>7} {'no-refine':>9} {'cpu ours':>9} {'cpu mp':>8}  "
          f"target >= {TARGET_RATIO}x")
    for row in rows:
        o, t = row["ours"], row["theirs"]
        print(f"{row['size']:>10} {row['effect']:>8} {o['total']['median']:>9.2f} {o['total']['p90']:>9.2f} "
              f"{t['total']['median']:>9.2f} {t['total']['p90']:>9.2f} {row['ratio_median']:>6.2f} "
              f"{_paired_text(row['ratio_paired']):>17} "
              f"{row['ratio_p90']:>7.2f} {row['ratio_median_without_their_refine']:>9.2f} "
              f"{o['cpu_ms_per_frame']:>9.2f} {t['cpu_ms_per_frame']:>8.2f}  "
              f"{'ok' if row['meets_target'] else 'MISSED'}")
    print("\nwhere the time goes (medians, ms): ours resize/inference/mask/compose; MediaPipe process/refine/compose")
    for row in rows:
        o, t = row["ours"]["parts_median"], row["theirs"]["parts_median"]
        print(f"{row['size']:>10} {row['effect']:>8}  ours " + " ".join(f"{s} {o[s]:.2f}" for s in STAGES)
              + "  |  mp " + " ".join(f"{s} {v:.2f}" for s, v in t.items()))
    print("\nmodel only, ms per frame to a full-resolution float mask: "
          "ours Segmenter.predict + upsample, MediaPipe process()")
    for row in model_rows:
        o, t = row["ours"], row["theirs"]
        print(f"{row['size']:>10} ours {o['total']['median']:>7.2f} (p90 {o['total']['p90']:.2f}, cpu "
              f"{o['cpu_ms_per_frame']:.2f})  mp {t['total']['median']:>7.2f} (p90 {t['total']['p90']:.2f}, cpu "
              f"{t['cpu_ms_per_frame']:.2f})  ratio {row['ratio_median']:.2f}, paired "
              f"{_paired_text(row['ratio_paired'])}")
    loads = [entry[0] for entry in load]
    print(f"\n1-minute load average during the run: {min(loads):.2f} .. {max(loads):.2f} on {os.cpu_count()} CPUs; "
          f"{time.perf_counter() - started:.0f} s")

    result = {
        "benchmark": "vs_mediapipe",
        "command": "python bench/bench_vs_mediapipe.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "git_head": git_head(),
        "compositing_source_sha256": SOURCE_DIGEST,
        "frames_source": f"{VIDEO.name}: {len(base)} frames spread over the clip, cover-fitted to each size",
        "background": BACKGROUND.name,
        "frames_per_side_and_stream": args.frames,
        "block": args.block,
        "rounds": rounds,
        "warmup_frames": args.warmup,
        "target_ratio": TARGET_RATIO,
        "ours": {"pipeline": "Pipeline(Segmenter('auto', device='cpu', threads=1), temporal=True), crop on",
                 "model": f"{segmenter.spec.id} {getattr(segmenter.variant, 'precision', '?')}",
                 "provider": segmenter.provider, "ort_threads": 1, "cv2_threads": cv2.getNumThreads(),
                 "onnxruntime": ort.__version__, "opencv": cv2.__version__, "numpy": np.__version__,
                 "python": platform.python_version()},
        "theirs": {"solution": "mediapipe.solutions.selfie_segmentation.SelfieSegmentation("
                   "model_selection=1 for 16:9, 0 for 4:3)",
                   "compositing": "desktop_app MaskRefiner.refine(full-res mask) + effects.background.compose",
                   "threads": "MediaPipe graph + TFLite/XNNPACK threads (not settable from its Python API)",
                   **theirs_versions},
        "effect_params": {"strength": 50, "threshold": 0.5, "feather": 0.3, "smoothing": 0.5},
        "machine": machine_info(),
        "load_average_1min": {"start": load[0][0], "min": min(loads), "max": max(loads),
                              "per_round": [round(x, 2) for x in loads]},
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "model_only": model_rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
