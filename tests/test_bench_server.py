"""bench/bench_server.py's pure parts (statistics, micro-batching, the delay model) and its servers' promise:
they listen only on 127.0.0.1 and stop by themselves. The real servers need the benchmark venv
(bash tools/make_server_venv.sh); without FastAPI/uvicorn (the project's test venv) those tests skip."""

from __future__ import annotations

import http.client
import importlib.util
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import server_lib as sl

PY_SERVER = REPO / "bench" / "server_py.py"
NODE_DIR = REPO / "bench" / "server_node"
HAVE_SERVER_DEPS = all(importlib.util.find_spec(m) for m in ("fastapi", "uvicorn", "simplejpeg", "onnx"))
HAVE_NODE = shutil.which("node") is not None and (NODE_DIR / "node_modules" / "onnxruntime-node").is_dir()


# ------------------------------------------------------------------------------------------ statistics

def test_percentile_matches_numpy() -> None:
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 40.0]
    for q in (0, 50, 90, 99, 100):
        assert sl.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    with pytest.raises(ValueError):
        sl.percentile([], 50)


def test_summarize_reports_median_p99_and_fps() -> None:
    row = sl.summarize([10.0, 20.0, 30.0, 1000.0], elapsed_s=2.0)
    assert row == {"frames": 4, "median_ms": 25.0, "p99_ms": pytest.approx(970.9), "fps": 2.0}
    assert sl.summarize([], 1.0) == {"frames": 0, "median_ms": None, "p99_ms": None, "fps": 0.0}


def test_parse_timing() -> None:
    assert sl.parse_timing("decode=1.5;process=10.25;encode=2") == {"decode": 1.5, "process": 10.25, "encode": 2.0}
    assert sl.parse_timing("") == {}
    assert sl.parse_timing("decode=x;encode=3") == {"encode": 3.0}


# ------------------------------------------------------------------------------------------ batching

def test_take_batch_takes_at_most_max_batch() -> None:
    source: queue.Queue = queue.Queue()
    for i in range(5):
        source.put(i)
    assert sl.take_batch(source, 4, max_wait_s=0.0) == [0, 1, 2, 3]
    assert sl.take_batch(source, 4, max_wait_s=0.0) == [4]  # no wait for more once the deadline passed


class NoWaitQueue(queue.Queue):
    """A queue that fails the test if take_batch waits on it once its deadline has passed."""

    def get(self, block: bool = True, timeout: float | None = None) -> object:
        if block and self.qsize() == 0 and (timeout is None or timeout > 0) and getattr(self, "armed", False):
            raise AssertionError(f"waited for more past the deadline (timeout={timeout})")
        return super().get(block, timeout)


def test_take_batch_waits_no_longer_than_its_deadline_but_takes_what_is_queued() -> None:
    source = NoWaitQueue()
    source.put("a")
    source.put("b")
    source.armed = True
    ticks = iter([0.0, 5.0, 5.0, 5.0])  # the deadline (0 + 1 s) has passed from the first check on
    assert sl.take_batch(source, 8, max_wait_s=1.0, clock=lambda: next(ticks)) == ["a", "b"]


def test_take_batch_hands_back_what_came_before_close() -> None:
    source: queue.Queue = queue.Queue()
    for item in ("a", "b", None):
        source.put(item)
    assert sl.take_batch(source, 8, max_wait_s=0.0) == ["a", "b"]
    assert sl.take_batch(source, 8, max_wait_s=0.0) is None


def test_micro_batcher_gives_each_caller_its_own_result() -> None:
    seen: list[list[int]] = []

    def run(batch: list[int]) -> list[int]:
        seen.append(list(batch))
        return [x * 10 for x in batch]

    batcher = sl.MicroBatcher(run, max_batch=4, max_wait_s=0.05)
    results: dict[int, int] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, batcher.submit(i))) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    batcher.close()
    assert results == {i: i * 10 for i in range(9)}
    assert sum(batcher.batch_sizes) == 9 and max(batcher.batch_sizes) <= 4
    assert sorted(x for batch in seen for x in batch) == list(range(9))


def test_micro_batcher_passes_a_failure_to_every_waiter() -> None:
    def run(batch: list[int]) -> list[int]:
        raise RuntimeError("model failed")

    batcher = sl.MicroBatcher(run, max_batch=2, max_wait_s=0.0)
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.submit(1)
    batcher.close()
    with pytest.raises(ValueError):
        sl.MicroBatcher(run, max_batch=0, max_wait_s=0.0)


# ------------------------------------------------------------------------------------------ delay model

def test_delay_model() -> None:
    assert sl.round_trip_ms(20.0, 30.0) == 80.0
    assert sl.predicted_fps(20.0, 0.0) == 30.0  # the camera's rate caps it
    assert sl.predicted_fps(20.0, 30.0) == pytest.approx(12.5)  # one request per 80 ms round trip
    assert sl.predicted_fps(20.0, 30.0, depth=3) == 30.0  # three in flight cover the delay
    assert sl.predicted_fps(50.0, 0.0, depth=8) == 20.0  # pipelining cannot beat the server's own rate
    assert sl.max_one_way_delay_ms(13.0) == pytest.approx((1000 / 30 - 13.0) / 2)
    assert sl.max_one_way_delay_ms(40.0) < 0  # a server slower than the budget never keeps 30 fps
    assert sl.pipeline_depth(20.0, 80.0) == 6  # 180 ms of round trip / 33.3 ms
    assert sl.pipeline_depth(50.0, 0.0) == 2
    assert sl.pipeline_depth(60.0, 30.0) == 2  # 120 / 60: more would only queue at the server


# ------------------------------------------------------------------------------------------ servers

def test_listening_addresses_sees_a_loopback_listener() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        assert ("127.0.0.1", port) in sl.listening_addresses(os.getpid())
    assert ("127.0.0.1", port) not in sl.listening_addresses(os.getpid())


def test_memory_mb_reads_this_process() -> None:
    before = sl.memory_mb(os.getpid())
    block = np.ones(32 * 2**20, np.uint8)  # 32 MB, touched
    after = sl.memory_mb(os.getpid())
    assert after["peak_mb"] >= before["rss_mb"] + 28 and after["peak_mb"] >= after["rss_mb"] > 0
    del block


def test_only_loopback() -> None:
    assert sl.only_loopback([("127.0.0.1", 80)])
    assert not sl.only_loopback([("127.0.0.1", 80), ("0.0.0.0", 81)])
    assert not sl.only_loopback([])  # listening nowhere is not a started server
    assert sl._address("0100007F", 8) == "127.0.0.1"
    assert sl._address("00000000000000000000000001000000", 32) == "0000:0000:0000:0000:0000:0000:0000:0001"


def test_watchdog_stops_at_the_deadline_or_when_the_parent_goes() -> None:
    stopped: list[bool] = []
    ticks = iter([0.0, 1.0, 2.0, 3.0])
    reason = sl.watchdog(2.5, 7, lambda: stopped.append(True), clock=lambda: next(ticks), getppid=lambda: 7,
                         wait=lambda s: None)
    assert (reason, stopped) == ("timeout", [True])
    parents = iter([7, 7, 1])
    reason = sl.watchdog(1e9, 7, lambda: stopped.append(True), clock=lambda: 0.0, getppid=lambda: next(parents),
                         wait=lambda s: None)
    assert (reason, stopped) == ("parent gone", [True, True])


FAKE_SERVER = """
import socket, sys, threading, time, os
sys.path.insert(0, {bench!r})
from server_lib import watchdog
sock = socket.socket()
sock.bind(({host!r}, 0))
sock.listen(1)
done = threading.Event()
threading.Thread(target=watchdog, args=(time.monotonic() + {timeout}, os.getppid(), done.set), daemon=True).start()
print("PORT", sock.getsockname()[1], flush=True)
done.wait()
"""


def fake_server(tmp_path: Path, host: str, timeout: float) -> list[str]:
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER.format(bench=str(REPO / "bench"), host=host, timeout=timeout))
    return [sys.executable, str(script)]


def test_server_process_stops_its_server_on_exit(tmp_path: Path) -> None:
    with sl.ServerProcess(fake_server(tmp_path, "127.0.0.1", 600)) as server:
        assert sl.listening_addresses(server.proc.pid) == [("127.0.0.1", server.port)]
        assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.proc.poll() is not None  # gone well before its own 600 s


def test_server_process_refuses_a_server_listening_beyond_loopback(tmp_path: Path) -> None:
    server = sl.ServerProcess(fake_server(tmp_path, "0.0.0.0", 600))
    with pytest.raises(RuntimeError, match=r"not only on 127\.0\.0\.1"), server:
        pass
    assert server.proc.poll() is not None  # and it was stopped


def test_a_server_stops_by_itself_at_its_timeout(tmp_path: Path) -> None:
    server = sl.ServerProcess(fake_server(tmp_path, "127.0.0.1", 0.2)).__enter__()
    assert server.proc.wait(timeout=30) == 0  # nobody stopped it


def jpeg(width: int = 160, height: int = 120) -> bytes:
    import cv2

    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (40, 160, 220)
    return cv2.imencode(".jpg", image)[1].tobytes()


@pytest.mark.skipif(not HAVE_SERVER_DEPS, reason="fastapi/uvicorn are benchmark-only (tools/make_server_venv.sh)")
def test_python_server_composes_a_jpeg_on_loopback_and_stops_by_itself() -> None:
    server = sl.ServerProcess([sys.executable, str(PY_SERVER), "--timeout", "1.5"]).__enter__()
    try:
        assert sl.listening_addresses(server.proc.pid) == [("127.0.0.1", server.port)]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/compose", body=jpeg(), headers={"x-client": "t"})
        reply = conn.getresponse()
        body = reply.read()
        conn.close()
        assert reply.status == 200 and body[:2] == b"\xff\xd8"
        assert set(sl.parse_timing(reply.getheader("x-timing", ""))) == {"decode", "process", "encode"}
        assert server.proc.wait(timeout=60) == 0  # stopped itself 1.5 s after it listened
    finally:
        server.stop()


@pytest.mark.skipif(not HAVE_NODE, reason="bench/server_node is not installed (tools/make_server_venv.sh)")
def test_node_server_listens_only_on_loopback_and_stops_by_itself() -> None:
    server = sl.ServerProcess(["node", "server.js", "--timeout", "1.5"], cwd=NODE_DIR).__enter__()
    try:
        assert sl.listening_addresses(server.proc.pid) == [("127.0.0.1", server.port)]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/compose", body=jpeg())
        reply = conn.getresponse()
        assert reply.status == 200 and reply.read()[:2] == b"\xff\xd8"
        assert set(sl.parse_timing(reply.getheader("x-timing", ""))) == {"decode", "process", "encode"}
        conn.close()
        assert server.proc.wait(timeout=60) == 0
    finally:
        server.stop()


def test_the_app_does_not_depend_on_the_benchmark_servers() -> None:
    """FastAPI & co. stay out of pyproject; the no-network rules (test_architecture, test_offline) still hold."""
    text = (REPO / "pyproject.toml").read_text()
    for name in ("fastapi", "uvicorn", "httpx", "simplejpeg"):
        assert name not in text
    assert subprocess.run([sys.executable, "-c", "import desktop_app.core.pipeline, sys; "
                           "sys.exit('fastapi' in sys.modules or 'httpx' in sys.modules)"],
                          cwd=REPO, capture_output=True).returncode == 0


@pytest.mark.skipif(not HAVE_NODE, reason="bench/server_node is not installed (tools/make_server_venv.sh)")
def test_node_port_composes_what_the_app_composes() -> None:
    """The JS port (model, smoothing, edges, blur, blend) stays within JPEG noise of the app's Pipeline over a few
    frames of the sample video; a port that lost the blur or the mask would differ by the whole effect."""
    import cv2

    from desktop_app.benchmark import sample_frames
    from desktop_app.core.effects import background as bg
    from desktop_app.core.frames import Frame
    from desktop_app.core.params import EffectParams
    from desktop_app.core.pipeline import Pipeline
    from desktop_app.core.segmenter import Segmenter

    frames = [bg.cover_fit(f, (640, 480)) for f in sample_frames(3)[0]]
    pipeline = Pipeline(Segmenter(device="cpu"), EffectParams(effect="blur"), temporal=True)
    with sl.ServerProcess(["node", "server.js", "--timeout", "60"], cwd=NODE_DIR) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for i, frame in enumerate(frames):
            sent = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])[1]
            conn.request("POST", "/compose", body=sent.tobytes(), headers={"x-client": "t"})
            body = np.frombuffer(conn.getresponse().read(), np.uint8)
            node = cv2.cvtColor(cv2.imdecode(body, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.int16)
            rgb = cv2.cvtColor(cv2.imdecode(sent, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            app = pipeline.process(Frame(rgb, 0.0, i, "t")).pixels.astype(np.int16)
            effect = np.abs(app - rgb).mean()
            assert effect > 3.0  # the blur changed the frame this much
            assert np.abs(node - app).mean() < 0.4 * effect  # measured: 1.0-1.1 levels against 4.7-5.1
        conn.close()
