"""GUI performance: the real window, the real model, the sample video played as a 1280x720 30 fps camera.

Measures (offscreen Qt, so it runs anywhere):
- paced run (`--seconds`, default 20): capture and processed fps, capture-to-paint latency (median, p95),
  GUI-thread timer jitter (a 10 ms timer; p99 of |interval - 10 ms|), inference ms, dropped frames, RSS
  (VmRSS from /proc/self/status every second: start, end, max and the trend over the second half);
- uncapped runs (`--uncapped-seconds`, default 10, per size): the most processed fps at 720p and 1080p with
  blur, and the ratio to the core pipeline alone on the same frames (no GUI, no capture thread);
- startup: the window is up N ms after the process started (`main.py --quit-after 1`, from its log).

Targets: processed fps >= 29.5, latency median <= 20 ms, jitter p99 <= 16 ms, RSS <= 350 MB with no growth.
The 5-minute soak: `python bench/bench_gui.py --seconds 300 --uncapped-seconds 0 --startup-runs 0`.
Prints a table and writes `bench/results/gui.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import onnxruntime  # noqa: E402,F401  # before PySide6 (DLL order on Windows)
from PySide6.QtCore import QElapsedTimer, QEventLoop, QObject, Qt, QTimer, Slot  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

SAMPLE = REPO / "assets" / "samples" / "walk.mp4"
TIMER_MS = 10


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100.0 * (len(ordered) - 1)))]


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per minute."""
    if len(samples) < 3:
        return float("nan")
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else float("nan")


class Probe(QObject):
    """GUI-thread instruments: paint latencies, processed frames, timer intervals, RSS samples."""

    def __init__(self) -> None:
        super().__init__()
        self.latencies = array("d")  # compact: the bench must not be what grows during a 5-minute soak
        self.processed = 0
        self.intervals = array("d")
        self.rss: list[tuple[float, float]] = []
        self.stats: list[object] = []
        self._clock = QElapsedTimer()
        self._last = 0.0
        self._t0 = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TIMER_MS)
        self.timer.timeout.connect(self.on_tick)
        self.rss_timer = QTimer(self)
        self.rss_timer.setInterval(1000)
        self.rss_timer.timeout.connect(self.on_rss)

    def start(self) -> None:
        self.latencies = array("d")
        self.intervals = array("d")
        self.stats.clear()
        self.processed = 0
        self._t0 = time.perf_counter()
        self._clock.start()
        self._last = 0.0
        self.rss = [(0.0, rss_mb())]
        self.timer.start()
        self.rss_timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.rss_timer.stop()

    @Slot()
    def on_tick(self) -> None:
        now = self._clock.nsecsElapsed() / 1e6
        if self._last:
            self.intervals.append(now - self._last)
        self._last = now

    @Slot()
    def on_rss(self) -> None:
        self.rss.append((time.perf_counter() - self._t0, rss_mb()))

    @Slot(float)
    def on_paint(self, latency_ms: float) -> None:
        self.latencies.append(latency_ms)

    @Slot(int)
    def on_processed(self, _count: int) -> None:
        self.processed += 1

    @Slot(object)
    def on_stats(self, stats: object) -> None:
        self.stats.append(stats)


def spin(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if predicate():
            return True
        spin(0.05)
    return predicate()


def measure(window, probe: Probe, seconds: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    slot_puts = window.worker.session._slot.put_count
    dropped = window.worker.session._slot.dropped
    probe.start()
    started, cpu0, gui0 = time.perf_counter(), time.process_time(), time.thread_time()
    spin(seconds)
    elapsed = time.perf_counter() - started
    cpu, gui_cpu = time.process_time() - cpu0, time.thread_time() - gui0  # load-independent costs
    probe.stop()
    puts = window.worker.session._slot.put_count - slot_puts
    jitter = [abs(i - TIMER_MS) for i in probe.intervals]
    inference = [s.inference_ms for s in probe.stats if getattr(s, "inference_ms", None)]
    rss_values = [r for _, r in probe.rss]
    half = [s for s in probe.rss if s[0] >= elapsed / 2]
    return {
        "seconds": round(elapsed, 1),
        "capture_fps": round(puts / elapsed, 2),
        "processed_fps": round(probe.processed / elapsed, 2),
        "latency_median_ms": round(statistics.median(probe.latencies), 1) if probe.latencies else float("nan"),
        "latency_p95_ms": round(percentile(probe.latencies, 95), 1),
        "painted_fps": round(len(probe.latencies) / elapsed, 2),
        "timer_jitter_p99_ms": round(percentile(jitter, 99), 1),
        "timer_jitter_max_ms": round(max(jitter), 1) if jitter else float("nan"),
        "inference_ms_mean": round(statistics.fmean(inference), 2) if inference else float("nan"),
        "dropped": window.worker.session._slot.dropped - dropped,
        "cpu_ms_per_processed_frame": round(1000 * cpu / max(probe.processed, 1), 1),
        "gui_thread_cpu_ms_per_painted_frame": round(1000 * gui_cpu / max(len(probe.latencies), 1), 2),
        "gui_thread_busy_pct": round(100 * gui_cpu / elapsed, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "rss_start_mb": round(rss_values[0], 1),
        "rss_end_mb": round(rss_values[-1], 1),
        "rss_max_mb": round(max(rss_values), 1),
        "rss_trend_mb_per_min_2nd_half": round(slope_per_minute(half), 2),
        "rss_every_30s_mb": [round(r, 1) for t, r in probe.rss if int(t) % 30 == 0],
    }


def core_fps(segmenter, size: tuple[int, int], seconds: float) -> float:  # type: ignore[no-untyped-def]
    """The pipeline alone (blur) on frames of the same video, in this thread: the core's ceiling."""
    from desktop_app.core.params import EffectParams
    from desktop_app.core.pipeline import Pipeline
    from desktop_app.core.sources import VideoFileSource

    source = VideoFileSource(SAMPLE, paced=False, size=size)
    source.open()
    frames = [source.read() for _ in range(60)]
    source.close()
    pipeline = Pipeline(segmenter, EffectParams(effect="blur"), temporal=True)
    for frame in frames[:5]:
        pipeline.process(frame)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pipeline.process(frames[count % len(frames)])
        count += 1
    return count / (time.perf_counter() - started)


def startup_ms(runs: int) -> list[float]:
    """Process start -> window up, from `main.py --quit-after 1` logs (Linux /proc clock)."""
    found: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LOCALLENS_CONFIG_DIR": f"{tmp}/c",
                   "LOCALLENS_DATA_DIR": f"{tmp}/d"}
            subprocess.run([sys.executable, str(REPO / "main.py"), "--camera", str(SAMPLE), "--quit-after", "1"],
                           env=env, capture_output=True, timeout=120, check=False)
            log = Path(tmp, "d", "locallens.log")
            match = re.search(r"(\d+) ms after process start", log.read_text() if log.exists() else "")
            if match:
                found.append(float(match.group(1)))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="paced run length (300 for the soak)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--uncapped-seconds", type=float, default=10.0, help="per size; 0 skips")
    parser.add_argument("--startup-runs", type=int, default=3, help="0 skips")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "gui.json")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    os.environ["LOCALLENS_CONFIG_DIR"] = f"{tmp.name}/config"
    os.environ["LOCALLENS_DATA_DIR"] = f"{tmp.name}/data"

    from desktop_app.core.segmenter import Segmenter
    from desktop_app.core.sources import VideoFileSource
    from desktop_app.ui.app import configure_application, create_app_window

    app = QApplication.instance() or QApplication([sys.argv[0]])
    configure_application(app)
    segmenter = Segmenter(device=args.device)
    parts = create_app_window(SAMPLE, args.device, segmenter_factory=lambda: segmenter)
    window = parts.window
    probe = Probe()
    window.live_view.painted.connect(probe.on_paint)
    window.frames_processed.connect(probe.on_processed)
    window.worker.stats_ready.connect(probe.on_stats)
    uncapped: dict[str, dict[str, object]] = {}
    paced: dict[str, float] = {}
    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "provider": segmenter.provider},
        "settings": {"camera": "assets/samples/walk.mp4 paced at 30 fps", "size": list(window.resolution()),
                     "effect": window.effects.params().effect, "mirror": window.settings.mirror},
    }
    try:
        if not wait_for(lambda: window.processed_count > 0, 30):
            print("no frame was processed", file=sys.stderr)
            return 1
        spin(args.warmup)
        paced = measure(window, probe, args.seconds)
        results["paced_720p30"] = paced
        uncapped: dict[str, dict[str, object]] = {}
        for size in ((1280, 720), (1920, 1080)) if args.uncapped_seconds > 0 else ():
            window.worker.set_source(lambda size=size: VideoFileSource(SAMPLE, paced=False, size=size))
            wait_for(lambda size=size: (r := window.live_view.current_result()) is not None
                     and r.frame.size == size, 10)
            spin(1.0)
            gui = measure(window, probe, args.uncapped_seconds)
            uncapped[f"{size[1]}p"] = {"gui_processed_fps": gui["processed_fps"],
                                       "latency_median_ms": gui["latency_median_ms"],
                                       "capture_fps": gui["capture_fps"], "dropped": gui["dropped"],
                                       "size": list(size)}
        results["uncapped_blur"] = uncapped
    finally:
        parts.close()
    for row in uncapped.values():  # the core alone, with the window's threads stopped
        core = core_fps(segmenter, tuple(row["size"]), min(args.uncapped_seconds, 5.0))  # type: ignore[arg-type]
        row["core_fps"] = round(core, 2)
        row["ratio"] = round(row["gui_processed_fps"] / core, 3)  # type: ignore[operator]
    starts = startup_ms(args.startup_runs)
    results["startup_window_up_ms"] = {"runs": starts, "median": statistics.median(starts) if starts else None}

    print(f"{'measure':34} value      target")
    rows = [("processed fps (720p30 paced)", paced["processed_fps"], ">= 29.5"),
            ("capture fps", paced["capture_fps"], ""),
            ("capture-to-paint median ms", paced["latency_median_ms"], "<= 20"),
            ("capture-to-paint p95 ms", paced["latency_p95_ms"], ""),
            ("GUI timer jitter p99 ms", paced["timer_jitter_p99_ms"], "<= 16"),
            ("inference ms (mean)", paced["inference_ms_mean"], ""),
            ("dropped frames", paced["dropped"], ""),
            ("process CPU ms / processed frame", paced["cpu_ms_per_processed_frame"], "< 66 (2 cores)"),
            ("GUI thread CPU ms / painted frame", paced["gui_thread_cpu_ms_per_painted_frame"], ""),
            ("GUI thread busy %", paced["gui_thread_busy_pct"], ""),
            ("load average during the run", paced["load_average_1min"], "~0 for clean numbers"),
            ("RSS end / max MB", f"{paced['rss_end_mb']} / {paced['rss_max_mb']}", "<= 350"),
            ("RSS trend 2nd half MB/min", paced["rss_trend_mb_per_min_2nd_half"], "~0")]
    for key, row in results["uncapped_blur"].items():  # type: ignore[union-attr]
        rows.append((f"uncapped {key} blur fps (core, ratio)",
                     f"{row['gui_processed_fps']} ({row['core_fps']}, {row['ratio']})", "most"))
    rows.append(("window up after process start ms", results["startup_window_up_ms"]["median"], "<= 1500"))  # type: ignore[index]
    for name, value, target in rows:
        print(f"{name:34} {value!s:10} {target}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
