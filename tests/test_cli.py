"""`main.py process / models` end to end on the real bundled model: exit codes, outputs, and inputs untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO
from corpus import SECRET, build_corpus, file_hashes, missing_path, short_video, unwritable_dir
from PIL import Image

from desktop_app.cli import main
from desktop_app.core.batch import OUTPUT_MARKER

SAMPLE = REPO / "assets" / "samples" / "astronaut.jpg"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(folder: Path) -> list[str]:
    """Temp or partial files a crash or a failure might leave behind (the output marker is meant to stay)."""
    return [p.name for p in folder.rglob("*") if p.name != OUTPUT_MARKER and (
        p.name.startswith((".", "~")) or p.suffix in (".tmp", ".part"))]


def outputs(folder: Path) -> list[str]:
    """The files in `folder`, less the output marker."""
    return sorted(p.name for p in folder.iterdir() if p.name != OUTPUT_MARKER)


def test_corpus_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = build_corpus(tmp_path / "in")
    cases.append(missing_path(tmp_path / "in"))
    existing = [c.path for c in cases if c.path.exists()]
    before = file_hashes(existing)
    out = tmp_path / "out"

    code, stdout, stderr = run(capsys, "process", *[str(c.path) for c in cases], "--out", str(out))

    assert code == 1
    error_lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    bad = [c for c in cases if not c.ok]
    assert len(error_lines) == len(bad)
    for case in bad:
        matching = [line for line in error_lines if str(case.path) in line]
        assert len(matching) == 1, (case.name, error_lines)
        assert case.error in matching[0], (case.name, matching[0])
    good = [c for c in cases if c.ok]
    expected = sorted(f"{c.path.stem}_blur.{'mp4' if c.kind == 'video' else 'png'}" for c in good)
    assert outputs(out) == expected
    assert (out / OUTPUT_MARKER).is_file()
    assert f"{len(good)} of {len(cases)} inputs processed" in stdout
    assert file_hashes(before) == before
    assert leftovers(out) == []


def test_exif_orientation_applied_and_metadata_stripped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {c.name: c for c in build_corpus(tmp_path / "in", videos=False)}
    rotated, gps = cases["exif-rotated"], cases["jpeg-with-gps"]
    code, _, _ = run(capsys, "process", str(rotated.path), str(gps.path), "--format", "jpg",
                     "--out", str(tmp_path / "out"))
    assert code == 0
    with Image.open(tmp_path / "out" / "rotated_blur.jpg") as im:
        assert im.size == (20, 40)
        assert im.getexif() == {}
    data = (tmp_path / "out" / "with gps_blur.jpg").read_bytes()
    assert SECRET.encode() not in data
    assert b"Exif" not in data


def test_never_overwrites_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert run(capsys, "process", str(SAMPLE), "--out", str(out))[0] == 0
    first = file_hashes([out / "astronaut_blur.png"])
    assert run(capsys, "process", str(SAMPLE), "--out", str(out), "--strength", "90")[0] == 0
    assert outputs(out) == ["astronaut_blur-1.png", "astronaut_blur.png"]
    assert file_hashes(first) == first


def test_folder_recursion_mirrors_subfolders_and_skips_its_own_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    album = tmp_path / "album"
    (album / "2024").mkdir(parents=True)
    shutil.copy(SAMPLE, album / "a.jpg")
    shutil.copy(SAMPLE, album / "2024" / "a.jpg")
    (album / "readme.txt").write_text("not a photo")
    out = album / "processed"
    for _ in range(2):  # the second run must not pick up the first run's outputs
        code, stdout, _ = run(capsys, "process", str(album), "--effect", "remove", "--out", str(out))
        assert code == 0
        assert "2 of 2 inputs processed" in stdout
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    assert names == ["2024/a_remove-1.png", "2024/a_remove.png", "a_remove-1.png", "a_remove.png"]


def test_each_effect_writes_what_it_promises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    background = REPO / "assets" / "backgrounds" / "gradient.jpg"
    out = tmp_path / "out"
    runs = {
        "blur": ["--effect", "blur"],
        "replace": ["--effect", "replace", "--background", str(background)],
        "remove": ["--effect", "remove"],
        "mask": ["--effect", "mask"],
    }
    for effect, extra in runs.items():
        assert run(capsys, "process", str(SAMPLE), "--out", str(out), *extra)[0] == 0, effect
    source = np.asarray(Image.open(SAMPLE))
    modes = {name: Image.open(out / f"astronaut_{name}.png") for name in runs}
    assert {k: v.mode for k, v in modes.items()} == {"blur": "RGB", "replace": "RGB", "remove": "RGBA", "mask": "L"}
    assert modes["mask"].size == modes["remove"].size == modes["blur"].size == (source.shape[1], source.shape[0])
    alpha = np.asarray(modes["remove"])[..., 3]
    assert 0.2 < (alpha > 128).mean() < 0.9  # a person cut out, not an empty or full alpha


def test_webp_and_colour_fill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "process", str(SAMPLE), "--effect", "remove", "--color", "00b140", "--format",
                     "webp", "--out", str(tmp_path))
    assert code == 0
    with Image.open(tmp_path / "astronaut_remove.webp") as im:
        assert (im.format, im.mode) == ("WEBP", "RGB")


def test_video_is_processed_frame_for_frame(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = short_video(tmp_path)
    code, _, stderr = run(capsys, "process", str(clip.path), "--out", str(tmp_path / "out"))
    assert code == 0
    capture = cv2.VideoCapture(str(tmp_path / "out" / "short clip_blur.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 9
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (64, 48)
    capture.release()
    assert "error" not in stderr


def test_unwritable_output_folder_reports_every_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = unwritable_dir(tmp_path)
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--out", str(out))
    assert code == 1
    assert stderr.count("error: ") == 1
    assert str(SAMPLE) in stderr and "not-a-folder" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--effect", "sparkle"], "invalid choice: 'sparkle'"),
        (["--effect", "replace"], "--effect replace needs --background IMG"),
        (["--effect", "replace", "--background", "nope.jpg"], "background image not found: nope.jpg"),
        (["--strength", "0"], "strength must be between 1 and 100"),
        (["--color", "green"], "--color wants RRGGBB hex"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--out", str(tmp_path / "out"), *args)
    assert code == 2
    assert message in stderr
    assert not (tmp_path / "out").exists()


def test_nothing_to_process_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    code, _, stderr = run(capsys, "process", str(tmp_path / "empty"))
    assert code == 2
    assert "nothing to process" in stderr


def test_models_lists_every_bundled_variant(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, "models")
    assert code == 0
    assert "selfie-general" in stdout and "selfie-landscape" in stdout
    assert "mismatch" not in stdout and "missing" not in stdout
    assert "CPUExecutionProvider" in stdout


def test_a_tampered_model_is_named_and_nothing_crashes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "app"
    shutil.copytree(REPO / "models", root / "models")
    shutil.copytree(REPO / "assets", root / "assets")
    from desktop_app.core.models import choose_variant, load_manifest

    picked = choose_variant(load_manifest(root / "models").get("selfie-general"), gpu=False)
    target = root / "models" / picked.file  # the variant the CPU would load
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    monkeypatch.setenv("LOCALLENS_ROOT", str(root))

    code, stdout, _ = run(capsys, "models")
    assert code == 1
    assert "mismatch" in stdout
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--out", str(tmp_path / "out"))
    assert code == 1
    assert picked.file in stderr
    code, _, _ = run(capsys, "process", str(SAMPLE), "--model", "selfie-landscape", "--out", str(tmp_path / "o2"))
    assert code == 0  # the other model still works


def _import_failing(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    """`from desktop_app.ui.app import run_app` raises ImportError naming `missing`."""
    import builtins

    real = builtins.__import__

    def fake(name: str, *args: object, **kwargs: object) -> object:
        if name == "desktop_app.ui.app":
            raise ImportError(f"No module named {missing!r}", name=missing)
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake)


def test_a_broken_window_import_is_an_error_not_a_silent_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_failing(monkeypatch, "numpy.core.broken")
    assert main(["gui"]) == 1
    assert "error: the window could not start" in capsys.readouterr().err


def test_without_pyside6_the_window_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_failing(monkeypatch, "PySide6.QtCore")
    assert main(["gui"]) == 1
    err = capsys.readouterr().err
    assert "PySide6 is not installed" in err and "could not start" not in err


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_no_picture_survives_in_a_cut_outs_transparent_area(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            fmt: str) -> None:
    """Dropping the alpha channel of a saved cut-out must bring nothing back: RGB is exactly 0 where alpha is 0
    (lossy WebP bled up to 228 of 255 of colour there)."""
    code, _, _ = run(capsys, "process", str(SAMPLE), "--effect", "remove", "--format", fmt, "--out", str(tmp_path))
    assert code == 0
    with Image.open(tmp_path / f"astronaut_remove.{fmt}") as im:
        rgba = np.asarray(im.convert("RGBA"))
    transparent = rgba[..., 3] == 0
    assert transparent.mean() > 0.1
    assert int(rgba[transparent][:, :3].max()) == 0


def test_process_keeps_the_default_temporal_smoothing_for_videos() -> None:
    """Videos from `process` get the same steadier masks as the window (it used to force smoothing off)."""
    from desktop_app.cli import build_parser, params_from_args
    from desktop_app.core.params import EffectParams

    args = build_parser().parse_args(["process", str(SAMPLE)])
    assert params_from_args(args).smoothing == EffectParams().smoothing > 0
