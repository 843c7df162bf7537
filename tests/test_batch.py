"""Batch on a fake processor: planning, per-file errors, cancel without partial files, video notes."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from corpus import file_hashes, short_video, text_named_jpg, two_tone
from PIL import Image

from desktop_app.core.batch import Batch, Job, Report, plan
from desktop_app.core.frames import Frame, Result
from desktop_app.core.params import EffectParams


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

    def process(self, frame: Frame) -> Result:
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
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0_blur.png", "p1_blur.png"]


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
