"""tools/evalset_key.py and tools/build_evalset.py on synthetic studio pictures (no openpeople needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import build_evalset as be
import evalset_key as ek


def studio(h: int = 400, w: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """A grey backdrop with a vignette, a skin-coloured 'person' (body + head), white shirt, dark hair, and a
    grey shadow on the floor beside the feet: (RGB, true mask)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grey = 120 + 25 * np.exp(-(((xx - w / 2) / (0.4 * w)) ** 2)) + 30 * (yy / h) ** 4
    rgb = np.dstack([grey] * 3)
    truth = np.zeros((h, w), bool)
    cv2.ellipse(truth.view(np.uint8), (w // 2, 60), (24, 30), 0, 0, 360, 1, -1)
    truth[90:390, w // 2 - 35 : w // 2 + 35] = True
    rgb[truth] = (190, 140, 110)
    shirt = np.zeros_like(truth)
    shirt[95:200, w // 2 - 35 : w // 2 + 35] = True
    rgb[shirt] = (235, 235, 232)
    hair = np.zeros_like(truth)
    cv2.ellipse(hair.view(np.uint8), (w // 2, 42), (24, 14), 0, 0, 360, 1, -1)
    rgb[hair & truth] = (30, 25, 22)
    shadow = np.zeros_like(truth)
    shadow[370:398, w // 2 + 35 : w // 2 + 90] = True  # darker, same grey
    rgb[shadow] *= 0.7
    return np.clip(rgb, 0, 255).astype(np.uint8), truth


def test_key_person_is_exact_on_a_synthetic_studio_picture() -> None:
    rgb, truth = studio()
    mask = ek.key_person(rgb, full_body=True)
    errors = np.count_nonzero(mask != truth)
    assert errors / truth.sum() < 0.01, errors
    shadow = np.zeros_like(truth)
    shadow[370:398, 155:210] = True
    assert not mask[shadow].any()  # the floor shadow is not person


def test_clean_keeps_cut_off_parts_fills_small_holes_drops_specks() -> None:
    m = np.zeros((200, 200), bool)
    m[20:120, 60:140] = True  # body
    m[130:190, 70:130] = True  # legs, cut off from the body (grey shorts)
    m[50:53, 90:93] = False  # a small hole (a button the key missed)
    m[5:7, 5:7] = True  # a speck
    out = ek.clean(m)
    assert out[150, 100] and out[51, 91] and not out[5, 5]


def test_paste_truth_is_alpha_at_least_half_and_later_people_hide_earlier() -> None:
    bg = np.zeros((100, 200, 3), np.uint8)
    person = np.full((50, 20, 3), 200, np.uint8)
    mask = np.ones((50, 20), bool)
    a = be.Placement("a", 0.5, 0.5, 1.0)
    b = be.Placement("b", 0.5, 0.55, 1.0)  # overlaps a's right part
    rgb, labels = be.compose(bg, [(person, mask, a), (person, mask, b)])
    assert labels.max() == 2
    assert (labels[50:, 90:100] == 1).all() and (labels[50:, 110:120] == 2).all()
    assert (rgb[labels > 0] == 200).all() and (rgb[labels == 0] == 0).all()
    hidden = be.Placement("c", 0.5, 0.55, 1.0)
    _, labels = be.compose(bg, [(person, mask, hidden), (person, mask, b)])
    assert labels.max() == 1  # a fully hidden person is not counted


def test_video_path_has_still_and_moving_stretches() -> None:
    assert be.video_path(0) == be.video_path(19)
    assert be.video_path(40) != be.video_path(41)
    assert be.video_path(85) == be.video_path(95)


def test_split_keeps_held_out_people_out_of_the_tuning_stills() -> None:
    tune = be.stills_for("tune", be.TUNE)
    held = be.stills_for("heldout", be.HELD_OUT)
    assert {p.person[:4] for s in tune for p in s.people} <= set(be.TUNE)
    assert {p.person[:4] for s in held for p in s.people} <= set(be.HELD_OUT)
    assert not any(p.person.endswith("posture") and p.person[:4] in be.NO_POSTURE for s in held for p in s.people)
    assert {s.kind for s in tune} == {"full", "half", "third", "group"}
    assert len({s.name for s in tune + held}) == len(tune + held)
