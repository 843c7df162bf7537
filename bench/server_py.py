"""bench/bench_server.py's Python server: the app's own pipeline (desktop_app.core) behind FastAPI + uvicorn.

`POST /compose` takes a JPEG frame, runs `Pipeline.process` (blur, the app's defaults) on it and answers the
composed frame as a JPEG (quality 90); `X-Client` names the client, each client has its own Pipeline (its temporal
state), all share one Segmenter, as the app's threads do. `--batch N` (N > 1) routes every model call through a
micro-batcher that runs up to N frames in ONE session call (a dynamic-batch copy of the bundled model, made in
memory: the bundled input is fixed at N=1; only that dimension changes). Binds only to 127.0.0.1 on an ephemeral
port, prints `PORT <n>`, and stops by itself after `--timeout` seconds or when its parent is gone.

    .venvs/server/bin/python bench/server_py.py [--batch 1] [--timeout 600]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
import simplejpeg
from fastapi import FastAPI, Request, Response

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from server_lib import LOOPBACK, MicroBatcher, dynamic_batch_model, watchdog  # noqa: E402

from desktop_app.core.engine import CPU, session_options  # noqa: E402
from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

QUALITY = 90
SUBSAMPLING = "420"  # as sharp's default on the Node server and most web encoders


class BatchedSegmenter:
    """A `SegmenterLike` whose `predict` goes through a MicroBatcher: the app's adapter prepares each frame, one
    session call runs the stacked batch, the adapter's postprocess takes each slice."""

    def __init__(self, seg: Segmenter, max_batch: int, max_wait_s: float) -> None:
        import onnxruntime as ort

        self._seg = seg
        self.spec = seg.spec
        self._sessions: dict[str, object] = {}
        self._ort = ort
        self._shape: tuple[int, ...] | None = None
        self.batcher = MicroBatcher(self._run, max_batch, max_wait_s)

    def _session(self) -> Any:
        key = self._seg.spec.id
        if key not in self._sessions:
            model = dynamic_batch_model(self._seg.variant.path)
            self._sessions[key] = self._ort.InferenceSession(model, sess_options=session_options(CPU, 1),
                                                             providers=[CPU])
        return self._sessions[key]

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        start = time.perf_counter()
        mask = self.batcher.submit(rgb)
        return mask, {"resize": 0.0, "inference": (time.perf_counter() - start) * 1000.0}

    def _run(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        if frames[0].shape != self._shape:  # pick (and load) the model for this frame shape, as `auto` does
            self._seg.predict(frames[0])
            self._shape = frames[0].shape
        adapter = self._seg.adapter
        feeds = [adapter.preprocess(f)[adapter.input_name].copy() for f in frames]
        out = self._session().run(None, {adapter.input_name: np.concatenate(feeds)})[0]
        return [adapter.postprocess([out[i:i + 1]]) for i in range(len(frames))]


def make_app(max_batch: int, max_wait_s: float) -> FastAPI:
    seg = Segmenter(device="cpu")  # the app's defaults: one onnxruntime thread
    model = BatchedSegmenter(seg, max_batch, max_wait_s) if max_batch > 1 else seg
    pipelines: dict[str, tuple[Pipeline, threading.Lock]] = {}
    lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 256  # 64 clients + batching waits
        yield

    app = FastAPI(lifespan=lifespan)

    def pipeline_for(client: str) -> tuple[Pipeline, threading.Lock]:
        with lock:
            if client not in pipelines:
                pipelines[client] = (Pipeline(model, EffectParams(effect="blur"), temporal=True), threading.Lock())
            return pipelines[client]

    def work(body: bytes, client: str, index: int) -> tuple[bytes, str]:
        """The composed JPEG and `x-timing` (ms): decode, pipeline (waiting for a busy pipeline included), encode."""
        t0 = time.perf_counter()
        rgb = simplejpeg.decode_jpeg(body, colorspace="RGB")
        t1 = time.perf_counter()
        pipeline, busy = pipeline_for(client)
        with busy:  # a pipelining client's frames go through its pipeline (its temporal state) one at a time
            result = pipeline.process(Frame(rgb, time.perf_counter(), index, client))
        t2 = time.perf_counter()
        out = simplejpeg.encode_jpeg(np.ascontiguousarray(result.pixels), quality=QUALITY, colorspace="RGB",
                                     colorsubsampling=SUBSAMPLING)
        t3 = time.perf_counter()
        return out, f"decode={(t1 - t0) * 1e3:.2f};process={(t2 - t1) * 1e3:.2f};encode={(t3 - t2) * 1e3:.2f}"

    @app.post("/compose")
    async def compose(request: Request) -> Response:
        body = await request.body()
        client = request.headers.get("x-client", "0")
        index = int(request.headers.get("x-frame", "0"))
        out, timing = await anyio.to_thread.run_sync(work, body, client, index)
        return Response(out, media_type="image/jpeg", headers={"x-timing": timing})

    @app.get("/stats")
    async def stats() -> dict:
        sizes = model.batcher.batch_sizes if isinstance(model, BatchedSegmenter) else []
        return {"batch_calls": len(sizes), "mean_batch": (sum(sizes) / len(sizes)) if sizes else 1.0}

    @app.post("/batch/{size}")
    async def set_batch(size: int) -> dict:
        """The largest micro-batch from now on (a --batch server only); clears the batch statistics."""
        if isinstance(model, BatchedSegmenter):
            model.batcher.max_batch = max(1, size)
            model.batcher.batch_sizes.clear()
        return {"batch": size}

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--max-wait-ms", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=600.0, help="stop by itself after this many seconds")
    args = parser.parse_args(argv)
    import uvicorn

    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on such sockets; without it Nagle + delayed ACK add ~40 ms
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((LOOPBACK, 0))  # loopback only, an ephemeral port
    sock.listen(256)
    server = uvicorn.Server(uvicorn.Config(make_app(args.batch, args.max_wait_ms / 1000.0), log_level="warning",
                                           access_log=False, backlog=256, timeout_keep_alive=30))

    def stop() -> None:
        server.should_exit = True
        hard = threading.Timer(10.0, lambda: os._exit(3))  # in case a request never ends
        hard.daemon = True
        hard.start()

    parent = os.getppid()
    threading.Thread(target=watchdog, args=(time.monotonic() + args.timeout, parent, stop), daemon=True).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
