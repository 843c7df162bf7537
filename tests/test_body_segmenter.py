"""The whole-body segmenter (issue #9): its body square, the warps in and out, the manifest kind, and how the stills
path fuses each body's mask (synthetic inputs and fakes; one run of the bundled model on the sample)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from desktop_app import paths
from desktop_app.core import models
from desktop_app.core.body_segmenter import (
    BodyMask,
    BodySegmenter,
    body_square,
    crop_square,
    paste_square,
    square_matrix,
)
from desktop_app.core.detection import Detection
from desktop_app.core.quality import people as persons
from desktop_app.core.quality.bodies import _nose_in_face, fuse_bodies
from desktop_app.core.quality.options import StillOptions


def _person(hip=(0.5, 0.6), top=(0.5, 0.2), face=(0.45, 0.15, 0.55, 0.25), score=0.95) -> Detection:
    return Detection(score, face, (hip, top, (hip[0], (hip[1] + top[1]) / 2), top))


def test_body_square_is_mediapipes_roi_and_turns_with_the_body() -> None:
    cx, cy, side, rotation = body_square(_person(), 200, 100)
    assert (cx, cy) == (100.0, 60.0)
    assert side == pytest.approx(2 * 40 * 1.25)
    assert rotation == pytest.approx(0.0)
    # leaning to the right (the size point up and right of the hips): clockwise, positive
    _, _, _, lean = body_square(_person(top=(0.5 + 0.4 * math.sin(0.5) / 2, 0.6 - 0.4 * math.cos(0.5))), 200, 100)
    assert lean == pytest.approx(0.5, abs=1e-6)


def test_square_matrix_maps_the_input_onto_the_square() -> None:
    m = square_matrix(100.0, 50.0, 64.0, 0.0, 32)
    corner = m @ np.array([-0.5, -0.5, 1.0])
    centre = m @ np.array([15.5, 15.5, 1.0])
    assert np.allclose(corner, [68.0, 18.0]) and np.allclose(centre, [100.0, 50.0])
    turned = square_matrix(100.0, 50.0, 64.0, math.pi / 2, 32)
    up = turned @ np.array([15.5, -0.5, 1.0])  # the input's top edge centre lies to the right when turned 90 deg
    assert np.allclose(up, [132.0, 50.0])


def test_crop_then_paste_gives_back_the_picture_inside_the_square() -> None:
    rng = np.random.default_rng(3)
    picture = np.zeros((240, 320, 3), np.uint8)
    picture[60:180, 100:220] = rng.integers(0, 255, (1, 1, 3), dtype=np.uint8)  # a flat block, so no aliasing
    m = square_matrix(160.0, 120.0, 160.0, 0.3, 64)
    crop = crop_square(picture, m, 64)
    assert crop.shape == (64, 64, 3)
    back, inside = paste_square(crop[..., 0].astype(np.float32), m, 320, 240)
    assert inside[120, 160] and not inside[5, 5]
    assert abs(back[120, 160] - picture[120, 160, 0]) <= 2
    # a large square is area-averaged first: a fine checkerboard comes out grey, not aliased
    board = ((np.indices((480, 640)).sum(0) % 2) * 255).astype(np.uint8)
    big = crop_square(np.dstack([board] * 3), square_matrix(320.0, 240.0, 440.0, 0.0, 64), 64)
    assert abs(float(big[16:48, 16:48].mean()) - 127.5) < 10 and float(big[16:48, 16:48].std()) < 20


class _Bodies:
    """A body segmenter that answers every square with a fixed mask, presence and nose."""

    def __init__(self, prob: np.ndarray, presence: float = 1.0, nose: tuple[float, float] | None = None) -> None:
        self.prob, self.presence, self.nose, self.calls = prob, presence, nose, 0

    def segment(self, rgb: np.ndarray, person: Detection, scale: float = 1.25) -> BodyMask:
        self.calls += 1
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = person.box
        nose = self.nose or ((x0 + x1) / 2 * w, (y0 + y1) / 2 * h)
        points = np.zeros((39, 2), np.float32)
        points[0] = nose
        return BodyMask(self.prob, np.ones((h, w), bool), self.presence, points)


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, Detection, list]:
    work = np.zeros((100, 200, 3), np.uint8)
    truth = np.zeros((100, 200), np.float32)
    truth[20:95, 90:110] = 1.0  # the body's own mask
    selfie = truth.copy()
    selfie[60:95, 112:125] = 1.0  # a false patch beside the legs (the spoon)
    selfie[85:95, 90:110] = 0.0  # the feet it missed
    person = _person()
    boxes = persons.body_boxes([person], 200, 100)
    return work, truth, selfie, person, boxes


def test_a_body_mask_replaces_the_selfie_models_inside_its_own_region() -> None:
    work, truth, selfie, person, boxes = _scene()
    fused = fuse_bodies(_Bodies(truth), work, selfie, [person], boxes, StillOptions())
    assert np.array_equal(fused >= 0.5, truth >= 0.5)  # feet back, the false patch gone
    assert fused[10, 5] == selfie[10, 5]  # outside the region nothing changes


@pytest.mark.parametrize("why", ["unsure", "neighbour", "portrait"])
def test_a_body_mask_that_cannot_be_trusted_leaves_the_selfie_mask(why: str) -> None:
    work, truth, selfie, person, boxes = _scene()
    bodies = _Bodies(truth, presence=0.2 if why == "unsure" else 1.0,
                     nose=(150.0, 20.0) if why == "neighbour" else None)  # a nose outside this person's face
    if why == "portrait":  # hips below the picture: a head and shoulders, left to the selfie model
        person = _person(hip=(0.5, 1.3), top=(0.5, 0.1))
        boxes = persons.body_boxes([person], 200, 100)
    fused = fuse_bodies(bodies, work, selfie, [person], boxes, StillOptions())
    assert np.array_equal(fused >= 0.5, np.maximum(selfie, 0.0) >= 0.5)
    assert bodies.calls == (0 if why == "portrait" else 1)


def test_the_nose_may_sit_just_outside_a_tight_face_box_but_not_nearer_a_neighbours_face() -> None:
    work, truth, selfie, person, boxes = _scene()  # face box x 90-110, y 15-25 in a 200 x 100 picture
    above = _Bodies(truth, nose=(100.0, 14.0))  # a pixel above the box: within a quarter of its size
    assert np.array_equal(fuse_bodies(above, work, selfie, [person], boxes, StillOptions()) >= 0.5, truth >= 0.5)
    strict = fuse_bodies(above, work, selfie, [person], boxes, replace(StillOptions(), nose_margin=0.0))
    assert np.array_equal(strict >= 0.5, selfie >= 0.5)
    # behind a neighbour whose face box touches this one's: the nose in the grown box, but nearer the neighbour's
    front = _person(hip=(0.4, 0.6), face=(0.36, 0.16, 0.44, 0.26))  # centre (80, 21); this person's (100, 20)
    points = np.zeros((39, 2), np.float32)
    points[0] = (89.0, 20.0)
    assert _nose_in_face(points, person, 200, 100, 0.25)
    assert not _nose_in_face(points, person, 200, 100, 0.25, [person, front])
    assert _nose_in_face(points, front, 200, 100, 0.25, [person, front])
    points[0] = (93.0, 20.0)  # nearer this person's face
    assert _nose_in_face(points, person, 200, 100, 0.25, [person, front])


def test_a_neighbour_without_a_body_mask_keeps_what_the_selfie_model_saw_of_them() -> None:
    work, truth, selfie, person, _ = _scene()
    other = _person(hip=(0.6, 1.4), top=(0.6, 0.3), face=(0.55, 0.3, 0.65, 0.4))  # a portrait beside the body
    both = [person, other]
    fused = fuse_bodies(_Bodies(truth), work, selfie, both, persons.body_boxes(both, 200, 100), StillOptions())
    assert fused[70, 118] >= 0.5  # the patch lies in the portrait's region too: the most either saw is kept
    assert fused[90, 100] >= 0.5  # the feet the body mask found


def _pair() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Detection]]:
    """Two bodies side by side whose regions overlap; the body masks are sure of both bodies except one lower leg
    (0.2: unsure, not against), and unsure along a thin rim by the torso; the selfie passes see the leg and the rim."""
    work = np.zeros((100, 200, 3), np.uint8)
    body = np.zeros((100, 200), np.float32)
    body[20:95, 80:100] = 1.0  # the left person
    body[20:95, 110:125] = 1.0  # the right one
    body[75:95, 80:92] = 0.2  # the left person's lower leg, beside the neighbour
    body[30:60, 100:102] = 0.2  # a rim by the torso
    selfie = np.where(body > 0, 1.0, 0.0).astype(np.float32)
    people = [_person(hip=(0.45, 0.6), top=(0.45, 0.2), face=(0.42, 0.15, 0.48, 0.25)),
              _person(hip=(0.59, 0.6), top=(0.59, 0.2), face=(0.56, 0.15, 0.62, 0.25))]
    return work, body, selfie, people


def test_where_two_people_overlap_a_thick_part_the_body_model_is_unsure_of_is_kept() -> None:
    work, body, selfie, people = _pair()
    boxes = persons.body_boxes(people, 200, 100)
    fused = fuse_bodies(_Bodies(body), work, selfie, people, boxes, StillOptions())
    assert fused[85, 85] >= 0.5  # the lower leg: the selfie passes add it
    assert fused[45, 101] < 0.5  # the thin rim does not survive the opening
    off = fuse_bodies(_Bodies(body), work, selfie, people, boxes, replace(StillOptions(), body_agree=0.0))
    assert off[85, 85] < 0.5  # without the rule the body mask alone decides
    against = np.where(body == 0.2, 0.0, body).astype(np.float32)  # the body model sure it is no person
    assert fuse_bodies(_Bodies(against), work, selfie, people, boxes, StillOptions())[85, 85] < 0.5


def test_a_person_alone_keeps_the_body_masks_answer_where_it_is_unsure() -> None:
    work, body, selfie, people = _pair()
    alone = people[:1]
    fused = fuse_bodies(_Bodies(body), work, selfie, alone, persons.body_boxes(alone, 200, 100), StillOptions())
    assert fused[85, 85] < 0.5  # no neighbour: no overlap, the body mask decides


def test_the_stills_path_turns_bodies_off_on_request() -> None:
    assert StillOptions().bodies == "replace"
    assert replace(StillOptions(), bodies="").bodies == ""


def test_the_manifest_lists_the_body_segmenter_with_its_three_outputs() -> None:
    spec = models.load_manifest().get("pose-segmentation")
    assert spec.kind == models.BODY_SEGMENTATION and spec.license == "Apache-2.0"
    assert [o.kind for o in spec.outputs] == ["pose-landmarks", "probability", "logits"]
    assert spec.output.shape == (1, 256, 256, 1)


def test_a_body_model_with_a_mask_of_the_wrong_size_is_refused(tmp_path) -> None:
    import json
    import shutil

    src = paths.models_dir()
    manifest = json.loads((src / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["id"] == "pose-segmentation")
    entry["outputs"][2]["shape"] = [1, 128, 128, 1]
    manifest["models"] = [entry]
    shutil.copy(src / entry["variants"][0]["file"], tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(models.ManifestError, match="do not fit a 256x256 input"):
        models.load_manifest(tmp_path)


def test_the_bundled_model_finds_the_astronaut() -> None:
    from desktop_app.core.detector import PersonDetector
    from desktop_app.core.imageio import read_image

    sample = read_image(paths.sample_image()).rgb  # the astronaut, upper body
    person = PersonDetector().detect(sample)[0]
    mask = BodySegmenter().segment(sample, person)
    assert mask.presence > 0.5
    assert mask.prob.shape == sample.shape[:2] and 0.1 < float((mask.prob >= 0.5).mean()) < 0.9
    # her face is person, the picture's top corners are not
    x0, y0, x1, y1 = person.box
    assert mask.prob[round((y0 + y1) / 2 * 512), round((x0 + x1) / 2 * 512)] >= 0.5
    assert mask.prob[2, 2] < 0.5
