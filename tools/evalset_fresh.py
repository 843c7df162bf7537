"""Fresh composites for the evaluation set: a seeded random draw of NEW still compositions (a check that the
photo results generalise beyond the 64 fixed stills every pipeline choice was tuned on).

    .venv/bin/python tools/build_evalset.py --fresh SEED [--out DIR]   # default .cache/evalset-fresh-seed<SEED>

Same on-disk format as tools/build_evalset.py's set (stills/<name>.png, .truth.png, .inst.png, sheets/,
manifest.json with name/kind/split/size; `videos` is empty), so bench/bench_quality.py --set DIR scores it.
Per split (tune: P001-P005 only, heldout: P006-P010 only; never mixed in one picture) `PER_KIND` pictures of each:

- half: one full body at 0.45-0.6 of the frame height; third: one full body at 0.28-0.38;
- group: 2-3 full bodies side by side at 0.3-0.6, random horizontal positions (at most ~20% overlap), bottoms
  0.85-1.0; portraits (kind "group", layout "portraits"): 2-3 head-and-shoulders portraits standing on the
  frame's bottom edge, 0.4-0.75 high. Where a group does not fit side by side, all its people shrink by 8%
  steps (portraits in the tall frames end up 0.17-0.4 high). Every person turned by up to +-6 degrees. P007
  and P009 have no full-body cut-out (build_evalset.NO_POSTURE): portraits only.

Frame size: one of the set's four. Background: the set's six scikit-image pictures plus two it never used
(hubble_deep_field, immunohistochemistry), each as a random view (zoom 1-1.8x, crop position, mirror), so no
picture is the same as in the fixed set. Deterministic: the same seed and packages give the same files.
hubble_deep_field is new to the person-mask set but not to the project: tools/evalimages.py pastes the
astronaut onto it for the quantisation check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

import build_evalset as be
import cv2
import numpy as np

# scikit-image's docstrings (skimage 0.26), no people in any of them
LICENCES = {
    "coffee": "CC0 by the photographer (Rachel Michetti)",
    "chelsea": "CC0 by the photographer (Stefan van der Walt)",
    "rocket": "public domain (captured and released by SpaceX)",
    "brick": "CC0 (CC0Textures, Bricks25)",
    "grass": "CC0 (CC0Textures)",
    "gravel": "CC0 (CC0Textures, Gravel04)",
    "hubble_deep_field": "public domain (captured by NASA, 'may be freely used in the public domain')",
    "immunohistochemistry": "no known copyright restrictions (CMMI)",
}
BACKGROUNDS = (*be.BACKGROUNDS, "hubble_deep_field", "immunohistochemistry")
SIZES = (be.LANDSCAPE, be.WIDE, be.PORTRAIT, be.TALL)
LAYOUTS = ("half", "third", "bodies", "portraits")  # "bodies" and "portraits" are both kind "group"
PER_KIND = 6  # per split and layout: 24 pictures per split
# the cut-outs' width / height (tools/build_evalset.py's people/, all ten people): the widest of each, so that
# positions are drawn without loading openpeople (and the draw does not depend on it)
ASPECT = {"posture": 0.31, "portrait": 1.03}


@dataclass(frozen=True)
class View:
    """Which part of the background is seen: zoomed in `zoom` times, crop at (fx, fy) of the slack, mirrored."""

    zoom: float
    fx: float
    fy: float
    flip: bool


def background_view(name: str, size: tuple[int, int], view: View) -> np.ndarray:
    w, h = size
    big = be.load_background(name, (round(w * view.zoom), round(h * view.zoom)))
    x0 = round(view.fx * (big.shape[1] - w))
    y0 = round(view.fy * (big.shape[0] - h))
    out = big[y0 : y0 + h, x0 : x0 + w]
    return np.ascontiguousarray(out[:, ::-1] if view.flip else out)


def _r(rng: np.random.Generator, lo: float, hi: float, digits: int = 3) -> float:
    return round(float(rng.uniform(lo, hi)), digits)


def _side_by_side(rng: np.random.Generator, widths: list[float], overlap: float = 0.2) -> list[float] | None:
    """Random centres (fractions of the width) for people of these widths, inside the frame, neighbours
    overlapping by at most `overlap` of their mean width; None when no draw of 200 fits."""
    for _ in range(200):
        cx = [float(rng.uniform(w / 2 + 0.01, 1 - w / 2 - 0.01)) if w < 0.98 else 0.5 for w in widths]
        order = np.argsort(cx)
        ok = all(cx[b] - cx[a] >= (1 - overlap) * (widths[a] + widths[b]) / 2 for a, b in pairwise(order))
        if ok:
            return [round(c, 3) for c in cx]
    return None


def _group(rng: np.random.Generator, people: list[str], kind: str, size: tuple[int, int]) -> tuple[be.Placement, ...]:
    w, h = size
    lo, hi = (0.3, 0.6) if kind == "posture" else (0.4, 0.75)
    heights = [_r(rng, lo, hi) for _ in people]
    while True:
        widths = [hh * h * ASPECT[kind] / w for hh in heights]
        cx = _side_by_side(rng, widths)
        if cx is not None:
            break
        heights = [round(hh * 0.92, 3) for hh in heights]  # does not fit side by side: everyone a bit smaller
    out = []
    for pid, hh, c in zip(people, heights, cx, strict=True):
        bottom = _r(rng, 0.85, 1.0) if kind == "posture" else _r(rng, 1.0, 1.06)
        out.append(be.Placement(f"{pid}/{kind}", hh, c, bottom, _r(rng, -6.0, 6.0, 2)))
    return tuple(out)


def _single(rng: np.random.Generator, pid: str, lo: float, hi: float, size: tuple[int, int]) -> tuple[be.Placement]:
    w, h = size
    height = _r(rng, lo, hi)
    half = height * h * (ASPECT["posture"] + 0.1) / w / 2  # + 0.1: the head's swing when turned by 6 degrees
    cx = _r(rng, half + 0.02, 1 - half - 0.02)
    bottom = _r(rng, max(0.7, height + 0.05), 1.0)
    return (be.Placement(f"{pid}/posture", height, cx, bottom, _r(rng, -6.0, 6.0, 2)),)


def fresh_stills(seed: int, per_kind: int = PER_KIND) -> list[tuple[be.Still, View]]:
    """The draw for `seed`: per split, `per_kind` pictures of each layout, in a shuffled order. Pure (no files)."""
    rng = np.random.default_rng([seed, 9])
    out: list[tuple[be.Still, View]] = []
    for split, pids in (("tune", be.TUNE), ("heldout", be.HELD_OUT)):
        bodies = [p for p in pids if p not in be.NO_POSTURE]
        layouts = [lay for lay in LAYOUTS for _ in range(per_kind)]
        rng.shuffle(layouts)
        backgrounds: list[str] = []
        while len(backgrounds) < len(layouts):  # every background about equally often, in a random order
            backgrounds += [BACKGROUNDS[i] for i in rng.permutation(len(BACKGROUNDS))]
        for i, layout in enumerate(layouts):
            size = SIZES[int(rng.integers(len(SIZES)))]
            if layout in ("half", "third"):
                lo, hi = (0.45, 0.6) if layout == "half" else (0.28, 0.38)
                people = _single(rng, str(rng.choice(bodies)), lo, hi, size)
            else:
                kind, pool = ("posture", bodies) if layout == "bodies" else ("portrait", list(pids))
                count = int(rng.integers(2, 4))
                people = _group(rng, [str(p) for p in rng.choice(pool, count, replace=False)], kind, size)
            kind = layout if layout in ("half", "third") else "group"
            view = View(_r(rng, 1.0, 1.8), _r(rng, 0.0, 1.0), _r(rng, 0.0, 1.0), bool(rng.integers(2)))
            who = "-".join(p.person[:4] for p in people)
            name = f"s{seed}-{split}-{i:02d}-{layout}-{who}"
            out.append((be.Still(name, kind, split, size, backgrounds[i], people), view))
    return out


def build_fresh(out: Path, seed: int, per_kind: int = PER_KIND) -> dict:
    """Write the fresh set for `seed` under `out`; returns its manifest."""
    for sub in ("stills", "sheets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    draw = fresh_stills(seed, per_kind)
    cutouts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for person in sorted({p.person for still, _ in draw for p in still.people}):
        cutouts[person] = be.load_person(*person.split("/"))
    manifest: dict = {"stills": [], "videos": [], "people": sorted(cutouts),
                      "fresh": {"seed": seed, "per_kind": per_kind, "generator": "tools/evalset_fresh.py"},
                      "backgrounds": {b: LICENCES[b] for b in BACKGROUNDS}}
    sheet_items: dict[str, list] = {}
    for still, view in draw:
        bg = background_view(still.background, still.size, view)
        rgb, labels = be.compose(bg, [(*cutouts[p.person], p) for p in still.people])
        truth = labels > 0
        stem = out / "stills" / still.name
        cv2.imwrite(f"{stem}.png", rgb[..., ::-1])
        cv2.imwrite(f"{stem}.truth.png", truth.astype(np.uint8) * 255)
        cv2.imwrite(f"{stem}.inst.png", labels)
        entry = asdict(still) | {"layout": still.name.split("-")[3], "background_view": asdict(view),
                                 "background_licence": LICENCES[still.background],
                                 "people_count": int(labels.max()), "truth_fraction": round(float(truth.mean()), 4),
                                 "truth_sha256": hashlib.sha256(labels.tobytes()).hexdigest()[:16]}
        manifest["stills"].append(entry)
        sheet_items.setdefault(f"{still.split}-{entry['layout']}", []).append((still.name, rgb, truth))
    for key, items in sheet_items.items():
        be.contact_sheet(items, out / "sheets" / f"{key}.png")
    be.write_manifest(out, manifest)
    return manifest


def draw_digest(seed: int, per_kind: int = PER_KIND) -> str:
    """A digest of the draw alone (placements, sizes, backgrounds, views): equal for equal seeds."""
    text = json.dumps([[asdict(s), asdict(v)] for s, v in fresh_stills(seed, per_kind)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
