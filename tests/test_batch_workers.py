"""Photos on several workers (core.batch_workers): order, parallelism, the video barrier, failures, cancel."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
from corpus import file_hashes, listing, short_video, truncated_png, two_tone
from PIL import Image

from desktop_app.core.batch import Batch, plan
from desktop_app.core.batch_overlap import SKIP
from desktop_app.core.batch_workers import MAX_WORKERS, Workers, default_workers
from desktop_app.core.frames import Frame, Result
from desktop_app.core.params import EffectParams

WAIT = 10  # seconds an event may take before the test fails (never reached when the code works)


# ------------------------------------------------------------------------------------------ Workers


def test_workers_run_side_by_side_and_hand_results_back_in_order() -> None:
    """Item 0's load waits until item 1's has run: only two threads at once can finish it; order is kept."""
    second_ran = threading.Event()
    threads: dict[int, str] = {}

    def load(i: int) -> int:
        threads[i] = threading.current_thread().name
        if i == 0:
            assert second_ran.wait(WAIT), "item 1 never ran beside item 0"
        if i == 1:
            second_ran.set()
        return i * 10

    with Workers(list(range(6)), [load, load], depth=4) as workers:
        assert [workers.take(i) for i in range(6)] == [0, 10, 20, 30, 40, 50]
    assert threads[0] != threads[1]
    assert set(threads.values()) <= {"batch-worker-0", "batch-worker-1"}


def test_workers_stay_within_their_window() -> None:
    depth, n = 3, 10
    started: list[int] = []
    changed = threading.Condition()

    def load(i: int) -> int:
        with changed:
            started.append(i)
            changed.notify_all()
        return i

    with Workers(list(range(n)), [load, load], depth) as workers:
        for i in range(n):
            with changed:
                assert changed.wait_for(lambda i=i: len(started) >= min(n, i + depth), WAIT)
                assert len(started) <= i + depth  # never more than `depth` past what was taken
            assert workers.take(i) == i


def test_a_barrier_item_is_left_to_the_caller_and_nothing_past_it_starts_before_it_is_passed() -> None:
    items = ["p0", "p1", "video", "p3", "p4"]
    started: list[str] = []

    def load(item: str) -> str:
        started.append(item)
        return item.upper()

    with Workers(items, [load, load], depth=4, barrier=lambda item: item == "video") as workers:
        assert workers.take(0) == "P0" and workers.take(1) == "P1"
        assert workers.take(2) is SKIP
        assert "p3" not in started and "p4" not in started
        assert workers._blocked == 2 and workers._next == 3  # the claim past the barrier waits (not a race)
        workers.passed(2)
        assert workers.take(3) == "P3" and workers.take(4) == "P4"
    assert "video" not in started


def test_a_load_that_raises_fails_its_own_item_only() -> None:
    def load(i: int) -> int:
        if i == 2:
            raise ValueError("bad item")
        return i

    with Workers(list(range(5)), [load, load], depth=2) as workers:
        assert workers.take(0) == 0 and workers.take(1) == 1
        with pytest.raises(ValueError, match="bad item"):
            workers.take(2)
        assert workers.take(3) == 3 and workers.take(4) == 4


def test_close_joins_every_worker_even_mid_window() -> None:
    workers = Workers(list(range(50)), [lambda i: i, lambda i: i], depth=4)
    assert workers.take(0) == 0
    workers.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("batch-worker")]


def test_default_workers_follow_the_cores_at_best_quality_only() -> None:
    assert default_workers("best", 1) == 1 and default_workers("best", 2) == 2
    assert default_workers("best", 64) == MAX_WORKERS
    assert default_workers("fast", 8) == 1


# ------------------------------------------------------------------------------------------ Batch


VIDEO_FRAMES: list[int] = []  # video frames processed so far in this test (reset by `run`)


class Recording:
    """A processor that inverts pixels and records which thread ran it and whether another processor ran at
    the same time (`busy` is shared by every processor of one batch)."""

    def __init__(self, name: str, busy: list[str], overlaps: list[str], gate: threading.Event | None = None) -> None:
        self.name, self.busy, self.overlaps, self.gate = name, busy, overlaps, gate
        self.photos: list[str] = []
        self.video_frames = 0

    def set_params(self, params: EffectParams) -> None:
        pass

    def reset(self) -> None:
        pass

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        self.busy.append(self.name)
        try:
            if still:
                self.photos.append(Path(frame.source_id).name)
                self.overlaps.append(f"{Path(frame.source_id).name} after {len(VIDEO_FRAMES)} video frames")
                if self.gate is not None:
                    assert self.gate.wait(WAIT), "the other worker never ran"
            else:
                self.video_frames += 1
                VIDEO_FRAMES.append(1)
                if len(self.busy) > 1:
                    self.overlaps.append(f"a video frame beside {self.busy}")
            return Result(frame, 255 - frame.pixels)
        finally:
            self.busy.remove(self.name)


def photos(folder: Path, count: int, prefix: str = "p") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:02d}.png"
        Image.fromarray(two_tone(8, 4) // (i + 1)).save(path)
        paths.append(path)
    return paths


def run(folder: Path, out: Path, workers: int, spare=None, processor=None, **kw) -> tuple:  # type: ignore[no-untyped-def]
    busy: list[str] = []
    overlaps: list[str] = []
    VIDEO_FRAMES.clear()
    first = processor or Recording("first", busy, overlaps)
    made: list[Recording] = []

    def make() -> Recording:
        made.append(Recording(f"spare{len(made)}", busy, overlaps))
        return made[-1]

    jobs, _failures = plan([folder], out)
    report = Batch(first, EffectParams(effect="mask"), "png", workers=workers, spare=spare or make, **kw).run(jobs)
    return report, first, made, overlaps


def test_two_workers_give_the_same_outputs_in_the_same_order_as_one(tmp_path: Path) -> None:
    photos(tmp_path / "in", 9)
    one, *_ = run(tmp_path / "in", tmp_path / "one", workers=1)
    two, first, made, _ = run(tmp_path / "in", tmp_path / "two", workers=2)
    assert [o.source.name for o in two.outcomes] == [o.source.name for o in one.outcomes] == \
        [f"p{i:02d}.png" for i in range(9)]
    assert all(o.ok for o in two.outcomes)
    assert len(made) == 1  # one spare (which of the two takes which photo is up to the threads)
    assert sorted(first.photos + made[0].photos) == [f"p{i:02d}.png" for i in range(9)]
    same = {p.name: h for p, h in file_hashes((tmp_path / "one").glob("*.png")).items()}
    assert same == {p.name: h for p, h in file_hashes((tmp_path / "two").glob("*.png")).items()}
    assert (tmp_path / "two" / ".locallens-output").read_text().count('"') == 2 * 9


def test_the_two_workers_really_run_at_once(tmp_path: Path) -> None:
    """The first processor's photo waits until the spare's has started: a serial batch would time out."""
    photos(tmp_path / "in", 2)
    gate = threading.Event()
    busy: list[str] = []

    class Opening(Recording):
        def process(self, frame: Frame, still: bool | None = None) -> Result:
            gate.set()
            return super().process(frame, still)

    report, *_ = run(tmp_path / "in", tmp_path / "out", workers=2, spare=lambda: Opening("spare", busy, []),
                     processor=Recording("first", busy, [], gate=gate))
    assert all(o.ok for o in report.outcomes)


def test_a_video_between_photos_runs_alone_on_the_first_processor(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    photos(folder, 4)
    short_video(folder, frames=6)  # "short clip.mp4": after p00..p03, before z00..z03
    photos(folder, 4, prefix="z")
    report, first, made, overlaps = run(folder, tmp_path / "out", workers=2)
    assert [o.source.name for o in report.outcomes][3:6] == ["p03.png", "short clip.mp4", "z00.png"]
    assert all(o.ok for o in report.outcomes), [o.error for o in report.outcomes]
    assert first.video_frames == 6 and all(p.video_frames == 0 for p in made)
    assert not [line for line in overlaps if "beside" in line]  # no photo was processed while a video frame was
    for line in overlaps:  # the photos before the video ran before it; those after, after all its frames
        assert line.endswith("after 0 video frames" if line.startswith("p") else "after 6 video frames"), line


class WatchedLock:
    """A lock that says when a second thread had to wait for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waited = threading.Event()

    def __enter__(self) -> WatchedLock:
        if not self.lock.acquire(blocking=False):
            self.waited.set()
            self.lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_photos_over_the_size_limit_are_segmented_one_at_a_time(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker still reads its big photo, but one is segmented at a time (their memory adds up): while the
    first big photo is segmented, the other worker waits with its own; photos under the limit never wait."""
    from desktop_app.core import batch as batch_module

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20, 3), 10 * i, np.uint8)).save(folder / f"big{i}.png")  # 400 px: "big" here
    photos(folder, 4, prefix="s")  # 8x4: under the limit
    monkeypatch.setattr(batch_module, "HEAVY_PIXELS", 100)
    heavy = WatchedLock()
    busy: list[str] = []
    big_now: list[str] = []
    beside: list[list[str]] = []

    class Watching(Recording):
        def process(self, frame: Frame, still: bool | None = None) -> Result:
            name = Path(frame.source_id).name
            if not name.startswith("big"):
                return super().process(frame, still)
            beside.append(list(big_now))
            big_now.append(name)
            try:
                if len(beside) == 1:  # the first big one: the other worker, on the next big one, has to wait
                    assert heavy.waited.wait(WAIT), "a second big photo was not held back"
                return super().process(frame, still)
            finally:
                big_now.remove(name)

    first, spare = Watching("first", busy, []), Watching("spare", busy, [])
    jobs, _ = plan([folder], tmp_path / "out")
    batch = Batch(first, EffectParams(effect="mask"), "png", workers=2, spare=lambda: spare)
    batch._heavy = heavy  # type: ignore[assignment]
    report = batch.run(jobs)
    assert all(o.ok for o in report.outcomes) and len(report.outcomes) == 7
    assert beside == [[]] * 3  # no big photo was segmented while another was
    assert first.photos and spare.photos


def test_a_bad_photo_fails_alone_and_the_batch_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    photos(folder, 6)
    bad = truncated_png(folder)
    before = file_hashes(folder.iterdir())
    report, *_ = run(folder, tmp_path / "out", workers=2)
    failed = [o for o in report.outcomes if not o.ok]
    assert [o.source for o in failed] == [bad.path] and bad.error and bad.error in (failed[0].error or "")
    assert len(report.succeeded) == 6
    assert file_hashes(before) == before


def test_a_spare_that_cannot_be_made_leaves_the_batch_on_fewer_workers(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    photos(tmp_path / "in", 4)

    def broken() -> Recording:
        raise MemoryError("no room for another session")

    with caplog.at_level(logging.WARNING):
        report, first, *_ = run(tmp_path / "in", tmp_path / "out", workers=2, spare=broken)
    assert len(report.succeeded) == 4 and len(first.photos) == 4
    assert "another could not be made" in caplog.text


def test_a_cancel_stops_the_workers_and_leaves_only_whole_outputs(tmp_path: Path) -> None:
    photos(tmp_path / "in", 20)
    cancel = threading.Event()

    def progress(done: int, _total: int, _path: Path) -> None:
        if done == 3:  # the user cancels while the 4th photo is the current one
            cancel.set()

    report, first, made, _ = run(tmp_path / "in", tmp_path / "out", workers=2, cancel=cancel, progress=progress)
    assert report.cancelled
    assert [o.source.name for o in report.outcomes] == [f"p{i:02d}.png" for i in range(4)]
    assert all(o.ok for o in report.outcomes)
    assert listing(tmp_path / "out") == [f"p{i:02d}_mask.png" for i in range(4)]  # whole outputs, no temp
    assert len(first.photos) + len(made[0].photos) <= 4 + 2 * 2  # the workers stopped within their window


def test_one_photo_never_makes_a_spare(tmp_path: Path) -> None:
    photos(tmp_path / "in", 1)
    _report, _first, made, _ = run(tmp_path / "in", tmp_path / "out", workers=4)
    assert made == []


def test_without_overlap_there_are_no_workers(tmp_path: Path) -> None:
    photos(tmp_path / "in", 3)
    report, first, made, _ = run(tmp_path / "in", tmp_path / "out", workers=2, overlap=False)
    assert made == [] and len(first.photos) == 3 and len(report.succeeded) == 3


# ------------------------------------------------------------------------------------------ the real pipelines


def test_a_spare_pipeline_has_sessions_and_detectors_of_its_own() -> None:
    from desktop_app.core.batch_pipeline import batch_pipeline, spares
    from desktop_app.core.quality import people_models
    from desktop_app.core.segmenter import Segmenter

    segmenter, params = Segmenter("auto", device="cpu"), EffectParams(effect="blur")
    first, spare = batch_pipeline(segmenter, params), spares(segmenter, params)()
    assert first.people is people_models.SHARED
    assert spare.people is not people_models.SHARED and isinstance(spare.people, people_models.PeopleModels)
    assert spare.segmenter is not segmenter and spare.segmenter.engine is not segmenter.engine
    assert spare.segmenter._config == segmenter._config  # same model, device and threads


def test_cli_workers_give_the_same_files_as_one_worker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop_app.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), np.uint8)).save(folder / f"p{i}.png")
    for workers in ("1", "2"):
        assert main(["process", str(folder), "--effect", "blur", "--quality", "fast", "--workers", workers,
                     "--device", "cpu", "--out", str(tmp_path / workers)]) == 0
    one = {p.name: h for p, h in file_hashes((tmp_path / "1").glob("*.png")).items()}
    assert len(one) == 4 and one == {p.name: h for p, h in file_hashes((tmp_path / "2").glob("*.png")).items()}
    with pytest.raises(SystemExit) as refused:
        main(["process", str(folder), "--workers", "0"])
    assert refused.value.code == 2 and "at least 1" in capsys.readouterr().err
