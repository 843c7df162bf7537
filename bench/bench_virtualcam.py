"""The virtual camera on a call: fake camera 1280x720 30 fps -> LiveSession (blur) -> VirtualCamera (fake backend).

The real model, the real helper process (`locallens-vcam --backend fake`, which records every frame it gets: its
arrival time.time_ns() and the capture time.time_ns() carried in the frame header). Measures, after a warm-up:
- processed fps (the session's frames through the pipeline per second);
- sink frame interval (between consecutive frames arriving in the helper, repeats included): mean, p50, p99, max;
- capture-to-sink latency (first arrival of each captured frame minus its capture time): median, p95, p99,
  and capture-to-send (up to the session's send to the sinks), so the sink's own share shows;
- the sink's counters (sent, repeated, dropped) and CPU.
Targets (issue #10): processed fps >= 29.5, interval p99 <= 40 ms, latency median <= 25 ms.
Then the sink alone (frames handed to it at 30 fps, no model): its own latency and send() cost.
First the same session runs without the sink (the baseline: what the machine gives the live effect alone), so
on a busy machine the sink's own cost shows apart from the machine's.

A/B (`--sides`): "new" is desktop_app's sink (frames through shared memory, pacing in the helper); "old" is the
sink as it was before (bench/vcam_old: frames through the pipe, pacing in an app thread); "new-si" is "new" with
sys.setswitchinterval(--switch-interval) for the app's threads. The sides alternate for `--rounds` rounds, so a
change in the machine's load hits them alike; the summary gives each side's medians over the rounds. Besides
the app's CPU (all its threads) the helper process's CPU is measured (Linux: /proc/PID/stat). Writes
bench/results/virtualcam.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SAMPLE = REPO / "assets" / "samples" / "walk.mp4"
TARGETS = {"processed_fps_min": 29.5, "interval_p99_ms_max": 40.0, "latency_median_ms_max": 25.0}


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100.0 * (len(ordered) - 1)))]


def read_record(path: Path, since_ns: int, until_ns: int) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in lines if since_ns <= r["t"] <= until_ns]


def make_sink(side: str, record: Path):  # type: ignore[no-untyped-def]
    """The side's VirtualCamera on the fake backend, recording into `record`."""
    if side == "old":
        from bench.vcam_old.virtualcam_old import VirtualCamera as OldCamera
        from bench.vcam_old.virtualcam_old import old_helper_command

        return OldCamera(backend="fake", extra_args=("--record", str(record)), command=old_helper_command())
    from desktop_app.core.virtualcam import VirtualCamera

    return VirtualCamera(backend="fake", extra_args=("--record", str(record)))


def cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of process `pid` (Linux), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace, segmenter, side: str | None, workdir: Path) -> dict:  # type: ignore[no-untyped-def]
    """One paced run; side None is the baseline (the same session without the virtual camera)."""
    from desktop_app.core import live
    from desktop_app.core.params import EffectParams
    from desktop_app.core.sources import VideoFileSource

    with_sink = side is not None
    size, fps = (1280, 720), 30.0
    record = workdir / f"vcam-{time.time_ns()}.jsonl"
    session = live.LiveSession(lambda: VideoFileSource(SAMPLE, size=size), EffectParams(effect="blur"),
                               demo_factory=None, fps=fps)
    cam = make_sink(side or "new", record)
    switch_before = sys.getswitchinterval()
    if side == "new-si":
        sys.setswitchinterval(args.switch_interval)
    if with_sink:
        cam.open(size, fps)  # as the Live tab's toggle does, before the session sends its first frame
        session.add_sink(cam)
    session.set_segmenter(segmenter)
    sent_after: list[float] = []  # capture -> handed to the sinks (the result event follows the sinks' send)
    measuring = threading.Event()

    def on_result(result) -> None:  # type: ignore[no-untyped-def]
        if measuring.is_set() and result.processed:
            sent_after.append((time.perf_counter() - result.frame.timestamp) * 1000)

    session.events.result.connect(on_result)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    session.start()
    try:
        done = threading.Event()
        done.wait(args.warmup)
        t0_ns, cpu0, ta, pa = time.time_ns(), time.process_time(), time.perf_counter(), session.processed
        stats0, helper0 = cam.stats, cpu_seconds(cam.helper_pid) if with_sink else None
        measuring.set()
        done.wait(args.seconds)
        measuring.clear()
        t1_ns, cpu1, tb, pb = time.time_ns(), time.process_time(), time.perf_counter(), session.processed
        stats1, helper1 = cam.stats, cpu_seconds(cam.helper_pid) if with_sink else None
        failure = cam.failure
    finally:
        session.stop()
        sys.setswitchinterval(switch_before)
    out: dict = {
        "side": side or "baseline",
        "switch_interval_s": args.switch_interval if side == "new-si" else switch_before,
        "processed_fps": round((pb - pa) / (tb - ta), 2),
        "capture_to_send_ms": {"median": round(percentile(sent_after, 50), 2),
                               "p95": round(percentile(sent_after, 95), 2)},
        "cpu_percent_of_one_core_app_process": round(100 * (cpu1 - cpu0) / ((t1_ns - t0_ns) / 1e9), 1),
        "load_average_1min": {"start": round(load_start, 2) if load_start is not None else None,
                              "end": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None},
    }
    if not with_sink:
        return out
    lines = read_record(record, t0_ns, t1_ns)
    arrivals = [r["t"] for r in lines]
    intervals = [(b - a) / 1e6 for a, b in itertools.pairwise(arrivals)]
    first_arrival: dict[int, int] = {}
    for r in lines:
        if r["cap"]:
            first_arrival.setdefault(r["cap"], r["t"])
    latencies = [(t - cap) / 1e6 for cap, t in first_arrival.items()]
    seconds = (t1_ns - t0_ns) / 1e9
    out.update({
        "cpu_percent_of_one_core_helper_process": (round(100 * (helper1 - helper0) / seconds, 1)
                                                   if helper0 is not None and helper1 is not None else None),
        "sink_frames": len(lines),
        "sink_new_frames": len(first_arrival),
        "sink_repeats": len(lines) - len(first_arrival),
        "sink_fps": round(len(lines) / ((t1_ns - t0_ns) / 1e9), 2),
        "interval_ms": {"mean": round(statistics.fmean(intervals), 2) if intervals else None,
                        "p50": round(percentile(intervals, 50), 2), "p99": round(percentile(intervals, 99), 2),
                        "max": round(max(intervals), 2) if intervals else None},
        "latency_ms": {"median": round(percentile(latencies, 50), 2), "p95": round(percentile(latencies, 95), 2),
                       "p99": round(percentile(latencies, 99), 2), "frames": len(latencies)},
        # the new sink's counters come from the helper's once-a-second line: about a second off at each end
        "sink": {"sent": stats1.sent - stats0.sent, "repeated": stats1.repeated - stats0.repeated,
                 "dropped": stats1.dropped - stats0.dropped, "failure": failure},
    })
    out["pass"] = {
        "processed_fps": out["processed_fps"] >= TARGETS["processed_fps_min"],
        "interval_p99": out["interval_ms"]["p99"] <= TARGETS["interval_p99_ms_max"],
        "latency_median": out["latency_ms"]["median"] <= TARGETS["latency_median_ms_max"],
    }
    return out


def sink_alone(seconds: float, workdir: Path, side: str) -> dict:
    """The sink without the model: 1280x720 frames handed to it at 30 fps from a thread (what it adds itself)."""
    import numpy as np

    from desktop_app.core.sinks import SinkFrame

    record = workdir / f"alone-{side}-{time.time_ns()}.jsonl"
    cam = make_sink(side, record)
    cam.open((1280, 720), 30.0)
    frames = [np.random.default_rng(i).integers(0, 256, (720, 1280, 3), dtype=np.uint8) for i in range(4)]
    pause, send_ms = threading.Event(), []
    started = time.perf_counter()
    n = 0
    while time.perf_counter() - started < seconds:
        pause.wait(max(0.0, started + n / 30.0 - time.perf_counter()))
        t = time.perf_counter()
        cam.send(SinkFrame(frames[n % len(frames)], t, n))
        send_ms.append((time.perf_counter() - t) * 1000)
        n += 1
    cam.close()
    lines = read_record(record, 0, time.time_ns())
    first_arrival: dict[int, int] = {}
    for r in lines:
        first_arrival.setdefault(r["cap"], r["t"])
    latencies = [(t - cap) / 1e6 for cap, t in first_arrival.items()]
    intervals = [(b["t"] - a["t"]) / 1e6 for a, b in itertools.pairwise(lines)]
    return {"frames_handed": n, "send_ms": {"median": round(percentile(send_ms, 50), 3),
                                            "p99": round(percentile(send_ms, 99), 3)},
            "latency_ms": {"median": round(percentile(latencies, 50), 2), "p95": round(percentile(latencies, 95), 2)},
            "interval_ms": {"p50": round(percentile(intervals, 50), 2), "p99": round(percentile(intervals, 99), 2)},
            "sink": dataclasses.asdict(cam.stats), "side": side}


SUMMARY_KEYS = {"processed_fps": ("processed_fps",), "interval_p99_ms": ("interval_ms", "p99"),
                "interval_max_ms": ("interval_ms", "max"), "latency_median_ms": ("latency_ms", "median"),
                "latency_p95_ms": ("latency_ms", "p95"), "capture_to_send_median_ms": ("capture_to_send_ms", "median"),
                "cpu_app_percent": ("cpu_percent_of_one_core_app_process",),
                "cpu_helper_percent": ("cpu_percent_of_one_core_helper_process",),
                "sink_fps": ("sink_fps",), "sink_repeats": ("sink_repeats",)}


def summarize(runs: list[dict]) -> dict:
    """Per side: the median of each measure over its rounds, and whether the medians meet the targets."""
    out: dict = {}
    for side in dict.fromkeys(r["side"] for r in runs):
        mine = [r for r in runs if r["side"] == side]
        row: dict = {"rounds": len(mine)}
        for key, path in SUMMARY_KEYS.items():
            values = []
            for r in mine:
                value = r
                for part in path:
                    value = value.get(part) if isinstance(value, dict) else None
                if isinstance(value, (int, float)):
                    values.append(value)
            row[key] = round(statistics.median(values), 2) if values else None
        if row.get("interval_p99_ms") is not None:
            row["pass"] = {"processed_fps": row["processed_fps"] >= TARGETS["processed_fps_min"],
                           "interval_p99": row["interval_p99_ms"] <= TARGETS["interval_p99_ms_max"],
                           "latency_median": row["latency_median_ms"] <= TARGETS["latency_median_ms_max"]}
        out[side] = row
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per run")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the same session without the sink first (default: yes)")
    parser.add_argument("--alone-seconds", type=float, default=20.0, help="the sink without the model; 0 skips")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "gpu"))
    parser.add_argument("--sides", default="new", help="comma-separated: new, old, new-si (see the docstring)")
    parser.add_argument("--rounds", type=int, default=1, help="each side this many times, alternating")
    parser.add_argument("--switch-interval", type=float, default=0.001, help="the new-si side's, in seconds")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "virtualcam.json")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    os.environ["LOCALLENS_CONFIG_DIR"] = f"{tmp.name}/config"
    os.environ["LOCALLENS_DATA_DIR"] = f"{tmp.name}/data"
    from desktop_app.core.segmenter import Segmenter

    segmenter = Segmenter(device=args.device)
    result: dict = {
        "what": "fake camera 1280x720 30 fps -> LiveSession (blur, default live quality) -> VirtualCamera "
                "(helper process, fake backend)",
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "provider": segmenter.provider,
        "targets": TARGETS,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }
    sides = [side.strip() for side in args.sides.split(",") if side.strip()]
    unknown = set(sides) - {"new", "old", "new-si"}
    if unknown:
        parser.error(f"unknown sides: {sorted(unknown)}")
    result["sides"], result["rounds"] = sides, args.rounds
    workdir = Path(tmp.name)
    if args.baseline:
        result["baseline_without_sink"] = run(args, segmenter, None, workdir)
    runs = []
    for round_no in range(args.rounds):
        order = sides if round_no % 2 == 0 else sides[::-1]  # ABBA: neither side always runs first
        for side in order:
            runs.append(run(args, segmenter, side, workdir))
            print(json.dumps({k: runs[-1].get(k) for k in ("side", "processed_fps", "interval_ms", "latency_ms",
                                                            "cpu_percent_of_one_core_app_process",
                                                            "cpu_percent_of_one_core_helper_process")}),
                  file=sys.stderr, flush=True)
    result["summary"] = summarize(runs)
    result["virtual_camera_runs"] = runs
    if args.alone_seconds > 0:
        result["sink_alone"] = [sink_alone(args.alone_seconds, workdir, side) for side in sides if side != "new-si"]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
