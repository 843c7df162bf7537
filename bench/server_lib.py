"""The pure parts of bench/bench_server.py: statistics, server-side micro-batching, the network-delay model,
and starting a benchmark server that binds only to 127.0.0.1 and stops by itself.

Nothing here imports FastAPI, uvicorn or httpx, so the test venv can test it (tests/test_bench_server.py).
"""

from __future__ import annotations

import math
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRAME_BUDGET_MS = 1000.0 / 30.0  # a 30 fps call
LOOPBACK = "127.0.0.1"


# ------------------------------------------------------------------------------------------ statistics

def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(latencies_ms: Sequence[float], elapsed_s: float) -> dict[str, float | None]:
    """Median and p99 latency (ms) and the frames per second delivered over `elapsed_s` (None: no frame came)."""
    if not latencies_ms:
        return {"frames": 0, "median_ms": None, "p99_ms": None, "fps": 0.0}
    return {"frames": len(latencies_ms), "median_ms": round(percentile(latencies_ms, 50), 2),
            "p99_ms": round(percentile(latencies_ms, 99), 2),
            "fps": round(len(latencies_ms) / elapsed_s, 2) if elapsed_s > 0 else 0.0}


def parse_timing(header: str) -> dict[str, float]:
    """The servers' `x-timing: decode=1.2;process=9.8;encode=2.0` (ms) as a dict; malformed parts are skipped."""
    out = {}
    for part in header.split(";"):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            continue
    return out


# ------------------------------------------------------------------------------------------ micro-batching

@dataclass
class _Item:
    payload: Any
    future: Future


class MicroBatcher:
    """Collects requests into one model call: up to `max_batch` items, waiting at most `max_wait_s` after the
    first one for more. `run_batch(payloads) -> results` (same length) runs on the batcher's own thread;
    `submit(payload)` blocks the calling (request) thread until its result is ready. `batch_sizes` records
    every call's size, so a run reports the batch it really got."""

    def __init__(self, run_batch: Callable[[list[Any]], list[Any]], max_batch: int, max_wait_s: float) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self.batch_sizes: list[int] = []
        self._thread = threading.Thread(target=self._loop, name="micro-batcher", daemon=True)
        self._thread.start()

    def submit(self, payload: Any) -> Any:
        item = _Item(payload, Future())
        self._queue.put(item)
        return item.future.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            batch = take_batch(self._queue, self.max_batch, self.max_wait_s)
            if batch is None:
                return
            self.batch_sizes.append(len(batch))
            try:
                results = self._run_batch([item.payload for item in batch])
                for item, result in zip(batch, results, strict=True):
                    item.future.set_result(result)
            except BaseException as exc:  # every waiter hears about it
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)


def take_batch(source: queue.Queue, max_batch: int, max_wait_s: float,
               clock: Callable[[], float] = time.monotonic) -> list | None:
    """Block for a first item, then take more until `max_batch` or `max_wait_s` after the first; None (the close
    marker) ends the batcher, after handing back what was taken before it."""
    first = source.get()
    if first is None:
        return None
    batch = [first]
    deadline = clock() + max_wait_s
    while len(batch) < max_batch:
        left = deadline - clock()
        try:
            item = source.get(timeout=left) if left > 0 else source.get_nowait()
        except queue.Empty:
            break
        if item is None:
            source.put(None)  # close after this batch
            break
        batch.append(item)
    return batch


def dynamic_batch_model(path: Path) -> bytes:
    """The ONNX model with its first input and output dimension made symbolic ('N'); nothing else changes. The
    bundled models are exported with N=1; their graphs run any N (same masks, to 6e-8)."""
    import onnx

    model = onnx.load(str(path))
    for tensor in [*model.graph.input, *model.graph.output]:
        tensor.type.tensor_type.shape.dim[0].dim_param = "N"
    del model.graph.value_info[:]  # shapes inferred again by ONNX Runtime
    return model.SerializeToString()


# ------------------------------------------------------------------------------------------ network delay

def round_trip_ms(service_ms: float, one_way_delay_ms: float) -> float:
    """What the client sees for one request: the delay out, the server's time (JPEGs included), the delay back."""
    return service_ms + 2.0 * one_way_delay_ms


def predicted_fps(service_ms: float, one_way_delay_ms: float, depth: int = 1, camera_fps: float = 30.0) -> float:
    """Frames per second one client gets with up to `depth` requests in flight and a camera at `camera_fps`:
    each in-flight slot returns a frame every round trip, the server processes one at a time (service_ms),
    and no more frames arrive than the camera makes."""
    rtt = round_trip_ms(service_ms, one_way_delay_ms)
    return min(camera_fps, 1000.0 * depth / rtt, 1000.0 / service_ms if service_ms > 0 else math.inf)


def max_one_way_delay_ms(service_ms: float, budget_ms: float = FRAME_BUDGET_MS) -> float:
    """The largest one-way delay at which one request at a time still fits the frame budget (negative: never)."""
    return (budget_ms - service_ms) / 2.0


def pipeline_depth(service_ms: float, one_way_delay_ms: float, budget_ms: float = FRAME_BUDGET_MS) -> int:
    """Requests one client keeps in flight to hide the network delay: enough for one frame per budget, or per
    service time where the server is slower than that (more would only queue at the server); at least 2."""
    return max(2, math.ceil(round_trip_ms(service_ms, one_way_delay_ms) / max(service_ms, budget_ms)))


# ------------------------------------------------------------------------------------------ servers

def memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now and its peak so far (Linux: VmRSS and VmHWM of /proc/<pid>/status), MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields["VmRSS"], "peak_mb": fields["VmHWM"]}


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket process `pid` listens on (Linux: /proc), IPv4 and IPv6."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            found.append((_address(address, width), int(port, 16)))
    return found


def _address(hex_address: str, width: int) -> str:
    if width == 8:
        return ".".join(str(b) for b in reversed(bytes.fromhex(hex_address)))
    words = [bytes.fromhex(hex_address[i:i + 8])[::-1].hex() for i in range(0, 32, 8)]
    return ":".join(w[j:j + 4] for w in words for j in (0, 4))


def only_loopback(addresses: Sequence[tuple[str, int]]) -> bool:
    return bool(addresses) and all(address == LOOPBACK for address, _ in addresses)


class ServerProcess:
    """A benchmark server as a child process: `cmd` must print `PORT <n>` once it listens on 127.0.0.1:<n>.
    The server stops by itself after its own timeout (see `watchdog`); this also stops it on exit, whatever
    happened (terminate, then kill), so none outlives the benchmark."""

    def __init__(self, cmd: list[str], cwd: Path | None = None, start_timeout_s: float = 120.0) -> None:
        self.cmd, self.cwd, self.start_timeout_s = cmd, cwd, start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, stdout=subprocess.PIPE, text=True)
        try:
            self.port = _read_port(self.proc, self.start_timeout_s)
            addresses = listening_addresses(self.proc.pid)
            if not only_loopback(addresses):
                raise RuntimeError(f"the server listens on {addresses}, not only on {LOOPBACK}")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _read_port(proc: subprocess.Popen, timeout_s: float) -> int:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    line = result[0].strip() if result else ""
    if not line.startswith("PORT "):
        raise RuntimeError(f"the server did not start (said {line!r}, exit code {proc.poll()})")
    return int(line.split()[1])


def watchdog(deadline_s: float, parent_pid: int, stop: Callable[[], None],
             clock: Callable[[], float] = time.monotonic, getppid: Callable[[], int] = os.getppid,
             wait: Callable[[float], object] = time.sleep, interval_s: float = 0.5) -> str:
    """Call `stop` once `deadline_s` (on `clock`) has passed or the parent process is gone; returns why.
    The servers run it on a daemon thread, so one left behind by a killed benchmark still ends."""
    while True:
        if clock() >= deadline_s:
            reason = "timeout"
            break
        if getppid() != parent_pid:
            reason = "parent gone"
            break
        wait(interval_s)
    stop()
    return reason
