"""tools/evalset_fresh.py: the fresh composites' draw is deterministic and keeps each picture to one split.

The draw itself needs no openpeople (positions use fixed cut-out aspects); the background test needs
scikit-image's bundled pictures and is skipped without them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import build_evalset as be
import evalset_fresh as ef


def test_same_seed_same_draw_other_seed_other_draw() -> None:
    assert ef.fresh_stills(3) == ef.fresh_stills(3)
    assert ef.draw_digest(3) == ef.draw_digest(3)
    assert ef.draw_digest(3) != ef.draw_digest(4)


def test_one_split_per_picture_and_the_layouts_asked_for() -> None:
    draw = ef.fresh_stills(5)
    assert len(draw) == 2 * len(ef.LAYOUTS) * ef.PER_KIND
    assert len({s.name for s, _ in draw}) == len(draw)
    for still, view in draw:
        pids = {p.person.split("/")[0] for p in still.people}
        assert pids <= set(be.TUNE if still.split == "tune" else be.HELD_OUT), still.name
        assert len(pids) == len(still.people)  # nobody twice in one picture
        assert not any(p.person.endswith("/posture") and p.person[:4] in be.NO_POSTURE for p in still.people)
        assert still.size in ef.SIZES and still.background in ef.LICENCES
        assert 1.0 <= view.zoom <= 1.8 and all(abs(p.angle) <= 6.0 for p in still.people)
        layout = still.name.split("-")[3]
        heights = [p.height for p in still.people]
        if layout == "half":
            assert still.kind == "half" and len(heights) == 1 and 0.45 <= heights[0] <= 0.6
        elif layout == "third":
            assert still.kind == "third" and len(heights) == 1 and 0.28 <= heights[0] <= 0.38
        else:
            assert still.kind == "group" and 2 <= len(heights) <= 3
            kind = "posture" if layout == "bodies" else "portrait"
            assert all(p.person.endswith(f"/{kind}") for p in still.people)
            if kind == "posture":
                assert all(0.85 <= p.bottom <= 1.0 and h <= 0.6 for p, h in zip(still.people, heights, strict=True))
    assert {s.split for s, _ in draw} == {"tune", "heldout"}


def test_background_view_is_the_frame_size() -> None:
    pytest.importorskip("skimage")
    view = ef.View(1.5, 0.3, 0.7, True)
    bg = ef.background_view("immunohistochemistry", (320, 240), view)
    assert bg.shape == (240, 320, 3) and bg.dtype.name == "uint8"
