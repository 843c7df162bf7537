"""tools/build_evalset.py's noisy clips (issue #9): camera noise on synthetic frames, where the answer is known."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import build_evalset as be

LOSSLESS = {"jpeg_quality": 100}


def flat(value: int, h: int = 96, w: int = 128) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


def test_camera_noise_is_seeded_and_keeps_the_frame_shape() -> None:
    rgb = flat(120)
    a = be.camera_noise(rgb, np.random.default_rng([1, 0]))
    b = be.camera_noise(rgb, np.random.default_rng([1, 0]))
    c = be.camera_noise(rgb, np.random.default_rng([1, 1]))
    assert a.shape == rgb.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sensor_noise_is_a_few_levels_and_stronger_in_the_dark() -> None:
    no_wobble = {"exposure": 0.0, **LOSSLESS}
    spread = {}
    for value in (40, 215):
        out = be.camera_noise(flat(value, 256, 256), np.random.default_rng(3), no_wobble).astype(np.float32)
        assert abs(out.mean() - value) < 0.5  # zero-mean noise
        spread[value] = float(out.std())
    assert 2.0 < spread[215] < spread[40] < 4.5, spread


def test_exposure_wobble_stays_within_its_bound() -> None:
    quiet = {"sigma_bright": 0.0, "sigma_dark": 0.0, **LOSSLESS}
    gains = [be.camera_noise(flat(200), np.random.default_rng(s), quiet).mean() / 200 for s in range(30)]
    assert max(abs(g - 1) for g in gains) <= be.NOISE["exposure"] + 0.003
    assert max(gains) - min(gains) > be.NOISE["exposure"]  # it does wobble


def make_clip(root: Path, frames: int = 3) -> dict:
    """A tiny clean clip whose frames are all the same picture (a person sitting still)."""
    folder = root / "video" / "call-X"
    folder.mkdir(parents=True)
    yy, xx = np.mgrid[0:48, 0:64]
    rgb = np.dstack([xx * 3, yy * 4, np.full_like(xx, 90)]).astype(np.uint8)
    truth = ((xx - 32) ** 2 + (yy - 30) ** 2 < 200).astype(np.uint8) * 255
    digest = hashlib.sha256()
    for t in range(frames):
        cv2.imwrite(str(folder / f"{t:03d}.png"), rgb[..., ::-1])
        cv2.imwrite(str(folder / f"{t:03d}.truth.png"), truth)
        digest.update(truth.tobytes())
    return {"clip": "call-X", "split": "tune", "frames": frames, "truth_sha256": digest.hexdigest()[:16]}


def test_noisy_clip_keeps_the_truth_and_makes_identical_frames_differ(tmp_path: Path) -> None:
    clean = make_clip(tmp_path)
    entry = be.build_noisy_video(tmp_path, clean, seed=7)
    src, dst = tmp_path / "video" / "call-X", tmp_path / "video" / "call-X-noisy"
    assert entry["clip"] == "call-X-noisy" and entry["source"] == "call-X" and entry["seed"] == 7
    assert entry["truth_sha256"] == clean["truth_sha256"] and entry["split"] == "tune"
    for t in range(3):
        assert (src / f"{t:03d}.truth.png").read_bytes() == (dst / f"{t:03d}.truth.png").read_bytes()
    frames = [cv2.imread(str(dst / f"{t:03d}.png")) for t in range(3)]
    clean0 = cv2.imread(str(src / "000.png"))
    assert not np.array_equal(frames[0], frames[1])  # a still person's frames now differ, as a webcam's do
    assert 1.0 < float(np.abs(frames[0].astype(int) - clean0).mean()) < 6.0  # but only by a few levels
    again = be.build_noisy_video(tmp_path, clean, seed=7)
    assert again["frames_sha256"] == entry["frames_sha256"]  # reproducible


def test_add_noisy_videos_appends_once_and_the_manifest_write_spares_hard_links(tmp_path: Path,
                                                                              monkeypatch) -> None:
    clean = make_clip(tmp_path)
    monkeypatch.setattr(be, "NOISY", {"call-X": 5})
    manifest = {"stills": [], "videos": [clean]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    linked = tmp_path / "elsewhere.json"
    os.link(tmp_path / "manifest.json", linked)
    before = linked.read_bytes()
    manifest = be.add_noisy_videos(tmp_path, be.add_noisy_videos(tmp_path, manifest))
    be.write_manifest(tmp_path, manifest)
    assert [v["clip"] for v in manifest["videos"]] == ["call-X", "call-X-noisy"]
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert linked.read_bytes() == before  # the other worktree's copy is untouched
    assert not (tmp_path / "manifest.json.tmp").exists()
