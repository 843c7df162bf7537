"""Build the person-mask evaluation set (issue #9): openpeople's studio people keyed into exact masks and
composited onto scikit-image's photographs without people, at the sizes users meet, plus two short clips.

    .venv/bin/pip install scikit-image openpeople==0.1.2      # see tools/requirements-tools.txt
    .venv/bin/python tools/build_evalset.py [--out .cache/evalset] [--check]
    .venv/bin/python tools/build_evalset.py --fresh SEED [--out DIR]   # new random stills: tools/evalset_fresh.py

Writes under --out: stills/<name>.png (RGB), <name>.truth.png (0/255), <name>.inst.png (person label per
pixel, 0 = background), video/<clip>/NNN.png + NNN.truth.png, people/ (the keyed cut-outs), sheets/ (contact
sheets to look at: the truth drawn over every picture) and manifest.json. Deterministic: the same packages give
the same files; --check compares the truth masks' digests with tests/fixtures/evalset/manifest.json.

Noisy clips (`<clip>-noisy`): the same frames and truth masks with seeded per-frame camera noise (sensor noise,
exposure wobble, JPEG), so that a still person's frames differ the way a webcam's do; `--noisy-only` adds them to
an existing set from its clean frames in seconds.

Portraits are keyed soft at their outline since session 20 (evalset_key.soft_key): before it, the studio's grey
between loose curls was pasted into every composite and counted as person; `--hard-hair` builds the set as it was.

Split: P001-P005 are for tuning, P006-P010 are held out (never tuned on). The full-body postures of P007 and
P009 are left out: their grey shorts are the backdrop's own grey and do not key (looked at, docs/quality.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evalset_key import downscale, key_with_backdrop, soft_key

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "evalset" / "manifest.json"
TUNE = ("P001", "P002", "P003", "P004", "P005")
HELD_OUT = ("P006", "P007", "P008", "P009", "P010")
NO_POSTURE = {"P007", "P009"}  # grey shorts on a grey backdrop: not keyable, left out
SOFT_HAIR = True  # portraits keyed soft at their outline (False: `--hard-hair`, the set before session 20)
BACKGROUNDS = ("coffee", "chelsea", "rocket", "brick", "grass", "gravel")
LANDSCAPE, WIDE, PORTRAIT, TALL = (1280, 960), (1536, 1024), (960, 1280), (1024, 1536)
VIDEO_SIZE, VIDEO_FRAMES = (960, 540), 120


@dataclass(frozen=True)
class Placement:
    person: str  # "P001/portrait" or "P001/posture"
    height: float  # the cut-out's height as a fraction of the frame height
    cx: float  # horizontal centre, fraction of the width
    bottom: float  # where the cut-out's bottom edge lands, fraction of the height (1 = frame bottom)
    angle: float = 0.0  # degrees, about the cut-out's bottom centre


@dataclass(frozen=True)
class Still:
    name: str
    kind: str  # full, half, third, group
    split: str  # tune or heldout
    size: tuple[int, int]  # (width, height)
    background: str
    people: tuple[Placement, ...]


# ------------------------------------------------------------------------------------------ sources


def load_person(pid: str, kind: str, soft: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The keyed cut-out of openpeople's studio_<kind> picture, cropped to the person: (RGB, alpha).

    Portraits are keyed soft at their outline (`evalset_key.soft_key`: float32 un-mixed colour and alpha) unless
    `soft` is False (or SOFT_HAIR is, `--hard-hair`: the set as it was before session 20); full-body pictures
    and hard keys give the picture's uint8 RGB and a bool mask."""
    try:
        from openpeople.io import get_curated_dir
    except ImportError:
        raise SystemExit("openpeople is missing: pip install openpeople==0.1.2 scikit-image") from None

    path = Path(get_curated_dir()) / pid / "assets" / f"studio_{kind}.jpg"
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    rgb = downscale(np.ascontiguousarray(bgr[..., ::-1]))
    mask, model = key_with_backdrop(rgb, full_body=kind == "posture")
    alpha: np.ndarray = mask
    if kind == "portrait" and (SOFT_HAIR if soft is None else soft):
        rgb, alpha = soft_key(rgb, mask, model)
    ys, xs = np.nonzero(mask)  # the hard key's box, so that people keep their sizes (faint strands past it cut)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return np.ascontiguousarray(rgb[y0:y1, x0:x1]), np.ascontiguousarray(alpha[y0:y1, x0:x1])


def load_background(name: str, size: tuple[int, int]) -> np.ndarray:
    """A scikit-image photo without people (CC0 / public domain), cover-fitted to `size` (width, height)."""
    from skimage import data

    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.dstack([img] * 3)
    img = np.ascontiguousarray(img[..., :3])
    w, h = size
    scale = max(w / img.shape[1], h / img.shape[0])
    big = cv2.resize(img, (max(w, round(img.shape[1] * scale)), max(h, round(img.shape[0] * scale))),
                     interpolation=cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y0 : y0 + h, x0 : x0 + w])


# ------------------------------------------------------------------------------------------ compositing


def paste(canvas: np.ndarray, labels: np.ndarray, rgb: np.ndarray, mask: np.ndarray, place: Placement,
          label: int) -> None:
    """Composite one cut-out in place. `mask` is its alpha (bool or float), downscaled with area averaging, as
    the colour premultiplied by it is (a soft edge, as a camera sees one; no backdrop colour carried in); the truth
    is alpha >= 0.5, and a later person hides an earlier one."""
    h, w = canvas.shape[:2]
    ph = max(round(place.height * h), 2)
    pw = max(round(rgb.shape[1] * ph / rgb.shape[0]), 2)
    interp = cv2.INTER_AREA if ph < rgb.shape[0] else cv2.INTER_LINEAR
    alpha = mask.astype(np.float32)
    p = cv2.resize(rgb.astype(np.float32) * alpha[..., None], (pw, ph), interpolation=interp)
    a = cv2.resize(alpha, (pw, ph), interpolation=interp)
    x0 = round(place.cx * w - pw / 2)
    y0 = round(place.bottom * h) - ph
    m = np.float32([[1, 0, x0], [0, 1, y0]])
    if place.angle:
        rot = cv2.getRotationMatrix2D((pw / 2, ph), place.angle, 1.0)
        m = np.vstack([m, [0, 0, 1]]) @ np.vstack([rot, [0, 0, 1]])
        m = m[:2].astype(np.float32)
    pf = cv2.warpAffine(p, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    af = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    canvas[:] = canvas * (1.0 - af) + pf
    labels[af[..., 0] >= 0.5] = label


def compose(background: np.ndarray, people: list[tuple[np.ndarray, np.ndarray, Placement]]) -> tuple[
        np.ndarray, np.ndarray]:
    """(RGB uint8, instance labels uint8) for people pasted in order onto the background."""
    canvas = background.astype(np.float32)
    labels = np.zeros(background.shape[:2], np.uint8)
    for i, (rgb, mask, place) in enumerate(people, start=1):
        paste(canvas, labels, rgb, mask, place, i)
    # a person fully hidden by a later one has no pixels left: relabel 1..N densely
    present = [v for v in np.unique(labels) if v]
    dense = np.zeros(256, np.uint8)
    dense[present] = np.arange(1, len(present) + 1)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8), dense[labels]


# ------------------------------------------------------------------------------------------ the set


def stills_for(split: str, pids: tuple[str, ...]) -> list[Still]:
    """The composites of one split: per person full / half / third, then groups of two and three."""
    out: list[Still] = []
    bg = 0

    def nxt() -> str:  # six pictures per person and six backgrounds: shift by one per person, so that each
        nonlocal bg     # kind meets every background (not one kind always on the busy coffee cup)
        bg += 1
        return BACKGROUNDS[(bg + bg // 6 + (3 if split == "heldout" else 0)) % len(BACKGROUNDS)]

    bodies = [p for p in pids if p not in NO_POSTURE]
    for pid in pids:
        por = f"{pid}/portrait"
        out.append(Still(f"{pid}-full-portrait", "full", split, PORTRAIT, nxt(), (Placement(por, 0.95, 0.5, 1.0),)))
        out.append(Still(f"{pid}-full-landscape", "full", split, LANDSCAPE, nxt(),
                         (Placement(por, 1.0, 0.42, 1.06, 4.0),)))
        if pid in NO_POSTURE:
            continue
        body = f"{pid}/posture"
        out.append(Still(f"{pid}-half-wide", "half", split, WIDE, nxt(), (Placement(body, 0.5, 0.5, 0.9),)))
        out.append(Still(f"{pid}-half-portrait", "half", split, TALL, nxt(), (Placement(body, 0.5, 0.36, 0.8),)))
        out.append(Still(f"{pid}-third-landscape", "third", split, LANDSCAPE, nxt(),
                         (Placement(body, 0.33, 0.24, 0.92),)))
        out.append(Still(f"{pid}-third-wide", "third", split, WIDE, nxt(), (Placement(body, 0.34, 0.7, 0.75, -3.0),)))
    pairs = [(bodies[i], bodies[(i + 1) % len(bodies)]) for i in range(len(bodies))]
    for a, b in pairs[:3]:
        out.append(Still(f"group2-{a}-{b}", "group", split, WIDE, nxt(),
                         (Placement(f"{a}/posture", 0.6, 0.36, 0.95), Placement(f"{b}/posture", 0.58, 0.6, 0.96))))
    trio = tuple(bodies[:3])
    out.append(Still(f"group3-{'-'.join(trio)}", "group", split, WIDE, nxt(), tuple(
        Placement(f"{p}/posture", 0.55 - 0.02 * i, 0.28 + 0.22 * i, 0.93 + 0.02 * i) for i, p in enumerate(trio))))
    heads = pids[1:4]
    out.append(Still(f"group3-portraits-{'-'.join(heads)}", "group", split, WIDE, nxt(), tuple(
        Placement(f"{p}/portrait", 0.55, 0.22 + 0.28 * i, 1.0) for i, p in enumerate(heads))))
    out.append(Still(f"group2-portraits-{pids[0]}-{pids[4]}", "group", split, LANDSCAPE, nxt(), (
        Placement(f"{pids[0]}/portrait", 0.7, 0.3, 1.0), Placement(f"{pids[4]}/portrait", 0.72, 0.72, 1.0))))
    return out


def video_path(t: int, n: int = VIDEO_FRAMES) -> tuple[float, float, float, float]:
    """(cx, height, angle, pan) at frame t: still, a long move (across, closer, turning; the camera pans),
    still again, then a quick move back. Still stretches let flicker be measured where the truth is fixed."""
    keys = [(0, (0.38, 0.80, 0.0, 0.0)), (20, (0.38, 0.80, 0.0, 0.0)), (80, (0.62, 0.95, 8.0, 0.6)),
            (100, (0.62, 0.95, 8.0, 0.6)), (n - 1, (0.45, 0.85, -5.0, 0.2))]
    return keyed(keys, t)


def keyed(keys: list[tuple[int, tuple[float, float, float, float]]], t: int) -> tuple[float, float, float, float]:
    """The value at frame t between (frame, value) keys, smoothstep-eased; the last key's after it."""
    for (t0, v0), (t1, v1) in pairwise(keys):
        if t <= t1:
            s = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            s = s * s * (3 - 2 * s)
            return tuple(a + (b - a) * s for a, b in zip(v0, v1, strict=True))  # type: ignore[return-value]
    return keys[-1][1]


def build_video(out: Path, clip: str, pid: str, background: str, cutouts: dict,
                path: Callable[[int], tuple[float, float, float, float]] = video_path) -> dict:
    """The clip's frames and truth masks into out/video/<clip>/; `path(t)` gives (cx, height, angle, pan)."""
    rgb, mask = cutouts[f"{pid}/portrait"]
    w, h = VIDEO_SIZE
    wide = load_background(background, (round(w * 1.6), h))
    folder = out / "video" / clip
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for t in range(VIDEO_FRAMES):
        cx, height, angle, pan = path(t)
        x0 = round(pan * (wide.shape[1] - w))
        frame, labels = compose(wide[:, x0 : x0 + w], [(rgb, mask, Placement(pid, height, cx, 1.12, angle))])
        truth = (labels > 0).astype(np.uint8) * 255
        cv2.imwrite(str(folder / f"{t:03d}.png"), frame[..., ::-1])
        cv2.imwrite(str(folder / f"{t:03d}.truth.png"), truth)
        digest.update(truth.tobytes())
    return {"clip": clip, "person": pid, "split": "tune" if pid in TUNE else "heldout", "background": background,
            "size": list(VIDEO_SIZE), "frames": VIDEO_FRAMES, "fps": 30, "truth_sha256": digest.hexdigest()[:16]}


# A webcam at home: sensor noise sigma 2.5/255 in highlights rising to 4/255 in shadows (mostly luma, some
# chroma), a per-frame exposure wobble of up to +-1.5%, then JPEG quality 85 (what compression leaves behind).
NOISY = {"call-P002": 9002, "call-P008": 9008}  # clip -> seed
NOISE = {"sigma_bright": 2.5, "sigma_dark": 4.0, "chroma_share": 0.35, "exposure": 0.015, "jpeg_quality": 85}


def camera_noise(rgb: np.ndarray, rng: np.random.Generator, noise: dict | None = None) -> np.ndarray:
    """One frame as a webcam would deliver it: exposure gain, signal-dependent Gaussian noise, JPEG round trip."""
    n = NOISE | (noise or {})
    x = rgb.astype(np.float32) * (1.0 + rng.uniform(-n["exposure"], n["exposure"]))
    luma = x @ np.float32([0.299, 0.587, 0.114])
    sigma = n["sigma_dark"] + (n["sigma_bright"] - n["sigma_dark"]) * np.clip(luma / 255.0, 0, 1)
    share = n["chroma_share"]
    common = rng.standard_normal(luma.shape, dtype=np.float32)[..., None]
    own = rng.standard_normal(x.shape, dtype=np.float32)
    x += (common * np.sqrt(1 - share) + own * np.sqrt(share)) * sigma[..., None]
    noisy = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    ok, jpg = cv2.imencode(".jpg", noisy[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(n["jpeg_quality"])])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(jpg, cv2.IMREAD_COLOR)[..., ::-1])


def build_noisy_video(out: Path, clean: dict, seed: int) -> dict:
    """`<clip>-noisy` from the clean clip's frames: same truth (copied), camera_noise per frame (rng [seed, t])."""
    src, name = out / "video" / clean["clip"], f"{clean['clip']}-noisy"
    folder = out / "video" / name
    folder.mkdir(parents=True, exist_ok=True)
    truth_digest, frame_digest = hashlib.sha256(), hashlib.sha256()
    for t in range(clean["frames"]):
        rgb = np.ascontiguousarray(cv2.imread(str(src / f"{t:03d}.png"), cv2.IMREAD_COLOR)[..., ::-1])
        truth = cv2.imread(str(src / f"{t:03d}.truth.png"), cv2.IMREAD_GRAYSCALE)
        frame = camera_noise(rgb, np.random.default_rng([seed, t]))
        cv2.imwrite(str(folder / f"{t:03d}.png"), frame[..., ::-1])
        cv2.imwrite(str(folder / f"{t:03d}.truth.png"), truth)
        truth_digest.update(truth.tobytes())
        frame_digest.update(frame.tobytes())
    return {**clean, "clip": name, "source": clean["clip"], "seed": seed, "noise": dict(NOISE),
            "truth_sha256": truth_digest.hexdigest()[:16], "frames_sha256": frame_digest.hexdigest()[:16]}


def add_noisy_videos(out: Path, manifest: dict) -> dict:
    """Append (or replace) the noisy variant of every clip in NOISY; returns the manifest."""
    clean = {v["clip"]: v for v in manifest["videos"] if "source" not in v}
    noisy = [build_noisy_video(out, clean[clip], seed) for clip, seed in NOISY.items()]
    names = {v["clip"] for v in noisy}
    manifest["videos"] = [v for v in manifest["videos"] if v["clip"] not in names] + noisy
    return manifest


def write_manifest(out: Path, manifest: dict) -> None:
    """Atomically (a new file renamed over the old: a hard-linked copy elsewhere keeps its own contents)."""
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(out / "manifest.json")


def contact_sheet(items: list[tuple[str, np.ndarray, np.ndarray]], path: Path, tile_h: int = 240) -> None:
    """Pictures with the truth drawn over them: backdrop tinted magenta, the mask's edge in green."""
    tiles = []
    for name, rgb, truth in items:
        over = rgb.copy()
        bgmask = ~truth
        over[bgmask] = (over[bgmask] * 0.45 + np.array([255, 0, 255]) * 0.55).astype(np.uint8)
        edge = cv2.morphologyEx(truth.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        over[edge] = (0, 255, 0)
        tile = cv2.resize(over, (round(over.shape[1] * tile_h / over.shape[0]), tile_h), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, name, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    rows, row, width = [], [], 0
    for tile in tiles:
        if width + tile.shape[1] > 1800 and row:
            rows.append(row)
            row, width = [], 0
        row.append(tile)
        width += tile.shape[1]
    rows.append(row)
    full = max(sum(t.shape[1] for t in r) for r in rows)
    sheet = np.vstack([np.pad(np.hstack(r), ((0, 2), (0, full - sum(t.shape[1] for t in r)), (0, 0))) for r in rows])
    cv2.imwrite(str(path), sheet[..., ::-1])


def build(out: Path) -> dict:
    for sub in ("stills", "people", "sheets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cutouts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for pid in TUNE + HELD_OUT:
        for kind in ("portrait", "posture"):
            if kind == "posture" and pid in NO_POSTURE:
                continue
            rgb, mask = load_person(pid, kind)
            cutouts[f"{pid}/{kind}"] = (rgb, mask)
            rgba = np.dstack([np.clip(rgb + 0.5, 0, 255), mask.astype(np.float32) * 255 + 0.5]).astype(np.uint8)
            cv2.imwrite(str(out / "people" / f"{pid}-{kind}.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    contact_sheet([(k, np.clip(rgb + 0.5, 0, 255).astype(np.uint8), m >= 0.5) for k, (rgb, m) in cutouts.items()],
                  out / "sheets" / "people.png", 300)
    stills = stills_for("tune", TUNE) + stills_for("heldout", HELD_OUT)
    manifest: dict = {"stills": [], "videos": [], "people": sorted(cutouts)}
    sheet_items: dict[str, list] = {}
    for still in stills:
        bg = load_background(still.background, still.size)
        rgb, labels = compose(bg, [(*cutouts[p.person], p) for p in still.people])
        truth = labels > 0
        cv2.imwrite(str(out / "stills" / f"{still.name}.png"), rgb[..., ::-1])
        cv2.imwrite(str(out / "stills" / f"{still.name}.truth.png"), truth.astype(np.uint8) * 255)
        cv2.imwrite(str(out / "stills" / f"{still.name}.inst.png"), labels)
        entry = asdict(still)
        entry["people_count"] = int(labels.max())
        entry["truth_fraction"] = round(float(truth.mean()), 4)
        entry["truth_sha256"] = hashlib.sha256(labels.tobytes()).hexdigest()[:16]
        manifest["stills"].append(entry)
        sheet_items.setdefault(f"{still.split}-{still.kind}", []).append((still.name, rgb, truth))
    for key, items in sheet_items.items():
        contact_sheet(items, out / "sheets" / f"{key}.png")
    manifest["videos"].append(build_video(out, "call-P002", "P002", "coffee", cutouts))
    manifest["videos"].append(build_video(out, "call-P008", "P008", "rocket", cutouts))
    add_noisy_videos(out, manifest)
    for clip in manifest["videos"]:
        folder = out / "video" / clip["clip"]
        items = []
        for t in (0, 30, 50, 70, 90, 110):
            rgb = cv2.imread(str(folder / f"{t:03d}.png"))[..., ::-1]
            items.append((f"{clip['clip']} {t}", rgb, cv2.imread(str(folder / f"{t:03d}.truth.png"), 0) > 0))
        contact_sheet(items, out / "sheets" / f"video-{clip['clip']}.png")
    write_manifest(out, manifest)
    return manifest


def digests(manifest: dict) -> dict[str, str]:
    return {s["name"]: s["truth_sha256"] for s in manifest["stills"]} | {
        v["clip"]: v["truth_sha256"] for v in manifest["videos"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        help="default .cache/evalset (.cache/evalset-fresh-seed<SEED> with --fresh)")
    parser.add_argument("--check", action="store_true", help="compare the digests with the committed fixture")
    parser.add_argument("--write-fixture", action="store_true", help="record the digests in the fixture")
    parser.add_argument("--noisy-only", action="store_true",
                        help="only (re)make the noisy clips from an existing set's clean frames (seconds)")
    parser.add_argument("--fresh", type=int, metavar="SEED",
                        help="instead: a seeded draw of new still composites (tools/evalset_fresh.py), no clips")
    parser.add_argument("--hard-hair", action="store_true",
                        help="portraits keyed hard, as the set was before session 20 (for comparisons)")
    args = parser.parse_args()
    global SOFT_HAIR
    SOFT_HAIR = not args.hard_hair
    import build_evalset  # run as a script, this module is __main__: the copy evalset_fresh imports needs it too

    build_evalset.SOFT_HAIR = SOFT_HAIR
    if args.fresh is not None:
        from evalset_fresh import build_fresh

        out = args.out or ROOT / ".cache" / f"evalset-fresh-seed{args.fresh}"
        manifest = build_fresh(out, args.fresh)
        print(f"{len(manifest['stills'])} fresh stills (seed {args.fresh}) in {out}")
        return 0
    args.out = args.out or ROOT / ".cache" / "evalset"
    if args.noisy_only:
        manifest = add_noisy_videos(args.out, json.loads((args.out / "manifest.json").read_text()))
        write_manifest(args.out, manifest)
        print(", ".join(f"{v['clip']} frames {v['frames_sha256']}" for v in manifest["videos"] if "source" in v))
    else:
        manifest = build(args.out)
    print(f"{len(manifest['stills'])} stills, {len(manifest['videos'])} clips in {args.out}")
    if args.write_fixture:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps({"truth_sha256": digests(manifest)}, indent=1, sort_keys=True) + "\n")
    if args.check:
        want = json.loads(FIXTURE.read_text())["truth_sha256"]
        got = digests(manifest)
        bad = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
        if bad:
            print(f"{len(bad)} truth masks differ from {FIXTURE}: {', '.join(bad[:8])}")
            return 1
        print("every truth mask matches the committed digests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
