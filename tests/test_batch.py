"""Batch on a fake processor: planning, per-file errors, cancel without partial files, video notes."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from corpus import file_hashes, listing, short_video, text_named_jpg, tiny_video, two_tone
from PIL import Image

from desktop_app.core import batch as batch_module
from desktop_app.core.batch import OUTPUT_MARKER, Batch, Job, Report, plan, recorded_outputs
from desktop_app.core.frames import Frame, Result
from desktop_app.core.params import EffectParams
from desktop_app.core.safe_write import is_temp_name


class Inverter:
    """Stands in for the pipeline: inverts pixels, records params/resets, can block on a frame."""

    def __init__(self, block_on: int | None = None) -> None:
        self.params: list[EffectParams] = []
        self.resets = 0
        self.calls = 0
        self.block_on = block_on
        self.reached = threading.Event()
        self.release = threading.Event()

    def set_params(self, params: EffectParams) -> None:
        self.params.append(params)

    def reset(self) -> None:
        self.resets += 1

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        self.calls += 1
        if self.block_on is not None and self.calls == self.block_on:
            self.reached.set()
            assert self.release.wait(10)
        return Result(frame, 255 - frame.pixels)


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"p{i}.png"
        Image.fromarray(two_tone(8, 4)).save(path)
        paths.append(path)
    return paths


def cancel_while_processing(jobs: list[Job], params: EffectParams, on_call: int) -> Report:
    """Run the batch on a thread, cancel it while the processor is inside call `on_call`, return the report."""
    processor = Inverter(block_on=on_call)
    cancel = threading.Event()
    batch = Batch(processor, params, cancel=cancel)
    result: list[Report] = []
    worker = threading.Thread(target=lambda: result.append(batch.run(jobs)))
    worker.start()
    assert processor.reached.wait(10)
    cancel.set()
    processor.release.set()
    worker.join(10)
    return result[0]


def test_plan_expands_folders_and_reports_missing_paths(tmp_path: Path) -> None:
    photos(tmp_path / "in" / "sub", 2)
    (tmp_path / "in" / ".hidden.png").write_bytes(b"x")
    (tmp_path / "in" / "notes.txt").write_text("x")
    jobs, failures = plan([tmp_path / "in", tmp_path / "gone.jpg", tmp_path / "in"], tmp_path / "out")
    assert [(j.source.name, j.out_dir) for j in jobs] == [
        ("p0.png", tmp_path / "out" / "sub"), ("p1.png", tmp_path / "out" / "sub")]
    assert [f.error for f in failures] == [f"{tmp_path / 'gone.jpg'}: file not found"]


def test_a_bad_file_is_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    paths = [*photos(tmp_path / "in", 2), text_named_jpg(tmp_path / "in").path]
    jobs, _ = plan(paths, tmp_path / "out")
    processor = Inverter()
    report = Batch(processor, EffectParams("blur")).run(jobs)
    assert [o.ok for o in report.outcomes] == [True, True, False]
    assert "notes.jpg: not an image" in (report.failed[0].error or "")
    out = np.asarray(Image.open(tmp_path / "out" / "p0_blur.png"))
    assert np.array_equal(out, 255 - two_tone(8, 4))
    assert processor.resets == 2  # every photo starts without temporal history


def test_cancel_between_images_stops_cleanly(tmp_path: Path) -> None:
    jobs, _ = plan(photos(tmp_path / "in", 4), tmp_path / "out")
    report = cancel_while_processing(jobs, EffectParams("blur"), on_call=2)
    assert report.cancelled
    assert listing(tmp_path / "out") == ["p0_blur.png", "p1_blur.png"]


def test_cancel_mid_video_leaves_no_partial_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    clip = short_video(tmp_path / "in", frames=9)
    before = file_hashes([clip.path])
    jobs, _ = plan([clip.path], tmp_path / "out")
    report = cancel_while_processing(jobs, EffectParams("remove"), on_call=4)
    assert report.cancelled and report.outcomes == []
    assert list((tmp_path / "out").iterdir()) == []  # no temp file, no half video
    assert file_hashes(before) == before


def test_video_gets_green_screen_for_remove_and_a_note(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    clip = short_video(tmp_path / "in", frames=5)
    jobs, _ = plan([clip.path], tmp_path / "out")
    processor = Inverter()
    report = Batch(processor, EffectParams("remove")).run(jobs)
    outcome = report.outcomes[0]
    assert outcome.ok and outcome.frames == 5
    assert outcome.output == tmp_path / "out" / "short clip_remove.mp4"
    assert processor.params[-1].color == (0, 177, 64)
    assert outcome.notes == ["MP4 has no transparency: the background was replaced by green screen"]


def test_progress_is_reported_for_every_item(tmp_path: Path) -> None:
    jobs, _ = plan(photos(tmp_path / "in", 3), tmp_path / "out")
    seen: list[tuple[int, int, str]] = []
    Batch(Inverter(), EffectParams("blur"), progress=lambda d, t, p: seen.append((d, t, p.name))).run(jobs)
    assert seen == [(0, 3, "p0.png"), (1, 3, "p1.png"), (2, 3, "p2.png"), (3, 3, "p2.png")]


# ---------------------------------------------------------------------------------- hostile inputs (issue #8)


class Raiser(Inverter):
    """Raises `exc` when processing the input whose name contains `on`."""

    def __init__(self, exc: BaseException, on: str) -> None:
        super().__init__()
        self.exc, self.on = exc, on

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        if self.on in frame.source_id:
            raise self.exc
        return super().process(frame, still)


def temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if is_temp_name(p.name)]


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (ValueError("operands could not be broadcast"),
         "unexpected error (ValueError: operands could not be broadcast); details are in the log"),
        (cv2.error("OpenCV(4.10) resize.cpp:4152: error: (-215:Assertion failed)\nin function 'resize'"),
         "unexpected error (error: OpenCV(4.10) resize.cpp:4152: error: (-215:Assertion failed)); "
         "details are in the log"),
        (MemoryError(), "not enough memory to process this file"),
    ],
)
def test_an_unexpected_error_fails_one_input_and_the_batch_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, exc: BaseException, reason: str
) -> None:
    (tmp_path / "in").mkdir()
    paths = [*photos(tmp_path / "in", 3), short_video(tmp_path / "in", frames=4).path]
    before = file_hashes(paths)
    for on in ("p1.png", "short clip.mp4"):  # one photo, then one video mid-write
        out = tmp_path / f"out-{on[0]}"
        jobs, _ = plan(paths, out)
        with caplog.at_level(logging.ERROR, logger="locallens"):
            report = Batch(Raiser(exc, on), EffectParams("blur")).run(jobs)
        assert [o.source.name for o in report.failed] == [on]
        assert report.failed[0].error == f"{tmp_path / 'in' / on}: {reason}"
        assert "\n" not in (report.failed[0].error or "")
        assert len(report.succeeded) == 3
        assert any(r.exc_info and r.exc_info[1] is exc for r in caplog.records)  # the traceback goes to the log
        assert temps(out) == []
    assert file_hashes(before) == before


@pytest.mark.parametrize("stage", ["read_image", "write_image"])
def test_an_unexpected_error_while_reading_or_writing_is_one_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    real = getattr(batch_module, stage)

    def flaky(*args: object, **kwargs: object) -> object:
        if "p0" in str(args[0]) or ("p0" in str(args[2]) if len(args) > 2 else False):
            raise TypeError(f"{stage} exploded")
        return real(*args, **kwargs)

    monkeypatch.setattr(batch_module, stage, flaky)
    jobs, _ = plan(photos(tmp_path / "in", 2), tmp_path / "out")
    report = Batch(Inverter(), EffectParams("blur")).run(jobs)
    assert [o.ok for o in report.outcomes] == [False, True]
    assert f"unexpected error (TypeError: {stage} exploded)" in (report.failed[0].error or "")


def test_tiny_videos_fail_cleanly_and_the_batch_goes_on(tmp_path: Path) -> None:
    tall, wide = tiny_video(tmp_path / "in"), tiny_video(tmp_path / "in", (64, 1))
    paths = [tall.path, wide.path, *photos(tmp_path / "in", 1)]
    before = file_hashes(paths)
    jobs, _ = plan(paths, tmp_path / "out")
    report = Batch(Inverter(), EffectParams("blur")).run(jobs)
    assert [o.error for o in report.outcomes] == [
        f"{tall.path}: too small to save as MP4 (1x64; needs at least 2x2)",
        f"{wide.path}: too small to save as MP4 (64x1; needs at least 2x2)",
        None,
    ]
    assert listing(tmp_path / "out") == ["p0_blur.png"]
    assert file_hashes(before) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_a_fifo_named_like_a_video_fails_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "stream.mp4"
    os.mkfifo(fifo)
    jobs, _ = plan([fifo, *photos(tmp_path / "in", 1)], tmp_path / "out")
    result: list[Report] = []
    worker = threading.Thread(target=lambda: result.append(Batch(Inverter(), EffectParams("blur")).run(jobs)))
    worker.start()
    worker.join(10)
    if worker.is_alive():  # blocked opening the FIFO: give it a writer so the thread ends and the test fails
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
        pytest.fail("the batch blocked on a FIFO")
    assert [o.error for o in result[0].outcomes] == [f"{fifo}: not a regular file", None]


def test_stale_temps_are_removed_at_the_start_and_fresh_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / "~locallens-unfinished-00112233aabb.mp4"  # left by a kill -9
    fresh = out / "~locallens-unfinished-aabbccddeeff.png"  # another LocalLens, writing right now
    for path in (stale, fresh):
        path.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    jobs, _ = plan(photos(tmp_path / "in", 1), out)
    Batch(Inverter(), EffectParams("blur")).run(jobs)
    assert not stale.exists() and fresh.exists()


def test_same_stems_get_outputs_told_apart_by_name_in_any_order(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.jpg", "a.png", "b.png"):
        Image.fromarray(two_tone(8, 4)).save(folder / name, "PNG")
    forward = [folder / "a.jpg", folder / "a.png", folder / "b.png"]
    for order in (forward, forward[::-1]):
        out = tmp_path / f"out{order[0].name}"
        jobs, _ = plan(order, out)
        report = Batch(Inverter(), EffectParams("blur")).run(jobs)
        assert {o.source.name: o.output.name for o in report.outcomes if o.output} == {
            "a.jpg": "a_jpg_blur.png", "a.png": "a_png_blur.png", "b.png": "b_blur.png"}
    jobs, _ = plan([folder], tmp_path / "whole")  # a folder scan too
    assert sorted(j.base for j in jobs) == ["a_jpg", "a_png", "b"]


def test_scanning_skips_earlier_outputs_and_temp_files_but_not_the_users_files(tmp_path: Path) -> None:
    photos(tmp_path / "album", 1)
    photos(tmp_path / "album" / "locallens-output", 1)  # the CLI's default output folder name
    (tmp_path / "album" / "~locallens-unfinished-0123456789ab.png").write_bytes(b"half")
    exported = tmp_path / "album" / "exported"  # a folder the user also keeps their own photos in
    jobs, _ = plan(photos(exported, 2), exported)
    Batch(Inverter(), EffectParams("blur")).run(jobs)  # writes p0_blur.png, p1_blur.png beside p0, p1
    assert listing(exported) == [
        "p0.png", "p0_blur.png", "p1.png", "p1_blur.png"]
    jobs, _ = plan([tmp_path / "album"], tmp_path / "out")
    assert [str(j.source.relative_to(tmp_path)) for j in jobs] == [
        "album/exported/p0.png", "album/exported/p1.png", "album/p0.png"]


def test_every_output_is_recorded_and_a_broken_record_is_harmless(tmp_path: Path) -> None:
    jobs, _ = plan([*photos(tmp_path / "in", 2), tmp_path / "in" / "gone.png"], tmp_path / "out")
    Batch(Inverter(), EffectParams("blur")).run(jobs)
    assert recorded_outputs(tmp_path / "out") == {"p0_blur.png", "p1_blur.png"}
    jobs, _ = plan([text_named_jpg(tmp_path / "in").path], tmp_path / "nothing")
    Batch(Inverter(), EffectParams("blur")).run(jobs)
    assert not (tmp_path / "nothing").exists()  # no output, no folder, no record
    (tmp_path / "out" / OUTPUT_MARKER).write_bytes(b"\xff\xfe not a record")
    assert recorded_outputs(tmp_path / "out") == set()


def test_webp_too_large_falls_back_to_png_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "pano.png"
    Image.fromarray(two_tone(20000, 2)).save(path)
    jobs, _ = plan([path, *photos(tmp_path / "in", 1)], tmp_path / "out")
    report = Batch(Inverter(), EffectParams("blur"), fmt="webp").run(jobs)
    assert [(o.output.name if o.output else o.error, o.notes) for o in report.outcomes] == [
        ("pano_blur.png", ["WebP cannot hold 20000 px; saved as PNG"]), ("p0_blur.webp", [])]
