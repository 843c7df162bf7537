"""The allocator setting that keeps a long live session's memory flat (desktop_app/core/memory.py).

RSS over an hour is a benchmark (bench/bench_soak.py), not a test; what is tested here is the mechanism: the
setting is applied at startup, threads then share one arena (glibc would give each its own, each keeping its own
freed frame-sized holes resident), and a user's own MALLOC_* variable wins.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from desktop_app.core import memory

REPO = Path(__file__).resolve().parent.parent


class FakeLibc:
    def __init__(self, result: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.result = result

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.result


def test_one_arena_is_asked_for() -> None:
    libc = FakeLibc()
    applied = memory.configure_allocator(libc=libc, environ={})
    assert libc.calls == [(memory.M_ARENA_MAX, 1)]
    assert applied == {"MALLOC_ARENA_MAX": 1}


def test_the_users_malloc_variable_wins() -> None:
    libc = FakeLibc()
    assert memory.configure_allocator(libc=libc, environ={"MALLOC_ARENA_MAX": "4"}) == {}
    assert libc.calls == []


def test_a_refused_setting_is_not_reported_as_applied() -> None:
    assert memory.configure_allocator(libc=FakeLibc(result=0), environ={}) == {}


def test_another_platform_or_c_library_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory.sys, "platform", "win32")
    assert memory._glibc() is None


_PROBE = textwrap.dedent("""
    import ctypes, os, sys, threading
    sys.path.insert(0, sys.argv[2])
    if sys.argv[1] == "configured":
        from desktop_app.core import memory
        assert memory.configure_allocator()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]

    def work():  # what a capture thread does with a frame: allocate it on its own thread
        libc.free(libc.malloc(1280 * 720 * 3))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.dup2(1, 2)  # malloc_stats() writes one "Arena N:" block per arena to stderr
    libc.malloc_stats()
""")


def _arenas_after_three_threads(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _PROBE, mode, str(REPO)], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    return sum(line.startswith("Arena ") for line in out.stdout.splitlines())


@pytest.mark.skipif(memory._glibc() is None, reason="glibc's allocator only")
def test_threads_share_the_one_arena() -> None:
    assert _arenas_after_three_threads("default") > 1  # the behaviour being fixed: an arena per thread
    assert _arenas_after_three_threads("configured") == 1


def test_the_entry_point_configures_the_allocator_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app import cli

    calls: list[str] = []
    monkeypatch.setattr(memory, "configure_allocator", lambda: calls.append("configured") or {})
    monkeypatch.setattr(cli, "run_models", lambda: calls.append("models") or 0)
    assert cli.main(["models"]) == 0
    assert calls == ["configured", "models"]
