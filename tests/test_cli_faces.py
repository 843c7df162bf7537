"""`--faces` on the CLI, end to end on the bundled models: `process photo --effect none --faces blur` hides the
astronaut's face and leaves every other byte of the picture as it was, without loading the segmenter; faces
combine with an effect on photos, folders and videos; the refusals are usage errors (exit 2); a damaged face model
is one error line (exit 1); `live` takes the same flags and hides the face in what the virtual camera gets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import REPO
from corpus import file_hashes, short_video
from test_cli import SAMPLE, leftovers, outputs, run

from desktop_app.core import virtualcam
from desktop_app.core.faces.detector import PHOTO_MODEL, FaceDetector
from desktop_app.core.imageio import read_image


def face_box(rgb: np.ndarray, padding: float = 0.2) -> tuple[int, int, int, int]:
    """The astronaut's face (the photo detector's box) grown by `padding`, in pixels, one pixel of rounding more."""
    (face,) = FaceDetector(PHOTO_MODEL).detect(rgb)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = face.box
    pw, ph = (x1 - x0) * padding, (y1 - y0) * padding
    return (max(0, int((x0 - pw) * w) - 1), max(0, int((y0 - ph) * h) - 1), min(w, int((x1 + pw) * w) + 2),
            min(h, int((y1 + ph) * h) + 2))


def test_effect_none_with_faces_blur_hides_the_face_and_keeps_every_other_byte(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import desktop_app.core.segmenter as segmenter_module

    def no_segmenter(*_a: object, **_k: object) -> None:
        raise AssertionError("--effect none must not load the segmenter")

    monkeypatch.setattr(segmenter_module, "Segmenter", no_segmenter)
    photo = tmp_path / "in" / "photo.jpg"
    photo.parent.mkdir()
    photo.write_bytes(SAMPLE.read_bytes())
    before = file_hashes([photo])
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "process", str(photo), "--effect", "none", "--faces", "blur", "--out", str(out))
    assert code == 0, stderr
    assert "(none + faces blur" in stdout
    assert outputs(out) == ["photo_none.png"] and leftovers(out) == []
    assert file_hashes(before) == before  # the original is untouched
    source = read_image(photo).rgb
    result = read_image(out / "photo_none.png").rgb
    assert result.shape == source.shape
    x0, y0, x1, y1 = face_box(source)
    outside = np.ones(source.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(result[outside], source[outside])  # byte-identical beyond the padded face
    face = (slice(y0 + (y1 - y0) // 4, y1 - (y1 - y0) // 4), slice(x0 + (x1 - x0) // 4, x1 - (x1 - x0) // 4))
    diff = np.abs(result[face].astype(np.int16) - source[face].astype(np.int16))
    assert diff.mean() > 15  # the face's middle changed strongly

    def detail(img: np.ndarray) -> float:
        f = img.astype(np.float32)
        return float(((f - cv2.GaussianBlur(f, (0, 0), 4.0)) ** 2).sum())

    assert detail(result[face]) < 0.05 * detail(source[face])  # its features are gone, not just tinted
    assert FaceDetector(PHOTO_MODEL).detect(result) == []  # the detector itself no longer finds a face


def test_faces_combine_with_an_effect_on_a_folder_and_a_video(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(SAMPLE.read_bytes())
    clip = short_video(folder, frames=3).path
    before = file_hashes([folder / "a.jpg", clip])
    out = tmp_path / "out"
    code, _, stderr = run(capsys, "process", str(folder), "--effect", "blur", "--faces", "box", "--face-shape",
                          "rect", "--face-padding", "0", "--quality", "fast", "--out", str(out))
    assert code == 0, stderr
    assert outputs(out) == ["a_blur.png", "short clip_blur.mp4"] and leftovers(out) == []
    assert file_hashes(before) == before
    source = read_image(folder / "a.jpg").rgb
    x0, y0, x1, y1 = face_box(source, padding=0.0)
    result = read_image(out / "a_blur.png").rgb
    inner = result[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3]
    assert inner.max() == 0  # a solid black rectangle over the face, on top of the background blur


@pytest.mark.parametrize(("args", "message"), [
    (["--effect", "mask", "--faces", "blur"], "mask effect outputs the person mask"),
    (["--effect", "none"], "--effect none changes nothing by itself: add --faces"),
    (["--faces", "blur", "--face-threshold", "1.5"], "face threshold must be between 0 and 1"),
    (["--faces", "blur", "--face-padding", "-1"], "face padding must be between 0 and 1"),
    (["--faces", "smudge"], "invalid choice: 'smudge'"),
    (["--faces", "blur", "--face-shape", "star"], "invalid choice: 'star'"),
])
def test_refusals_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                   message: str) -> None:
    code, _, stderr = run(capsys, "process", str(SAMPLE), *args, "--out", str(tmp_path / "out"))
    assert code == 2 and message in stderr, stderr
    assert not (tmp_path / "out").exists()


def test_a_damaged_face_model_is_one_error_line_before_anything_is_processed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_app.core import models

    real = models.verify

    def verify(variant: models.Variant) -> None:
        if "centerface" in variant.file:
            raise models.ModelIntegrityError(f"{variant.file}: sha256 mismatch")
        real(variant)

    monkeypatch.setattr(models, "verify", verify)
    code, _, stderr = run(capsys, "process", str(SAMPLE), "--effect", "none", "--faces", "blur", "--out",
                          str(tmp_path / "out"))
    assert code == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "sha256 mismatch" in errors[0] and "face-centerface" in errors[0]
    assert not (tmp_path / "out").exists() or outputs(tmp_path / "out") == []


def test_the_live_command_takes_the_flags(tmp_path: Path) -> None:
    from desktop_app.cli import build_parser, params_from_args

    args = build_parser().parse_args(["live", "--virtual-camera", "--effect", "none", "--faces", "pixelate",
                                      "--face-threshold", "0.3", "--face-padding", "0.5", "--face-shape", "rect"])
    args.quality = "fast"
    params = params_from_args(args)
    assert (params.effect, params.faces, params.face_threshold, params.face_padding, params.face_shape) == (
        "none", "pixelate", 0.3, 0.5, "rect")
    args = build_parser().parse_args(["process", "x.png"])
    assert (args.faces, args.face_shape, args.face_threshold, args.face_padding) == (None, "ellipse", 0.5, 0.2)


def checksum(values: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(values).tobytes())


@pytest.mark.skipif(sys.platform == "win32", reason="Ctrl+C is a console event on Windows")
def test_live_hides_the_face_in_what_the_virtual_camera_gets(tmp_path: Path) -> None:
    from test_virtualcam_cli import records, wait_until

    picture = tmp_path / "me.png"
    canvas = np.full((180, 320, 3), 128, np.uint8)  # a flat top row; the face's padded box reaches it
    canvas[5:165, 80:240] = cv2.resize(read_image(SAMPLE).rgb, (160, 160), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(picture), canvas[..., ::-1])
    record = tmp_path / "vcam.jsonl"
    env = {**os.environ, virtualcam.BACKEND_ENV: "fake", virtualcam.RECORD_ENV: str(record)}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "live", "--virtual-camera", "--camera", str(picture),
         "--resolution", "320x180", "--device", "cpu", "--effect", "none", "--faces", "box", "--face-shape", "rect",
         "--face-padding", "1.0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        wait_until(lambda: len(records(record)) >= 3 or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "none + faces box" in out
    flat = checksum(canvas[0])
    rows = [r["row"] for r in records(record)]
    assert rows and all(r != flat for r in rows)  # every frame sent had the face (and the top row) covered
