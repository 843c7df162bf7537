"""Batch with its stages overlapped: decode-ahead / encode-behind threads keep order, bounds, failures, cancel."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from corpus import file_hashes, listing, short_video, two_tone
from PIL import Image

from desktop_app.core import batch as batch_module
from desktop_app.core.batch import READ_AHEAD, WRITE_BEHIND, Batch, plan
from desktop_app.core.batch_overlap import ReadAhead, WriteBehind, ahead, behind
from desktop_app.core.frames import Frame, Result
from desktop_app.core.params import EffectParams
from desktop_app.core.safe_write import is_temp_name
from desktop_app.core.videoio import VideoReadError, VideoWriteError, VideoWriter

WAIT = 10  # seconds an event may take before the test fails (never reached when the code works)


class Counting:
    """A processor that inverts pixels and runs `on_call(n)` at the start of its n-th call (1-based)."""

    def __init__(self, on_call=None) -> None:
        self.calls = 0
        self.on_call = on_call or (lambda _n: None)

    def set_params(self, params: EffectParams) -> None:
        pass

    def reset(self) -> None:
        pass

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        self.calls += 1
        self.on_call(self.calls)
        return Result(frame, 255 - frame.pixels)


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"p{i}.png"
        Image.fromarray(two_tone(8, 4) // (i + 1)).save(path)
        paths.append(path)
    return paths


def no_temps(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if is_temp_name(p.name)]


# ------------------------------------------------------------------------------------------ the helpers


def test_read_ahead_stays_within_its_window_and_keeps_order() -> None:
    depth, n = 2, 12
    loaded: list[int] = []
    changed = threading.Condition()

    def load(i: int) -> int:
        with changed:
            loaded.append(i)
            changed.notify_all()
        return i * 10

    with ReadAhead(list(range(n)), load, depth) as reads:
        for i in range(n):
            with changed:  # let the reader go as far as it may before taking the next item
                assert changed.wait_for(lambda i=i: len(loaded) >= min(n, i + depth), WAIT)
                assert len(loaded) <= i + depth  # and no further: `depth` inputs decoded at most
            assert reads.take(i) == i * 10
    assert loaded == list(range(n))


def test_read_ahead_stops_at_its_byte_budget_past_the_first_item() -> None:
    n, weights = 8, {0: 10, 1: 100, 2: 100, 3: 10, 4: 10, 5: 500, 6: 10, 7: 10}  # bytes of each decoded item
    budget, most_held = 150, 0
    loaded: list[int] = []
    changed = threading.Condition()

    def load(i: int) -> int:
        with changed:
            loaded.append(i)
            changed.notify_all()
        return i

    with ReadAhead(list(range(n)), load, depth=6, budget=budget, weight=weights.__getitem__) as reads:
        for i in range(n):
            with changed:  # as far as it may go: up to and including the item that reaches the budget
                assert changed.wait_for(lambda i=i: any(sum(weights[j] for j in range(i, k + 1)) >= budget
                                                        for k in loaded if k >= i) or len(loaded) == n, WAIT)
                held = [j for j in loaded if j >= i]
                most_held = max(most_held, len(held))
                assert sum(weights[j] for j in held[:-1]) < budget  # only the last one loaded may pass it
            assert reads.take(i) == i
    assert most_held < 6  # the budget, not the depth, stopped it


def test_read_ahead_hands_each_exception_to_its_item_and_goes_on() -> None:
    def load(i: int) -> int:
        if i == 1:
            raise ValueError("item 1 is broken")
        return i

    with ReadAhead([0, 1, 2], load, 2) as reads:
        assert reads.take(0) == 0
        with pytest.raises(ValueError, match="item 1 is broken"):
            reads.take(1)
        assert reads.take(2) == 2


def test_read_ahead_closed_early_stops_its_thread() -> None:
    started = threading.Event()

    def load(i: int) -> int:
        started.set()
        return i

    reads = ReadAhead(list(range(100)), load, 2)
    assert started.wait(WAIT)
    reads.close()
    assert not any(thread.is_alive() for thread in reads._threads)


def test_write_behind_returns_results_and_errors_in_submission_order() -> None:
    gate = threading.Event()
    with WriteBehind[int](1) as writes:
        writes.submit(lambda: gate.wait(WAIT) and 1)
        writes.submit(lambda: 1 // 0)
        assert list(writes.done()) == []  # the first is still running: nothing is handed out of order
        gate.set()
        results = writes.drain()
        assert next(results) == 1
        with pytest.raises(ZeroDivisionError):
            next(results)


def test_ahead_and_behind_pass_values_in_order_and_raise_in_the_caller() -> None:
    def frames():
        yield from range(5)
        raise VideoReadError(Path("x.mp4"), "broken after 5 frames")

    got: list[int] = []
    with pytest.raises(VideoReadError), ahead(frames(), 2) as decoded:
        got.extend(decoded)
    assert got == [0, 1, 2, 3, 4]

    consumed: list[int] = []

    def consume(value: int) -> None:
        if value == 3:
            raise OSError("disk full")
        consumed.append(value)

    with behind(consume, 2) as encoder, pytest.raises(OSError, match="disk full"):
        for value in range(6):
            encoder.put(value)
        encoder.flush()
    assert consumed == [0, 1, 2]  # nothing after the failure is written


# ------------------------------------------------------------------------------------------ in a batch


def test_the_next_photo_is_segmented_while_the_previous_one_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    third_segmented = threading.Event()
    real_write = batch_module.write_image

    def slow_write(pixels, dest, stem, *args, **kwargs):
        if stem.startswith("p0"):  # the first output is published only once a later photo is segmented
            assert third_segmented.wait(WAIT), "photos were not segmented while the first one was being written"
        return real_write(pixels, dest, stem, *args, **kwargs)

    monkeypatch.setattr(batch_module, "write_image", slow_write)
    paths = photos(tmp_path / "in", 4)
    seen: list[tuple[int, str]] = []
    processor = Counting(lambda n: third_segmented.set() if n == 3 else None)
    report = Batch(processor, EffectParams("blur"), progress=lambda d, _t, p: seen.append((d, p.name))).run(
        plan(paths, tmp_path / "out")[0])
    assert [o.source.name for o in report.outcomes] == ["p0.png", "p1.png", "p2.png", "p3.png"]
    assert all(o.ok for o in report.outcomes)
    assert seen == [(0, "p0.png"), (1, "p1.png"), (2, "p2.png"), (3, "p3.png"), (4, "p3.png")]
    for path, outcome in zip(paths, report.outcomes, strict=True):  # each output is its own input's
        assert np.array_equal(np.asarray(Image.open(outcome.output)), 255 - np.asarray(Image.open(path)))


def test_memory_is_bounded_reads_ahead_and_writes_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    state = {"reads": 0, "writes": 0, "most_read_ahead": 0, "most_waiting": 0}
    real_read, real_write = batch_module.read_image, batch_module.write_image

    def counted_read(path):
        with lock:
            state["reads"] += 1
        return real_read(path)

    def counted_write(*args, **kwargs):
        out = real_write(*args, **kwargs)
        with lock:
            state["writes"] += 1
        return out

    def on_call(n: int) -> None:  # photo n is being segmented: how many are decoded or waiting for the writer
        with lock:
            state["most_read_ahead"] = max(state["most_read_ahead"], state["reads"] - n)
            state["most_waiting"] = max(state["most_waiting"], (n - 1) - state["writes"])

    monkeypatch.setattr(batch_module, "read_image", counted_read)
    monkeypatch.setattr(batch_module, "write_image", counted_write)
    report = Batch(Counting(on_call), EffectParams("blur")).run(plan(photos(tmp_path / "in", 12), tmp_path / "out")[0])
    assert len(report.succeeded) == 12
    assert state["most_read_ahead"] <= READ_AHEAD
    assert state["most_waiting"] <= WRITE_BEHIND + 1  # queued, plus the one being encoded


def test_serial_and_overlapped_batches_write_the_same_files(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    paths = [*photos(tmp_path / "in", 3), short_video(tmp_path / "in", frames=6).path]
    results = {}
    for overlap in (False, True):
        out = tmp_path / f"out-{overlap}"
        report = Batch(Counting(), EffectParams("blur"), overlap=overlap).run(plan(paths, out)[0])
        assert [o.ok for o in report.outcomes] == [True] * 4 and report.outcomes[-1].frames == 6
        results[overlap] = {p.name: p.read_bytes() for p in out.iterdir()}
    assert results[True] == results[False]


def test_a_video_broken_midway_or_unwritable_fails_alone_with_nothing_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    clip = short_video(tmp_path / "in", frames=8).path
    paths = [clip, *photos(tmp_path / "in", 1)]
    before = file_hashes(paths)
    real_iter, real_write = batch_module.VideoReader.__iter__, VideoWriter.write

    def broken_iter(self):
        for i, frame in enumerate(real_iter(self)):
            if i == 4:
                raise VideoReadError(self.path, "the video is truncated or corrupt: it stopped after 4 of 8 frames")
            yield frame

    def broken_write(self, rgb):
        if self.frames_written == 3:
            raise VideoWriteError(self._target, "could not write the file: the disk is full")
        return real_write(self, rgb)

    for name, patch in (("read", ("__iter__", batch_module.VideoReader, broken_iter)),
                        ("write", ("write", VideoWriter, broken_write))):
        attr, owner, fake = patch
        with monkeypatch.context() as m:
            m.setattr(owner, attr, fake)
            out = tmp_path / f"out-{name}"
            report = Batch(Counting(), EffectParams("blur")).run(plan(paths, out)[0])
        assert [o.ok for o in report.outcomes] == [False, True], name
        assert str(clip) in (report.outcomes[0].error or "")
        assert listing(out) == ["p0_blur.png"] and no_temps(out)
    assert file_hashes(before) == before


def test_cancel_during_a_slow_write_still_publishes_what_was_segmented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancel = threading.Event()
    real_write = batch_module.write_image

    def write_then_cancel(pixels, dest, stem, *args, **kwargs):
        cancel.set()  # the user cancels while the first photo is being saved
        return real_write(pixels, dest, stem, *args, **kwargs)

    monkeypatch.setattr(batch_module, "write_image", write_then_cancel)
    out = tmp_path / "out"
    report = Batch(Counting(), EffectParams("blur"), cancel=cancel).run(plan(photos(tmp_path / "in", 6), out)[0])
    assert report.cancelled
    names = [o.output.name for o in report.outcomes if o.output]
    assert listing(out) == names and names == [f"p{i}_blur.png" for i in range(len(names))]  # a prefix, all whole
    assert 1 <= len(names) < 6 and no_temps(out)
