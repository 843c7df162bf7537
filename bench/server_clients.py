"""bench/bench_server.py's clients: one live client (with a simulated network delay and pipelining), many
closed-loop clients, and the in-process run the app does. Every loop is bounded in time; only 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass

import httpx
import numpy as np
import simplejpeg
from server_lib import LOOPBACK, parse_timing, percentile, summarize

from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import FrameSlot, Pipeline
from desktop_app.core.segmenter import Segmenter

QUALITY = 90  # both ways, 4:2:0 (sharp's default; simplejpeg is told so)
SUBSAMPLING = "420"
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]  # without it, Nagle + delayed ACK add ~40 ms a request


def encode(rgb: np.ndarray) -> bytes:
    return simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=QUALITY, colorspace="RGB",
                                  colorsubsampling=SUBSAMPLING)


def client(concurrency: int) -> httpx.AsyncClient:
    if not concurrency:
        raise ValueError("concurrency must be at least 1")
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(socket_options=NODELAY, limits=limits),
                             timeout=60.0, trust_env=False)


def _check_loopback(url: str) -> None:
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"the benchmark talks to {LOOPBACK} only, not {url}")


@dataclass
class LiveRun:
    """One live client: a camera at `camera_fps` (None: the next frame as soon as a slot is free), up to `depth`
    requests in flight (1: no pipelining), `delay_ms` slept before each send and after each reply (the one-way
    network delay, no bandwidth limit, no jitter). Latency is capture -> the composed frame decoded."""

    url: str
    frames: list[np.ndarray]
    seconds: float
    delay_ms: float = 0.0
    depth: int = 1
    camera_fps: float | None = None
    warmup_s: float = 0.5

    async def run(self) -> dict:
        _check_loopback(self.url)
        latencies: list[float] = []
        timings: dict[str, list[float]] = {}
        state = {"next": 0}
        start = time.perf_counter()
        end = start + self.warmup_s + self.seconds
        period = 1.0 / self.camera_fps if self.camera_fps else 0.0

        async def slot(http: httpx.AsyncClient, name: str) -> None:
            while True:
                now = time.perf_counter()
                if period:  # the newest frame the camera has made, not sent yet; or wait for the next one
                    index = max(state["next"], int((now - start) / period))
                    captured = start + index * period
                    if captured > now:
                        await asyncio.sleep(captured - now)
                else:
                    index, captured = state["next"], now
                if captured >= end:
                    return
                state["next"] = index + 1
                body = encode(self.frames[index % len(self.frames)])
                if self.delay_ms:
                    await asyncio.sleep(self.delay_ms / 1000.0)
                reply = await http.post(self.url + "/compose", content=body,
                                        headers={"x-client": name, "x-frame": str(index)})
                reply.raise_for_status()
                if self.delay_ms:
                    await asyncio.sleep(self.delay_ms / 1000.0)
                simplejpeg.decode_jpeg(reply.content, colorspace="RGB")
                done = time.perf_counter()
                if captured >= start + self.warmup_s:
                    latencies.append((done - captured) * 1000.0)
                    for part, value in parse_timing(reply.headers.get("x-timing", "")).items():
                        timings.setdefault(part, []).append(value)

        async with client(self.depth) as http:
            await asyncio.gather(*(slot(http, "live") for _ in range(self.depth)))
        elapsed = time.perf_counter() - start - self.warmup_s
        return {"delay_ms": self.delay_ms, "depth": self.depth, "camera_fps": self.camera_fps,
                **summarize(latencies, elapsed),
                "server_ms": {k: round(percentile(v, 50), 2) for k, v in timings.items()}}


async def closed_loop(url: str, jpegs: list[bytes], clients: int, seconds: float, warmup_s: float = 0.5) -> dict:
    """`clients` clients, each sending the next pre-encoded frame as soon as its reply is in (not decoded: the
    server's cost, not the client's). Throughput counts the requests that ended after the warm-up."""
    _check_loopback(url)
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from, end = start + warmup_s, start + warmup_s + seconds

    async def one(http: httpx.AsyncClient, name: str, offset: int) -> None:
        i = offset
        while time.perf_counter() < end:
            sent = time.perf_counter()
            reply = await http.post(url + "/compose", content=jpegs[i % len(jpegs)],
                                    headers={"x-client": name, "x-frame": str(i)})
            reply.raise_for_status()
            done = time.perf_counter()
            if done >= measure_from:
                latencies.append((done - sent) * 1000.0)
            i += 1

    async with client(clients) as http:
        await asyncio.gather(*(one(http, f"c{k}", k * 7) for k in range(clients)))
    return {"clients": clients, **summarize(latencies, time.perf_counter() - measure_from)}


def in_process(seg: Segmenter, frames: list[np.ndarray], seconds: float, warmup_s: float = 0.5) -> dict:
    """The app's way: a capture thread puts a frame into a FrameSlot whenever the processing thread is ready for
    one (a camera that always has a new frame), the processing thread runs Pipeline.process (blur, the app's
    defaults). Latency: the frame's capture -> its Result."""
    pipeline = Pipeline(seg, EffectParams(effect="blur"), temporal=True)
    slot = FrameSlot()
    latencies: list[float] = []
    start = time.perf_counter()
    measure_from, end = start + warmup_s, start + warmup_s + seconds
    ready = threading.Event()

    def capture() -> None:
        index = 0
        while not slot.closed:
            if ready.wait(0.1):  # a new frame just as the processing thread is ready for it: none waits
                ready.clear()
                slot.put(Frame(frames[index % len(frames)], time.perf_counter(), index, "camera"))
                index += 1

    def process() -> None:
        while time.perf_counter() < end:
            ready.set()
            frame = slot.take(timeout=1.0)
            if frame is None:
                continue
            pipeline.process(frame)
            done = time.perf_counter()
            if done >= measure_from:
                latencies.append((done - frame.timestamp) * 1000.0)

    threads = [threading.Thread(target=capture, name="capture", daemon=True),
               threading.Thread(target=process, name="processing", daemon=True)]
    for thread in threads:
        thread.start()
    threads[1].join()
    slot.close()
    threads[0].join(timeout=5)
    return summarize(latencies, time.perf_counter() - measure_from)
