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


def loose_curl_portrait() -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """A dark head on a grey backdrop with a loop of hair just outside it (backdrop seen through the loop) and a
    strand of half coverage: (RGB, named points)."""
    h = w = 800
    xx = np.mgrid[0:h, 0:w][1].astype(np.float32)
    grey = 150 + 10 * np.exp(-(((xx - w / 2) / (0.5 * w)) ** 2))
    rgb = np.dstack([grey] * 3)
    hair = np.array([30, 25, 22], np.float32)
    head = np.zeros((h, w), np.uint8)
    cv2.circle(head, (400, 400), 200, 1, -1)
    cv2.rectangle(head, (250, 560), (550, 799), 1, -1)  # neck and shoulders to the bottom edge
    rgb[head > 0] = hair
    loop = np.zeros((h, w), np.uint8)
    cv2.circle(loop, (609, 400), 11, 1, 3)  # a curl: its inside (radius ~9) is backdrop
    rgb[loop > 0] = hair
    rgb[300, 574:660] = 0.5 * hair + 0.5 * rgb[300, 574:660]  # a strand from the head covering half of each pixel
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), {"gap": (400, 609), "inside": (400, 400),
                                                        "loop": (400, 620), "strand": (300, 600)}


def test_soft_key_sees_through_loose_curls_and_unmixes_strands() -> None:
    rgb, at = loose_curl_portrait()
    mask, model = ek.key_with_backdrop(rgb, full_body=False)
    colour, alpha = ek.soft_key(rgb, mask, model)
    assert alpha[at["inside"]] == 1.0
    assert alpha[at["gap"]] < 0.1  # the backdrop inside the curl is not person
    assert alpha[at["loop"]] > 0.7
    assert 0.3 < alpha[at["strand"]] < 0.7
    assert np.abs(colour[at["strand"]] - np.array([30, 25, 22])).max() < 25  # the strand's own colour
    # pasted onto green, the curl shows green inside and no studio grey
    green = np.zeros((800, 800, 3), np.uint8)
    green[..., 1] = 200
    out, labels = be.compose(green, [(colour, alpha, be.Placement("p", 1.0, 0.5, 1.0))])
    assert out[at["gap"]][1] > 170 and out[at["gap"]][0] < 30
    assert labels[at["inside"]] == 1 and labels[at["gap"]] == 0
