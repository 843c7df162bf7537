"""PNG sequences: `--format png` with a video writes `<stem>_<effect>/000001.png ...`, full size, lossless, atomic."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from corpus import file_hashes, short_video, tiny_video
from PIL import Image
from test_batch import Inverter, photos

from desktop_app.core import sequence as sequence_mod
from desktop_app.core.batch import OUTPUT_MARKER, Batch, Job, Report, plan, recorded_outputs
from desktop_app.core.frames import Frame, Result
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.safe_write import is_temp_name, remove_stale_temps
from desktop_app.core.sequence import SequenceWriteError, SequenceWriter, frame_name
from desktop_app.core.videoio import VideoReader

SIZE = (64, 48)


class LeftHalf:
    """A per-frame segmenter: the person is the left half."""

    spec = None

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        mask = np.zeros((32, 32), np.float32)
        mask[:, :16] = 1.0
        return mask, {}


def clip(tmp_path: Path, frames: int = 5) -> Path:
    (tmp_path / "in").mkdir(exist_ok=True)
    return short_video(tmp_path / "in", frames=frames, size=SIZE).path


def ours(folder: Path) -> list[str]:
    """Every temp file or folder of ours under `folder`."""
    return [p.name for p in folder.rglob("*") if is_temp_name(p.name)]


def frames_of(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(("effect", "mode"), [("mask", "L"), ("remove", "RGBA"), ("blur", "RGB"), ("replace", "RGB")])
def test_a_five_frame_video_becomes_five_full_size_pngs(tmp_path: Path, effect: str, mode: str) -> None:
    source = clip(tmp_path)
    before = file_hashes([source])
    back = tmp_path / "back.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(back)
    params = EffectParams(effect=effect, feather=0.0, smoothing=0.0, background=back if effect == "replace" else None)
    jobs, _ = plan([source], tmp_path / "out")
    pipeline = Pipeline(LeftHalf(), params, temporal=True)
    pipeline.video_crop = False  # the fake's half ignores the picture, so a crop would not see it
    report = Batch(pipeline, params, video_format="png").run(jobs)
    outcome = report.outcomes[0]
    folder = tmp_path / "out" / f"short clip_{effect}"
    assert outcome.ok and outcome.output == folder and outcome.frames == 5
    assert frames_of(folder) == [frame_name(i) for i in range(1, 6)] == [f"00000{i}.png" for i in range(1, 6)]
    for name in frames_of(folder):
        with Image.open(folder / name) as image:
            assert image.format == "PNG" and image.mode == mode and image.size == SIZE
            pixels = np.asarray(image)
        if effect == "remove":  # transparent background, no green screen
            assert pixels[:, -8:, 3].max() == 0 and pixels[:, :8, 3].min() == 255
            assert not np.any(np.all(pixels[..., :3] == (0, 177, 64), axis=-1))
        if effect == "mask":
            assert pixels[:, :8].min() == 255 and pixels[:, -8:].max() == 0
    assert outcome.notes == []  # no green-screen note (the input has no audio track)
    assert recorded_outputs(tmp_path / "out") == {f"short clip_{effect}"}
    assert ours(tmp_path) == []
    assert file_hashes(before) == before


def test_frames_are_lossless(tmp_path: Path) -> None:
    source = clip(tmp_path)
    jobs, _ = plan([source], tmp_path / "out")
    outcome = Batch(Inverter(), EffectParams("blur"), video_format="png").run(jobs).outcomes[0]
    with VideoReader(source) as reader:
        decoded = list(reader)
    assert outcome.output is not None
    for i, rgb in enumerate(decoded, start=1):
        np.testing.assert_array_equal(np.asarray(Image.open(outcome.output / frame_name(i))), 255 - rgb)


def test_never_replaces_a_folder_a_file_or_an_empty_folder(tmp_path: Path) -> None:
    source = clip(tmp_path)
    out = tmp_path / "out"
    (out / "short clip_blur").mkdir(parents=True)
    (out / "short clip_blur" / "000001.png").write_bytes(b"mine")
    (out / "short clip_blur-1").mkdir()  # empty: a plain rename would replace it on POSIX
    (out / "short clip_blur-2").write_bytes(b"a file")
    before = file_hashes([out / "short clip_blur" / "000001.png", out / "short clip_blur-2"])
    jobs, _ = plan([source], out)
    outcome = Batch(Inverter(), EffectParams("blur"), video_format="png").run(jobs).outcomes[0]
    assert outcome.output == out / "short clip_blur-3" and len(frames_of(outcome.output)) == 5
    assert file_hashes(before) == before
    assert frames_of(out / "short clip_blur") == ["000001.png"] and frames_of(out / "short clip_blur-1") == []
    assert ours(tmp_path) == []


class FailOn(Inverter):
    def __init__(self, call: int) -> None:
        super().__init__()
        self.fail_on = call

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ValueError("broken frame")
        return Result(frame, 255 - frame.pixels)


def test_a_failure_mid_video_leaves_no_folder_and_the_batch_goes_on(tmp_path: Path) -> None:
    source = clip(tmp_path)
    jobs, _ = plan([source, *photos(tmp_path / "in", 1)], tmp_path / "out")
    report = Batch(FailOn(3), EffectParams("blur"), video_format="png").run(jobs)
    assert [o.ok for o in report.outcomes] == [False, True]
    assert "unexpected error (ValueError: broken frame)" in (report.outcomes[0].error or "")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [OUTPUT_MARKER, "p0_blur.png"]
    assert ours(tmp_path) == []


def test_a_full_disk_is_one_clear_line_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = sequence_mod._to_image
    calls = []

    def full(pixels: np.ndarray) -> Image.Image:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(pixels)

    monkeypatch.setattr(sequence_mod, "_to_image", full)
    jobs, _ = plan([clip(tmp_path)], tmp_path / "out")
    outcome = Batch(Inverter(), EffectParams("blur"), video_format="png").run(jobs).outcomes[0]
    assert outcome.error is not None and "the disk is full" in outcome.error and "\n" not in outcome.error
    assert list((tmp_path / "out").iterdir()) == []


def test_cancel_mid_video_leaves_no_folder(tmp_path: Path) -> None:
    jobs, _ = plan([clip(tmp_path, frames=9)], tmp_path / "out")
    processor, cancel = Inverter(block_on=4), threading.Event()
    batch = Batch(processor, EffectParams("mask"), cancel=cancel, video_format="png")
    result: list[Report] = []
    worker = threading.Thread(target=lambda: result.append(batch.run(jobs)))
    worker.start()
    assert processor.reached.wait(10)
    cancel.set()
    processor.release.set()
    worker.join(10)
    assert result[0].cancelled and result[0].outcomes == []
    assert list((tmp_path / "out").iterdir()) == []


def test_tiny_videos_work_as_sequences(tmp_path: Path) -> None:
    """MP4 needs 2x2; PNG does not: a 1x64 video becomes 1x64 frames."""
    source = tiny_video(tmp_path / "in").path
    jobs, _ = plan([source], tmp_path / "out")
    outcome = Batch(Inverter(), EffectParams("blur"), video_format="png").run(jobs).outcomes[0]
    assert outcome.ok and outcome.output is not None
    assert Image.open(outcome.output / frame_name(1)).size == (1, 64)


def test_mp4_stays_the_default_with_green_screen_for_remove(tmp_path: Path) -> None:
    jobs, _ = plan([clip(tmp_path)], tmp_path / "out")
    processor = Inverter()
    outcome = Batch(processor, EffectParams("remove")).run(jobs).outcomes[0]
    assert outcome.output == tmp_path / "out" / "short clip_remove.mp4"
    assert processor.params[-1].color == (0, 177, 64)
    with pytest.raises(ValueError, match="unknown video format 'gif'"):
        Batch(processor, EffectParams("blur"), video_format="gif")


def test_stale_temp_folders_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stale, fresh = out / "~locallens-unfinished-00112233aabb", out / "~locallens-unfinished-aabbccddeeff"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "000001.png").write_bytes(b"half")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert is_temp_name(stale.name) and not is_temp_name("~locallens-unfinished-00112233aabb-1")
    jobs, _ = plan(photos(tmp_path / "in", 1), out)
    Batch(Inverter(), EffectParams("blur")).run(jobs)
    assert not stale.exists() and fresh.exists()
    # a link named like ours is left alone, and so is what it points to
    target = tmp_path / "keep"
    target.mkdir()
    (target / "a.png").write_bytes(b"x")
    link = out / "~locallens-unfinished-0000000000aa"
    link.symlink_to(target, target_is_directory=True)
    os.utime(link, (old, old), follow_symlinks=False)
    remove_stale_temps(out)
    assert (target / "a.png").exists()


def test_scans_skip_sequence_folders_and_temp_folders_but_not_the_users_folders(tmp_path: Path) -> None:
    album = tmp_path / "album"
    source = clip(tmp_path)
    jobs, _ = plan([source], album)
    Batch(Inverter(), EffectParams("blur"), video_format="png").run(jobs)  # album/short clip_blur/0000*.png
    photos(album / "~locallens-unfinished-0123456789ab", 1)  # a run killed mid-sequence
    photos(album / "holiday", 1)  # the user's own folder of frames
    assert [str(j.source.relative_to(tmp_path)) for j in plan([album], tmp_path / "out")[0]] == ["album/holiday/p0.png"]


def test_the_writer_alone(tmp_path: Path) -> None:
    with SequenceWriter(tmp_path / "new" / "deep", "clip_mask") as writer:
        writer.write(np.zeros((4, 6), np.uint8))
        writer.write(np.zeros((4, 6, 4), np.uint8))
    assert writer.final == tmp_path / "new" / "deep" / "clip_mask" and writer.frames_written == 2
    with pytest.raises(RuntimeError):
        writer.write(np.zeros((4, 6), np.uint8))
    with pytest.raises(ValueError), SequenceWriter(tmp_path, "bad") as bad:
        bad.write(np.zeros((4, 6, 2), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
    (tmp_path / "a file").write_bytes(b"x")
    with pytest.raises(SequenceWriteError, match="the output folder is a file"):
        SequenceWriter(tmp_path / "a file", "clip")


def test_a_job_named_by_collision_keeps_its_told_apart_name(tmp_path: Path) -> None:
    source = clip(tmp_path)
    outcome = Batch(Inverter(), EffectParams("blur"), video_format="png").run(
        [Job(source, tmp_path / "out", "short clip_mp4")]).outcomes[0]
    assert outcome.output == tmp_path / "out" / "short clip_mp4_blur"


def test_ctrl_c_mid_sequence_removes_the_temp_folder(tmp_path: Path) -> None:
    class Interrupt(Inverter):
        def process(self, frame: Frame, still: bool | None = None) -> Result:
            if self.calls == 2:
                raise KeyboardInterrupt
            return super().process(frame, still)

    jobs, _ = plan([clip(tmp_path)], tmp_path / "out")
    with pytest.raises(KeyboardInterrupt):
        Batch(Interrupt(), EffectParams("blur"), video_format="png").run(jobs)
    assert list((tmp_path / "out").iterdir()) == []


def test_batch_marks_photos_as_stills_and_video_frames_not(tmp_path: Path) -> None:
    seen: list[bool | None] = []

    class Recorder(Inverter):
        def process(self, frame: Frame, still: bool | None = None) -> Result:
            seen.append(still)
            return super().process(frame, still)

    jobs, _ = plan([*photos(tmp_path / "in", 1), clip(tmp_path, frames=3)], tmp_path / "out")
    Batch(Recorder(), EffectParams("blur"), video_format="png").run(jobs)
    assert seen == [True, None, None, None]
