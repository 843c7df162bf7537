"""Issue #8 end to end through `process`: hostile inputs, damaged installs and signals never stop a batch,
never lose an original (byte-identical afterwards) and never leave a temp file; each gets its exact outcome."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO
from corpus import build_hostile, file_hashes, short_video
from PIL import Image
from test_cli import run

from desktop_app.cli import main
from desktop_app.core.batch import OUTPUT_MARKER, printable
from desktop_app.core.safe_write import is_temp_name

SAMPLE = REPO / "assets" / "samples" / "astronaut.jpg"


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if is_temp_name(p.name)] if folder.exists() else []


def app_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of models/ and assets/ used instead of the bundled ones (LOCALLENS_ROOT)."""
    root = tmp_path / "app"
    shutil.copytree(REPO / "models", root / "models")
    shutil.copytree(REPO / "assets", root / "assets")
    monkeypatch.setenv("LOCALLENS_ROOT", str(root))
    return root


def test_hostile_inputs_each_get_their_outcome_and_the_batch_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    cases = build_hostile(folder)
    shutil.copy(SAMPLE, folder / "a.jpg")
    Image.open(SAMPLE).save(folder / "a.png")  # same stem, another extension
    inputs = [c.path for c in cases] + [folder / "a.jpg", folder / "a.png"]
    before = file_hashes(inputs)
    out = tmp_path / "out"

    code, stdout, stderr = run(capsys, "process", *map(str, inputs), "--out", str(out))

    assert code == 1
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    bad = [c for c in cases if not c.ok]
    assert len(errors) == len(bad)  # one line each: a newline in a name does not split a failure
    for case in bad:
        assert [line for line in errors if case.error in line and printable(str(case.path)) in line], case.name
    long_name = next(c for c in cases if c.name == "long-multibyte-name")
    written = sorted(p.name for p in out.iterdir() if p.name != OUTPUT_MARKER)
    assert written == sorted(["a_jpg_blur.png", "a_png_blur.png", f"{'写' * 80}_blur.png"])
    assert all(len(name.encode()) <= 255 for name in written) and long_name.ok
    assert f"3 of {len(inputs)} inputs processed" in stdout
    assert any(line.startswith("note: details are in the log: ") for line in lines)
    assert file_hashes(before) == before
    assert temps(out) == []


def test_sigterm_mid_write_removes_the_temp_file_and_exits_143(tmp_path: Path) -> None:
    clip = short_video(tmp_path, frames=900, size=(64, 48)).path
    before = file_hashes([clip])
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "process", str(clip), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait (on the child, not a fixed sleep) until the video's temp file exists: it is mid-write.
        deadline = time.monotonic() + 120
        while not temps(out):
            assert time.monotonic() < deadline, "no temp file appeared"
            try:
                proc.wait(timeout=0.005)
                pytest.fail(f"finished before it could be interrupted: {proc.communicate()}")
            except subprocess.TimeoutExpired:
                pass
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "terminated: unfinished outputs were removed"
    assert "Traceback" not in stderr
    assert temps(out) == [] and list(out.glob("*.mp4")) == []
    assert file_hashes(before) == before


def test_processing_a_parent_folder_skips_earlier_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    parent = tmp_path / "photos"
    (parent / "trip").mkdir(parents=True)
    shutil.copy(SAMPLE, parent / "trip" / "bus.jpg")
    assert run(capsys, "process", str(parent / "trip"), "--out", str(parent / "results"))[0] == 0
    monkeypatch.chdir(parent)  # the default output folder, ./locallens-output, lands inside the parent
    assert run(capsys, "process", str(parent / "trip"))[0] == 0
    code, stdout, _ = run(capsys, "process", str(parent), "--out", str(tmp_path / "again"))
    assert code == 0 and "1 of 1 inputs processed" in stdout
    names = sorted(str(p.relative_to(tmp_path / "again")) for p in (tmp_path / "again").rglob("*.png"))
    assert names == ["trip/bus_blur.png"]  # no results/bus_blur_blur.png, no locallens-output/...


def test_a_damaged_second_model_stops_the_run_before_anything_is_processed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = app_copy(tmp_path, monkeypatch)
    from desktop_app.core.models import choose_variant, load_manifest

    landscape = choose_variant(load_manifest(root / "models").get("selfie-landscape"), gpu=False)
    target = root / "models" / landscape.file
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    wide = tmp_path / "wide.png"
    Image.fromarray(np.full((90, 320, 3), 128, np.uint8)).save(wide)  # would need the landscape model
    code, _, stderr = run(capsys, "process", str(SAMPLE), str(wide), "--out", str(tmp_path / "out"))
    assert code == 1
    first = stderr.splitlines()[0]
    assert first.startswith("error: model file ") and landscape.file in first and "(model selfie-landscape)" in first
    assert not (tmp_path / "out").exists()  # checked before the first input, not midway
    code, _, _ = run(capsys, "process", str(SAMPLE), "--model", "selfie-general", "--out", str(tmp_path / "o2"))
    assert code == 0  # the intact model alone still works


def test_a_damaged_detector_stops_a_best_quality_run_before_anything_is_processed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Best-quality photos load the person detector on their first photo: a tampered one must not silently give
    worse masks (the detector is what keeps background objects out), so it is checked with the other models."""
    from desktop_app.core.models import choose_variant, load_manifest

    root = app_copy(tmp_path, monkeypatch)
    spec = load_manifest(root / "models").of_kind("person-detection")[0]
    detector = choose_variant(spec, gpu=False)
    target = root / "models" / detector.file
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--out", str(tmp_path / "out"))
    assert code == 1
    first = stderr.splitlines()[0]
    assert first.startswith("error: model file ") and detector.file in first and f"(model {spec.id})" in first
    assert not (tmp_path / "out").exists()
    code, _, _ = run(capsys, "process", str(SAMPLE), "--quality", "fast", "--out", str(tmp_path / "fast"))
    assert code == 0  # the fast path does not use the detector


def test_an_unknown_model_is_a_usage_error_listing_the_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--model", "nosuch", "--out", str(tmp_path / "out"))
    assert code == 2
    assert "unknown model 'nosuch'; known models: auto, selfie-general, selfie-landscape" in stderr
    assert not (tmp_path / "out").exists()


def test_builtin_backgrounds_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["process", "--help"])
    assert "bokeh, coffee, gradient, rocket" in " ".join(capsys.readouterr().out.split())
    out = tmp_path / "out"
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--effect", "replace", "--background", "bokeh",
                          "--out", str(out))
    assert code == 0, stderr
    assert (out / "astronaut_replace.png").is_file()
    own = tmp_path / "mine.png"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(own)
    assert run(capsys, "process", str(SAMPLE), "--effect", "replace", "--background", str(own),
               "--out", str(out))[0] == 0  # a real file still works
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--effect", "replace", "--background", "beach",
                          "--out", str(out))
    assert code == 2
    assert "background image not found: beach (built-in backgrounds: bokeh, coffee, gradient, rocket)" in stderr


def test_an_unexpected_error_is_one_line_with_the_traceback_in_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_app.core.pipeline import Pipeline

    real = Pipeline.process

    def process(self: Pipeline, frame, still=None):  # type: ignore[no-untyped-def]
        if "first" in frame.source_id:
            raise ValueError("broadcast mismatch")
        return real(self, frame, still)

    monkeypatch.setattr(Pipeline, "process", process)
    first, second = tmp_path / "first.jpg", tmp_path / "second.jpg"
    shutil.copy(SAMPLE, first)
    shutil.copy(SAMPLE, second)
    code, _, stderr = run(capsys, "process", str(first), str(second), "--out", str(tmp_path / "out"))
    assert code == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {first}: unexpected error (ValueError: broadcast mismatch); details are in the log"]
    log = Path(os.environ["LOCALLENS_DATA_DIR"]) / "locallens.log"
    assert f"note: details are in the log: {log}" in stderr
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "ValueError: broadcast mismatch" in text
    assert (tmp_path / "out" / "second_blur.png").is_file()


@pytest.mark.parametrize("damage", ["model missing", "model bad sha", "manifest invalid json", "manifest missing"])
def test_self_test_ends_with_its_summary_when_the_install_is_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    root = app_copy(tmp_path, monkeypatch)
    from desktop_app.core.models import choose_variant, load_manifest

    manifest = root / "models" / "manifest.json"
    model = choose_variant(load_manifest(root / "models").get("selfie-general"), gpu=False).path  # what auto loads
    if damage == "model missing":
        model.unlink()
    elif damage == "model bad sha":
        model.write_bytes(model.read_bytes()[:-1] + b"\0")
    elif damage == "manifest invalid json":
        manifest.write_text("{ not json")
    else:
        manifest.unlink()
    code, stdout, stderr = run(capsys, "self-test")
    assert code == 1
    assert "Traceback" not in stdout + stderr
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("self-test FAILED: "), stdout
    assert any(line.startswith("FAIL  ") for line in stdout.splitlines())


def test_a_full_disk_fails_the_video_with_one_line_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    if sys.platform != "linux" or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)],
                                                 capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        clip = tmp_path / "noise.mp4"
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (64, 48))
        for frame in np.random.default_rng(0).integers(0, 256, (60, 48, 64, 3), np.uint8):
            writer.write(frame)
        writer.release()
        before = file_hashes([clip])
        code, _, stderr = run(capsys, "process", str(clip), "--out", str(disk / "out"))
        assert code == 1
        errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
        output = disk / "out" / "noise_blur.mp4"
        assert errors == [f"error: {clip}: could not write the video: the disk is full (output: {output})"]
        assert [p.name for p in (disk / "out").iterdir()] == []
        assert file_hashes(before) == before
    finally:
        subprocess.run(["umount", str(disk)], check=True)
