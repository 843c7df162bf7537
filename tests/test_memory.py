"""The allocator setting that keeps a long live session's memory flat (desktop_app/core/memory.py).

RSS over an hour is a benchmark (bench/bench_soak.py), not a test; what is tested here is the mechanism: the
setting is applied at startup, it keeps frame-sized blocks out of the heap even after one was freed (glibc's
dynamic threshold would otherwise rise above the frame size), and a user's own MALLOC_* variable wins.
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
FRAME_720P = 1280 * 720 * 3


class FakeLibc:
    def __init__(self, result: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.result = result

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.result


def test_a_fixed_mmap_threshold_below_every_live_frame_is_set() -> None:
    libc = FakeLibc()
    applied = memory.configure_allocator(libc=libc, environ={})
    assert libc.calls == [(memory.M_MMAP_THRESHOLD, memory.MMAP_THRESHOLD)]
    assert applied == {"MALLOC_MMAP_THRESHOLD_": memory.MMAP_THRESHOLD}
    assert memory.MMAP_THRESHOLD <= 640 * 480 * 3  # the smallest live frame still gets its own mapping


def test_the_users_malloc_variable_wins() -> None:
    libc = FakeLibc()
    assert memory.configure_allocator(libc=libc, environ={"MALLOC_MMAP_THRESHOLD_": "4096"}) == {}
    assert libc.calls == []


def test_a_refused_setting_is_not_reported_as_applied() -> None:
    assert memory.configure_allocator(libc=FakeLibc(result=0), environ={}) == {}


def test_another_platform_or_c_library_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory.sys, "platform", "win32")
    assert memory._glibc() is None


_PROBE = textwrap.dedent("""
    import ctypes, sys
    sys.path.insert(0, sys.argv[2])
    if sys.argv[1] == "configured":
        from desktop_app.core import memory
        assert memory.configure_allocator()
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Info
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free(libc.malloc(4 * 1024 * 1024))  # the first large free: glibc raises its dynamic threshold here
    before = libc.mallinfo2().hblks
    block = libc.malloc(int(sys.argv[3]))
    print(libc.mallinfo2().hblks - before)
    libc.free(block)
""")


def _mapped_after_a_large_free(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _PROBE, mode, str(REPO), str(FRAME_720P)], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(memory._glibc() is None, reason="glibc's allocator only")
def test_frame_sized_blocks_keep_their_own_mapping_after_a_large_free() -> None:
    assert _mapped_after_a_large_free("default") == 0  # the behaviour being fixed: the frame comes from the heap
    assert _mapped_after_a_large_free("configured") == 1  # its own mapping: given back to the system on free


def test_the_entry_point_configures_the_allocator_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app import cli

    calls: list[str] = []
    monkeypatch.setattr(memory, "configure_allocator", lambda: calls.append("configured") or {})
    monkeypatch.setattr(cli, "run_models", lambda: calls.append("models") or 0)
    assert cli.main(["models"]) == 0
    assert calls == ["configured", "models"]
