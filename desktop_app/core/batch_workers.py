"""Photos processed on several threads at once, each thread with a processor of its own (docs/architecture.md,
"Batch"). Qt-free.

`Workers(items, loads, depth, barrier=...)` runs `loads[k](item)` on thread k for the items ahead of the caller,
each item once, and hands the results back in input order through `take(index)` (raising what the load raised
for that item). At most `depth` items past the one the caller is on are started or held, and finished ones wait
under a byte budget, so memory is a few photos, never the folder. An item `barrier(item)` marks (a video) is
left to the caller: `take` gives `SKIP` for it, and no thread starts an item past it until the caller says
`passed(index)`; so whatever the caller does with it (a video, with the first processor) runs alone.

Why threads and not processes: decoding, inference, OpenCV and the matting's numpy release the GIL, and a
second process would load every model again and copy every photo across. The threads are daemons, named
`batch-worker-K`, and `close` stops and joins them (the tests' leftover-thread check covers them by name).
`batch_overlap.ReadAhead` is the case of one thread and no barrier.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

SKIP: Any = object()  # what `take` gives for an item left to the caller (a barrier item, or what a load skipped)

MAX_WORKERS = 4  # past this the photos' memory grows faster than the gain (docs/benchmarks.md, batch workers)


def default_workers(quality: str = "best", cpus: int | None = None) -> int:
    """Workers for a batch on this machine: at quality best one per core, at most MAX_WORKERS; at fast one (a
    fast photo is mostly decode and encode, which the overlap threads already run beside it: two workers on
    two cores measured 33.5 = 33.5 photos/s PNG, docs/benchmarks.md "Session 18")."""
    if quality != "best":
        return 1
    return max(1, min(MAX_WORKERS, cpus if cpus is not None else (os.cpu_count() or 1)))


class Failed:
    """An exception raised on a helper thread, kept for the item it belongs to (batch_overlap's helpers too)."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Workers(Generic[T, R]):
    """`len(loads)` threads loading `items` ahead of the caller's `take`, in any order, handed back in order."""

    def __init__(self, items: Sequence[T], loads: Sequence[Callable[[T], R]], depth: int, *,
                 barrier: Callable[[T], bool] = lambda _item: False, budget: int | None = None,
                 weight: Callable[[R], int] | None = None, name: str = "batch-worker") -> None:
        if not loads:
            raise ValueError("Workers needs at least one load")
        if depth < len(loads):
            raise ValueError(f"depth {depth} would leave some of the {len(loads)} workers idle")
        self._items, self._depth, self._barrier = items, depth, barrier
        self._budget, self._weight = budget, weight or (lambda _value: 0)
        self._ready: dict[int, object] = {}
        self._held: dict[int, int] = {}  # the weight of each finished item not taken yet
        self._next = 0  # the next item a thread may start
        self._taken = 0  # items the caller has taken: threads start items up to `depth` past this
        self._blocked: int | None = None  # a barrier item the caller has not passed yet
        self._stop = False
        self._cond = threading.Condition()
        self._name = name
        self._threads = [threading.Thread(target=self._run, args=(load,), daemon=True,
                                          name=name if len(loads) == 1 else f"{name}-{k}")
                         for k, load in enumerate(loads)]
        for thread in self._threads:
            thread.start()

    def _claim(self) -> int | None:
        """The next item for a thread to load (waits while it may not start one); None when there is none."""
        with self._cond:
            while True:
                index = self._next
                if self._stop or index >= len(self._items):
                    return None
                if self._blocked is None and index < self._taken + self._depth and not self._over_budget():
                    self._next += 1
                    if not self._barrier(self._items[index]):
                        return index
                    self._ready[index] = SKIP  # the caller's: nothing past it starts until it is passed
                    self._blocked = index
                    self._cond.notify_all()
                    continue
                self._cond.wait()

    def _over_budget(self) -> bool:
        return self._budget is not None and bool(self._held) and sum(self._held.values()) >= self._budget

    def _run(self, load: Callable[[T], R]) -> None:
        while (index := self._claim()) is not None:
            try:
                value: object = load(self._items[index])
            except BaseException as exc:
                value = Failed(exc)
            held = 0 if isinstance(value, Failed) or value is SKIP else self._weight(value)  # type: ignore[arg-type]
            with self._cond:
                self._ready[index] = value
                self._held[index] = held
                self._cond.notify_all()

    def take(self, index: int) -> R:
        """Item `index`'s value (waits for it), or `SKIP` for a barrier item; raises what its load raised."""
        with self._cond:
            while index not in self._ready:
                if not any(thread.is_alive() for thread in self._threads):
                    raise RuntimeError(f"the {self._name} threads ended before item {index}")
                self._cond.wait(0.5)
            value = self._ready.pop(index)
            self._held.pop(index, None)
            self._taken = max(self._taken, index + 1)
            self._cond.notify_all()
        if isinstance(value, Failed):
            raise value.exc
        return value  # type: ignore[return-value]

    def passed(self, index: int) -> None:
        """The caller is done with barrier item `index`: the threads may start the items after it."""
        with self._cond:
            if self._blocked == index:
                self._blocked = None
                self._cond.notify_all()

    def close(self) -> None:
        """Start nothing more, wait for the items being loaded, drop what was not taken, join the threads."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
        self._ready.clear()
        self._held.clear()

    def __enter__(self) -> Workers[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
