"""The hour-long call: does the live path's memory stay flat? (issue #10, "A call lasts an hour")

Runs the live path with the fake camera (assets/samples/walk.mp4 at 1280x720, paced at 30 fps, mirrored, blur)
for `--minutes` (default 60), samples RSS every `--interval` s (default 10) and writes bench/results/soak.json:
the samples, the first-minute RSS (the baseline: the model, the first frames and the allocator have settled by
then), max, end, and the growth after the first minute in % and MB/min. Target: growth <= 2 %.

`--path core` drives the Qt-free loop (a capture thread putting into a `FrameSlot`, a processing thread running
`Pipeline.process` and handing each result to the sinks: what `desktop_app/core/live.py` does);
`--path qt` runs the real window offscreen (the `LiveWorker`, QImage conversion, queued signals, painting).
`--sink NAME` (repeatable) attaches a sink from `SINKS`: `null` converts with `sinks.to_rgb` and keeps the
last frame (what a virtual camera does before handing it to its driver); `fake-vcam` is wired to
`desktop_app.core.virtualcam` once it exists (see `_fake_vcam`).

Diagnostics (for finding where memory goes, not for the headline number): `--malloc-stats` adds glibc's
mallinfo2 (heap in use / free, mmapped) to each sample; `--tracemalloc` adds Python-traced memory and the top
growing lines between the first-minute and the last sample; `--gc-types` adds the object counts by type that
grew. Allocator experiments are environment variables (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, ...) or
`--no-malloc-config` (skip `desktop_app.core.memory.configure_allocator`: the behaviour before the fix).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ALLOCATOR: dict[str, int] = {}
if "--no-malloc-config" not in sys.argv:  # as cli.main does it: before numpy, ORT or Qt start any thread
    from desktop_app.core import memory

    ALLOCATOR = memory.configure_allocator()

import onnxruntime  # noqa: E402,F401  # before PySide6 (DLL order on Windows)

SAMPLE = REPO / "assets" / "samples" / "walk.mp4"
SIZE = (1280, 720)
BASELINE_S = 60.0


def rss_mb() -> dict[str, float]:
    """VmRSS and its parts: RssAnon (the process's own memory) and RssFile (mapped libraries and the model,
    which the kernel may drop and read back under memory pressure: a shared machine moves it by tens of MB)."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            found[key] = round(int(rest.split()[0]) / 1024.0, 1)
    return {"rss_mb": found.get("VmRSS", float("nan")), "anon_mb": found.get("RssAnon", float("nan")),
            "file_mb": found.get("RssFile", float("nan"))}


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def malloc_stats() -> dict[str, float] | None:
    """glibc's totals over all arenas in MB: heap in use, heap free (fragmentation), mmapped chunks."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    mb = 1024.0 * 1024.0
    return {"heap_mb": round(info.arena / mb, 1), "in_use_mb": round(info.uordblks / mb, 1),
            "free_mb": round(info.fordblks / mb, 1), "mmap_mb": round(info.hblkhd / mb, 1), "mmaps": info.hblks}


# ---------------------------------------------------------------------------------------------- sinks


class NullSink:
    """Converts every frame like a real sink and keeps the newest (a virtual camera's cost, minus the driver)."""

    name = "null"

    def __init__(self) -> None:
        self.frames = 0
        self.last: Any = None

    def open(self, size: tuple[int, int], fps: float) -> None:
        self.size, self.fps = size, fps

    def send(self, frame: Any) -> None:
        self.last = frame
        self.frames += 1

    def close(self) -> None:
        self.last = None


def _fake_vcam() -> Any:
    """The virtual-camera sink (helper process, frames through shared memory, paced there) on its fake backend."""
    from desktop_app.core import virtualcam

    return virtualcam.fake_sink()


SINKS: dict[str, Callable[[], Any]] = {"null": NullSink, "fake-vcam": _fake_vcam}


# ---------------------------------------------------------------------------------------------- live paths


class CoreLoop:
    """The Qt-free live session (desktop_app/core/live.py) on the fake camera, with the sinks attached to it."""

    def __init__(self, segmenter: Any, sinks: list[Any]) -> None:
        from desktop_app.core.live import LiveSession
        from desktop_app.core.params import EffectParams
        from desktop_app.core.sources import VideoFileSource

        self.session = LiveSession(lambda: VideoFileSource(SAMPLE, size=SIZE), EffectParams(effect="blur"),
                                   demo_factory=lambda: None)
        self.session.set_segmenter(segmenter)
        for sink in sinks:
            self.session.add_sink(sink)

    @property
    def processed(self) -> int:
        return self.session.processed

    def start(self) -> None:
        self.session.start()

    def stop(self) -> None:
        self.session.stop()


class QtLoop:
    """The real window offscreen, as `bench_gui.py` runs it; sinks attached to its live session as the Live
    tab's virtual-camera switch attaches them."""

    def __init__(self, segmenter: Any, sinks: list[Any]) -> None:
        from PySide6.QtWidgets import QApplication

        from desktop_app.ui.app import configure_application, create_app_window

        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        configure_application(self.app)
        self.parts = create_app_window(SAMPLE, "cpu", segmenter_factory=lambda: segmenter)
        self.window = self.parts.window
        for sink in sinks:
            self.window.worker.add_sink(sink)

    @property
    def processed(self) -> int:
        return self.window.worker.processed

    def start(self) -> None:
        pass  # create_app_window started it

    def spin(self, seconds: float) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def stop(self) -> None:
        self.parts.close()


# ---------------------------------------------------------------------------------------------- the soak


def growth(samples: list[dict[str, Any]], key: str = "rss_mb") -> dict[str, float | None]:
    """Baseline = the sample at one minute; growth = the max after it against it, and the trend after it."""
    samples = [{"t": s["t"], "rss_mb": s[key]} for s in samples]
    first = [s["rss_mb"] for s in samples if s["t"] <= BASELINE_S + 1.0] or [samples[0]["rss_mb"]]
    base = first[-1]
    later = [s for s in samples if s["t"] > BASELINE_S + 1.0] or samples[-1:]
    peak, end = max(s["rss_mb"] for s in later), later[-1]["rss_mb"]
    xs, ys = [s["t"] for s in later], [s["rss_mb"] for s in later]
    slope: float | None = None
    if len(xs) >= 3:
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        den = sum((x - mx) ** 2 for x in xs)
        slope = 60.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None
    return {"first_minute_rss_mb": round(base, 1), "max_rss_mb": round(peak, 1), "end_rss_mb": round(end, 1),
            "growth_pct": round(100.0 * (peak - base) / base, 2),
            "growth_end_pct": round(100.0 * (end - base) / base, 2),
            "growth_mb": round(peak - base, 1),
            "trend_mb_per_min": None if slope is None else round(slope, 3)}


def type_counts() -> Counter[str]:
    return Counter(type(o).__name__ for o in gc.get_objects())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--path", choices=("core", "qt"), default="qt")
    parser.add_argument("--sink", action="append", default=[], choices=sorted(SINKS), help="repeatable")
    parser.add_argument("--no-malloc-config", action="store_true", help="the allocator as it was before the fix")
    parser.add_argument("--trim-every", type=float, default=0.0, help="experiment: malloc_trim(0) every N s")
    parser.add_argument("--ort-arena", choices=("default", "off"), default="default",
                        help="experiment: ONNX Runtime's CPU memory arena off")
    parser.add_argument("--malloc-stats", action="store_true")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--gc-types", action="store_true")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "soak.json")
    args = parser.parse_args()

    os.environ.setdefault("LOCALLENS_CONFIG_DIR", f"/tmp/locallens-soak-{os.getpid()}/config")
    os.environ.setdefault("LOCALLENS_DATA_DIR", f"/tmp/locallens-soak-{os.getpid()}/data")
    allocator = ALLOCATOR
    if args.tracemalloc:
        tracemalloc.start(10)
    if args.ort_arena == "off":
        from desktop_app.core import engine

        plain = engine.session_options

        def no_arena(*a: Any, **k: Any) -> Any:
            options = plain(*a, **k)
            options.enable_cpu_mem_arena = False
            return options

        engine.session_options = no_arena  # type: ignore[assignment]
    from desktop_app.core.segmenter import Segmenter

    segmenter = Segmenter(device="cpu")
    sinks = [SINKS[name]() for name in args.sink]
    loop = QtLoop(segmenter, sinks) if args.path == "qt" else CoreLoop(segmenter, sinks)
    wait = loop.spin if isinstance(loop, QtLoop) else time.sleep
    libc = ctypes.CDLL("libc.so.6") if args.trim_every else None

    samples: list[dict[str, Any]] = []
    baseline_snapshot = baseline_types = None
    started = time.perf_counter()
    cpu0 = time.process_time()
    loop.start()
    next_trim = args.trim_every
    try:
        while (t := time.perf_counter() - started) < args.minutes * 60.0 + 1e-6:
            sample: dict[str, Any] = {"t": round(t, 1), **rss_mb(), "frames": loop.processed,
                                      "load1": round(os.getloadavg()[0], 2)}
            if args.malloc_stats:
                sample["malloc"] = malloc_stats()
            if args.tracemalloc:
                sample["traced_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
            samples.append(sample)
            print(json.dumps(sample), flush=True)
            if baseline_snapshot is None and t >= BASELINE_S:
                baseline_snapshot = tracemalloc.take_snapshot() if args.tracemalloc else None
                baseline_types = type_counts() if args.gc_types else None
            step_end = min(t + args.interval, args.minutes * 60.0 + 0.5)
            while (now := time.perf_counter() - started) < step_end:
                if libc is not None and now >= next_trim:
                    libc.malloc_trim(0)
                    next_trim += args.trim_every
                wait(min(step_end - now, args.trim_every or args.interval))
        frames, seconds = loop.processed, time.perf_counter() - started
        cpu = time.process_time() - cpu0
        diag: dict[str, Any] = {}
        if args.tracemalloc and baseline_snapshot is not None:
            stats = tracemalloc.take_snapshot().compare_to(baseline_snapshot, "lineno")
            diag["tracemalloc_top_growth"] = [f"{s.size_diff / 1024:+.1f} KiB {s.count_diff:+d} "
                                              f"{s.traceback[0].filename}:{s.traceback[0].lineno}"
                                              for s in stats[:15]]
        if args.gc_types and baseline_types is not None:
            grown = type_counts() - baseline_types
            diag["gc_types_grown"] = dict(grown.most_common(15))
    finally:
        loop.stop()
    summary = growth(samples)
    anon = {f"anon_{k}": v for k, v in growth(samples, "anon_mb").items()}
    results = {
        "label": args.label,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                    "provider": segmenter.provider},
        "settings": {"path": args.path, "camera": "assets/samples/walk.mp4 paced at 30 fps, mirrored",
                     "size": list(SIZE), "effect": "blur", "sinks": args.sink, "minutes": args.minutes,
                     "interval_s": args.interval, "trim_every_s": args.trim_every,
                     "ort_arena": args.ort_arena, "allocator": allocator,
                     "env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}},
        "processed_fps": round(frames / seconds, 2),
        "cpu_ms_per_frame": round(1000.0 * cpu / max(frames, 1), 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "load_average_over_run": {"mean": round(statistics.fmean(s["load1"] for s in samples), 2),
                                  "max": max(s["load1"] for s in samples)},
        **summary,
        **anon,
        **diag,
        "samples": samples,
    }
    print(json.dumps({k: v for k, v in results.items() if k != "samples"}, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
