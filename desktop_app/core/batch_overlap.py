"""Bounded helper threads that let a batch decode ahead and encode behind while the caller segments.

On two cores a photo's time is decode + segment/compose + encode, one after the other; the three use
OpenCV, Pillow and onnxruntime code that releases the GIL, so running the neighbours' decode and encode on
two helper threads overlaps them with the current input's inference. Both helpers are bounded (memory is
a few inputs, never the folder), keep input order, hand every exception back to the caller for the item it
belongs to, and stop and join on `close` (also when the caller is cancelled or fails).

- `ReadAhead(items, load, depth)`: one thread calls `load(item)` for the next `depth` items; `take(i)`
  returns item i's value or raises its exception. Items `load` returns `SKIP` for are read by the caller.
  (It is `batch_workers.Workers` with one thread and no barrier.)
- `WriteBehind(depth)`: one thread runs submitted callables in order; `done()` / `drain()` give their
  results in submission order; at most `depth` wait behind the one running.
- `ahead(iterable, depth)`: an iterator that pulls from `iterable` on its own thread (video decoding).

The threads are daemons: a Ctrl+C or SIGTERM can land while one is being started, before anything holds it to
close it, and a helper left waiting on its queue must not keep the interrupted process alive (seen: a SIGTERM
test that hung at exit under load). Every normal and error path still closes and joins them, and the tests'
leftover-thread check covers these daemons by name (`batch-*`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar, cast

from desktop_app.core.batch_workers import SKIP as SKIP  # re-exported: batch imports it from here
from desktop_app.core.batch_workers import Failed, Workers

T = TypeVar("T")
R = TypeVar("R")


class ReadAhead(Workers[T, R]):
    """Calls `load(item)` on one thread, at most `depth` items ahead of the caller's `take`: a `Workers` of one,
    with no barrier (items `load` returns `SKIP` for are the caller's to read)."""

    def __init__(self, items: Sequence[T], load: Callable[[T], R], depth: int = 2, *,
                 budget: int | None = None, weight: Callable[[R], int] | None = None,
                 name: str = "batch-read") -> None:
        if depth < 1:
            raise ValueError(f"depth must be at least 1, not {depth}")
        super().__init__(items, [load], depth, budget=budget, weight=weight, name=name)


class Inline(Generic[T, R]):
    """ReadAhead's and WriteBehind's interface with no thread: loads when taken, runs when submitted (serial)."""

    def __init__(self, items: Sequence[T] = (), load: Callable[[T], R] | None = None) -> None:
        self._items, self._load = items, load
        self._results: list[object] = []

    def take(self, index: int) -> R:
        assert self._load is not None
        return self._load(self._items[index])

    def submit(self, task: Callable[[], R], weight: int = 0) -> None:
        try:
            self._results.append(task())
        except BaseException as exc:
            self._results.append(Failed(exc))

    def done(self) -> Iterator[R]:
        while self._results:
            result = self._results.pop(0)
            if isinstance(result, Failed):
                raise result.exc
            yield result  # type: ignore[misc]

    drain = done

    def close(self) -> None:
        self._results.clear()

    def __enter__(self) -> Inline[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_END = object()


class WriteBehind(Generic[R]):
    """Runs submitted callables one at a time on a thread, in order; `submit` blocks while `depth` wait, or
    while the tasks not finished yet weigh `budget` or more (each task's `weight`, e.g. its pixels' bytes)."""

    def __init__(self, depth: int = 1, *, budget: int | None = None, name: str = "batch-write") -> None:
        self._todo: queue.Queue[tuple[Callable[[], object], int] | object] = queue.Queue(maxsize=max(1, depth))
        self._results: queue.Queue[object] = queue.Queue()
        self._pending = 0
        self._budget = budget
        self._weighing = threading.Condition()
        self._held = 0  # the weight of the tasks submitted and not finished
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._todo.get()
            if item is _END:
                return
            task, weight = cast("tuple[Callable[[], object], int]", item)
            try:
                result: object = task()
            except BaseException as exc:
                result = Failed(exc)
            with self._weighing:
                self._held -= weight
                self._weighing.notify_all()
            self._results.put(result)

    def submit(self, task: Callable[[], R], weight: int = 0) -> None:
        if self._budget is not None:
            with self._weighing:
                while self._held and self._held >= self._budget:
                    self._weighing.wait()
        with self._weighing:
            self._held += weight
        self._pending += 1
        self._todo.put((task, weight))

    def _unwrap(self, result: object) -> R:
        self._pending -= 1
        if isinstance(result, Failed):
            raise result.exc
        return result  # type: ignore[return-value]

    def done(self) -> Iterator[R]:
        """Results finished so far, in submission order, without waiting."""
        while self._pending:
            try:
                result = self._results.get_nowait()
            except queue.Empty:
                return
            yield self._unwrap(result)

    def drain(self) -> Iterator[R]:
        """Every remaining result, in submission order, waiting for each."""
        while self._pending:
            yield self._unwrap(self._results.get())

    def close(self) -> None:
        """Finish what was submitted, then stop and join the thread (results not collected are dropped)."""
        self._todo.put(_END)
        self._thread.join()

    def __enter__(self) -> WriteBehind[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ahead(Generic[T]):
    """Iterate `iterable` on a thread, at most `depth` values ahead; its exceptions surface in the caller.

    Use as a context manager (or call `close`) so the thread stops when the caller stops early.
    """

    def __init__(self, iterable: Iterable[T], depth: int = 4, name: str = "batch-decode") -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._source = iterable
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, value: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for value in self._source:
                if not self._put(value):
                    return
        except BaseException as exc:
            self._put(Failed(exc))
            return
        self._put(_END)

    def __iter__(self) -> Iterator[T]:
        while True:
            value = self._queue.get()
            if value is _END:
                return
            if isinstance(value, Failed):
                raise value.exc
            yield value  # type: ignore[misc]

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a put() in progress
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    def __enter__(self) -> ahead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class behind(Generic[T]):
    """Call `consume(value)` on a thread, in order, with at most `depth` values waiting (video encoding).

    The first exception `consume` raises is raised by the next `put` or by `flush` (later values are dropped).
    """

    def __init__(self, consume: Callable[[T], object], depth: int = 2, name: str = "batch-encode") -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._consume = consume
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            value = self._queue.get()
            try:
                if value is _END:
                    return
                if self._error is None:
                    self._consume(value)  # type: ignore[arg-type]
            except BaseException as exc:
                self._error = exc
            finally:
                self._queue.task_done()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, value: T) -> None:
        self._check()
        self._queue.put(value)

    def flush(self) -> None:
        """Wait until every value put so far is consumed; raise the first error."""
        self._queue.join()
        self._check()

    def close(self) -> None:
        """Stop after the values already put, and join the thread (errors not raised yet are dropped)."""
        self._queue.put(_END)
        self._thread.join()

    def __enter__(self) -> behind[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
