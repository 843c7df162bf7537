"""Person-mask quality on the evaluation set (issue #9): ours against MediaPipe's own runtime, same frames.

(a) ours: the app's per-frame pipeline, `Pipeline(Segmenter("auto"), EffectParams(effect="blur"))`: stills with
    quality="fast" and temporal=False (the photo path before the stills path), clips as a video file gets them
    from `locallens process` and Export all (temporal=True, the app's default smoothing, full-resolution edges,
    the five-frame lookahead fed as core.batch_video feeds it), frames in order; person = the refined
    full-resolution mask (Result.mask) >= 0.5, as the app uses it. `--no-lookahead` adds the clips without the
    lookahead (video files before W36) side by side, `--median3` the lookahead's median of three (before W39) and
    `--live` the live pipeline (grid edges, no lookahead).
(b) theirs: mediapipe==0.10.14 `solutions.selfie_segmentation`, BOTH models (general and landscape) on every
    picture, person = probability >= 0.5, in .venvs/mediapipe (bench/quality_mp_worker.py).
(c) optional (--still-path): ours through `desktop_app.core.quality.segment_still` (phase 2), alpha >= 0.5:
    `ours-still-path` without the person detector, `ours-detector` with it; `ours-app` the app's best still as
    shipped (the pipeline: since session 16 its edge band matted, core.matting).

Metrics (bench/quality_metrics.py) per kind (full, half, third, group; tune = P001-P005, heldout = P006-P010):
mean and worst IoU, boundary F within 3 px, the share of people at least 90% covered; per clip: IoU, IoU on
moving frames, flicker, lag. One command builds the set if needed, runs both sides and writes
bench/results/quality.json:

    bash tools/make_mediapipe_venv.sh && .venv/bin/pip install scikit-image openpeople==0.1.2
    .venv/bin/python bench/bench_quality.py [--set .cache/evalset] [--rebuild] [--still-path]

`--set DIR` scores another set of the same format, e.g. fresh composites (tools/build_evalset.py --fresh SEED
--out DIR: stills only, no clips; kinds it lacks are reported with n 0).

`--clips-only --before` (seconds, after one full run) scores only the clips, today's temporal smoothing and the
old plain moving average side by side, with MediaPipe's cached masks -> bench/results/quality_clips.json.
`--clips call-P002-noisy,call-P008-noisy` scores only those clips (tools/build_evalset.py --noisy-only makes
them); MediaPipe's masks for clips the cache lacks are made once into <set>/mediapipe-clips.npz. Every clip also
reports `still_flicker`: the flicker over the frame pairs where the truth does not move at all.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import quality_metrics as qm  # noqa: E402
from quality_still_picture import write_still_picture  # noqa: E402

from desktop_app.core.frames import Frame  # noqa: E402
from desktop_app.core.lookahead import Lookahead, video_lookahead  # noqa: E402
from desktop_app.core.masks import MaskRefiner, soft_threshold  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

MP_PYTHON = REPO / ".venvs" / "mediapipe" / "bin" / "python"
MP_WORKER = REPO / "bench" / "quality_mp_worker.py"
BUILDER = REPO / "tools" / "build_evalset.py"
RESULT = REPO / "bench" / "results" / "quality.json"
MP_MODELS = ("mediapipe-general", "mediapipe-landscape")
KINDS = ("full", "half", "third", "group")


def read_rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


def read_mask(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


class Ours:
    """Today's app path. `still(rgb)` and `clip(frames)` return bool person masks at full resolution."""

    name = "ours"

    def __init__(self) -> None:
        self.segmenter = Segmenter("auto", device="cpu", threads=1)
        self.ms: list[float] = []

    def still(self, rgb: np.ndarray) -> np.ndarray:
        # quality="fast": the per-frame path (EffectParams' default became "best", which is segment_still)
        pipeline = Pipeline(self.segmenter, EffectParams(effect="blur", quality="fast"), temporal=False)
        start = time.perf_counter()
        mask = pipeline.process(Frame(rgb, 0.0, 0, "still")).mask
        self.ms.append((time.perf_counter() - start) * 1e3)
        assert mask is not None
        return mask >= 0.5

    lookahead = True

    def clip(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """The app's video-file path: the pipeline as cli.py and ui/exports.py make it for `process` and Export
        all (full-resolution edges), fed as core.batch_video feeds it (the lookahead, W36/W39, with session 13's
        crop around the person under it)."""
        pipeline = Pipeline(self.segmenter, EffectParams(effect="blur"), temporal=True)
        pipeline.full_edges = True
        out = []
        with video_lookahead(pipeline) as look:
            for i, rgb in enumerate(look.feed(frames) if self.lookahead else frames):
                mask = pipeline.process(Frame(rgb, i / 30.0, i, "clip")).mask
                assert mask is not None
                out.append(mask >= 0.5)
        return out


class OursNoLookahead(Ours):
    """Video files as before W36: the same pipeline without the one-frame lookahead (--no-lookahead)."""

    name = "ours-no-lookahead"
    lookahead = False


class OursMedian3(Ours):
    """Video files as before W39: the lookahead's median of three (t-1..t+1) instead of five (--median3)."""

    name = "ours-median3"

    def clip(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        pipeline = Pipeline(self.segmenter, EffectParams(effect="blur"), temporal=True)
        pipeline.full_edges = True
        pipeline.segmenter = look = Lookahead(self.segmenter, radius=1)
        return [m >= 0.5 for m in (pipeline.process(Frame(rgb, i / 30.0, i, "clip")).mask  # type: ignore[operator]
                                   for i, rgb in enumerate(look.feed(frames)))]


class OursLive(Ours):
    """Live frames (--live): the camera's pipeline (temporal, the grid edge step, no lookahead: nothing ahead; the
    model on a crop around the person, as `core.live` sets it)."""

    name = "ours-live"
    crop = True

    def clip(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        pipeline = Pipeline(self.segmenter, EffectParams(effect="blur"), temporal=True)
        pipeline.crop = self.crop
        return [m >= 0.5 for m in (pipeline.process(Frame(rgb, i / 30.0, i, "cam")).mask  # type: ignore[operator]
                                   for i, rgb in enumerate(frames))]


class OursLiveNoCrop(OursLive):
    """Live frames before session 13 (--live-no-crop): the whole frame through the model."""

    name = "ours-live-no-crop"
    crop = False


class LegacyEMA(MaskRefiner):
    """The smoothing before #9's temporal work: a plain moving average of the probabilities, no hysteresis."""

    def smooth(self, mask: np.ndarray) -> np.ndarray:
        mask = np.asarray(mask, dtype=np.float32)
        if self.smoothing <= 0.0:
            self.reset()
            return mask
        if self._state is None or self._state.shape != mask.shape:
            self._state = mask.copy()
        else:
            self._state = cv2.addWeighted(self._state, self.smoothing, mask, 1.0 - self.smoothing, 0.0)
        return self._state

    def refine(self, mask: np.ndarray) -> np.ndarray:
        return soft_threshold(self.smooth(mask), self.threshold, self.feather)


class OursBefore(Ours):
    """Clips through the app pipeline as before #9's temporal work: the plain moving average, no edge refinement
    (--before: side by side)."""

    name = "ours-before"

    def clip(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        from desktop_app.core import masks

        saved, masks.VIDEO_EDGE_PROBABILITY = masks.VIDEO_EDGE_PROBABILITY, 0.5  # before #9: the threshold as it is
        try:
            return self._clip(frames)
        finally:
            masks.VIDEO_EDGE_PROBABILITY = saved

    def _clip(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        pipeline = Pipeline(self.segmenter, EffectParams(effect="blur"), temporal=True)
        pipeline._refiner = LegacyEMA()
        pipeline.edges = False
        out = []
        for i, rgb in enumerate(frames):
            mask = pipeline.process(Frame(rgb, i / 30.0, i, "clip")).mask
            assert mask is not None
            out.append(mask >= 0.5)
        return out


class StillPath(Ours):
    """Phase 2's best-quality stills path without the person detector (clips stay on the app pipeline)."""

    name = "ours-still-path"
    detect = False

    def still(self, rgb: np.ndarray) -> np.ndarray:
        from desktop_app.core.quality import StillOptions, segment_still

        start = time.perf_counter()
        alpha = segment_still(self.segmenter, rgb, StillOptions(detect=self.detect))
        self.ms.append((time.perf_counter() - start) * 1e3)
        return alpha >= 0.5


class StillDetect(StillPath):
    """The stills path as shipped: the people found first by the bundled detector (docs/quality.md)."""

    name = "ours-detector"
    detect = True


class StillApp(StillPath):
    """The app's best still as shipped (session 16): `Pipeline` at quality best, default feather, its band matted
    (core.matting), alpha >= 0.5."""

    name = "ours-app"

    def still(self, rgb: np.ndarray) -> np.ndarray:
        pipeline = Pipeline(self.segmenter, EffectParams(effect="blur"), temporal=False)
        start = time.perf_counter()
        mask = pipeline.process(Frame(rgb, 0.0, 0, "still")).mask
        self.ms.append((time.perf_counter() - start) * 1e3)
        assert mask is not None
        return mask >= 0.5


def run_mp_worker(root: Path, out: Path, clips: list[str] | None = None) -> str:
    """MediaPipe's masks for the set (or only `clips`) into `out`; returns MediaPipe's version."""
    if not MP_PYTHON.exists():
        raise SystemExit(f"{MP_PYTHON} is missing: run `bash tools/make_mediapipe_venv.sh` first")
    cmd = [str(MP_PYTHON), str(MP_WORKER), str(root), str(out)] + ([",".join(clips)] if clips else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the MediaPipe worker failed:\n{proc.stderr[-2000:]}")
    return str(json.loads(proc.stdout.strip().splitlines()[-1])["mediapipe"])


def load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def mediapipe_masks(root: Path, cached: bool = False, clips: tuple[dict, ...] = ()) -> dict[str, np.ndarray]:
    """MediaPipe's masks for the set; `cached` reuses root/mediapipe.npz from an earlier run when it exists.
    Clips (manifest entries) it lacks come from root/mediapipe-clips.npz, remade when their frames changed."""
    out = root / "mediapipe.npz"
    if cached and out.exists():
        masks, version = load_npz(out), "cached"
    else:
        version = run_mp_worker(root, out)
        masks = load_npz(out)
    missing = [c for c in clips if f"{MP_MODELS[0]}/{c['clip']}/000" not in masks]
    if missing:
        extra, sidecar = root / "mediapipe-clips.npz", root / "mediapipe-clips.json"
        want = {c["clip"]: c.get("frames_sha256", c["truth_sha256"]) for c in missing}
        have = json.loads(sidecar.read_text()) if sidecar.exists() and extra.exists() else {}
        if any(have.get(k) != v for k, v in want.items()):
            version = run_mp_worker(root, extra, list(want))
            sidecar.write_text(json.dumps(want, indent=1) + "\n")
        masks |= load_npz(extra)
    masks["__version__"] = np.array(version)
    return masks


def unpack(packed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).astype(bool)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:  # a kind the set lacks (the fresh composites have no "full")
        return {"n": 0}
    ious = [r["iou"] for r in rows]
    return {"n": len(rows), "mean_iou": round(float(np.mean(ious)), 4), "worst_iou": round(float(np.min(ious)), 4),
            "boundary_f": round(float(np.mean([r["boundary_f"] for r in rows])), 4),
            "covered_90": round(float(np.mean([r["covered_90"] for r in rows])), 4),
            "people": int(sum(r["people"] for r in rows)),
            "people_under_90": int(sum(r["under_90"] for r in rows))}


def still_flicker(preds: list[np.ndarray], truths: list[np.ndarray]) -> tuple[float, int]:
    """(flicker over the frame pairs whose truth is identical, their count): what a person sitting still sees."""
    values = [np.count_nonzero(preds[t] != preds[t - 1]) / max(np.count_nonzero(truths[t]), 1)
              for t in range(1, len(truths)) if np.array_equal(truths[t], truths[t - 1])]
    return (float(np.mean(values)) if values else float("nan")), len(values)


def clip_scores(preds: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, Any]:
    scores: dict[str, Any] = {k: round(float(v), 4) if k != "lag" else int(v)
                              for k, v in qm.video_scores(preds, truths).items()}
    still, pairs = still_flicker(preds, truths)
    return scores | {"still_flicker": round(still, 5), "still_pairs": pairs}


def evaluate(root: Path, ours: list[Ours], pictures_dir: Path | None = None, clips_only: bool = False,
             clip_methods: list[Ours] | None = None, clips: list[str] | None = None) -> dict[str, Any]:
    """Stills (unless `clips_only`: then MediaPipe's cached masks are reused) and clips (`clips`: only these
    names); `clip_methods` run the clips (default: the first of `ours`)."""
    manifest = json.loads((root / "manifest.json").read_text())
    if clips is not None:
        unknown = sorted(set(clips) - {v["clip"] for v in manifest["videos"]})
        if unknown:
            raise SystemExit(f"no such clip in {root}: {', '.join(unknown)} (tools/build_evalset.py --noisy-only)")
        manifest["videos"] = [v for v in manifest["videos"] if v["clip"] in clips]
    mp_masks = mediapipe_masks(root, cached=clips_only, clips=tuple(manifest["videos"]))
    methods = [] if clips_only else [o.name for o in ours] + list(MP_MODELS)
    per_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for still in [] if clips_only else manifest["stills"]:
        stem = root / "stills" / still["name"]
        rgb, truth = read_rgb(stem.with_suffix(".png")), read_mask(Path(f"{stem}.truth.png")) > 0
        inst = read_mask(Path(f"{stem}.inst.png"))
        preds = {o.name: o.still(rgb) for o in ours}
        preds |= {m: unpack(mp_masks[f"{m}/{still['name']}"], truth.shape) for m in MP_MODELS}
        for method, pred in preds.items():
            scores = qm.image_scores(pred, truth, inst)
            cover = qm.person_coverage(pred, inst)
            per_image[method].append({"name": still["name"], "kind": still["kind"], "split": still["split"],
                                      "people": len(cover), "under_90": int(sum(c < 0.9 for c in cover)),
                                      "coverage": [round(c, 4) for c in cover],
                                      **{k: round(v, 4) for k, v in scores.items()}})
    table: dict[str, Any] = {}
    for method in methods:
        rows = per_image[method]
        table[method] = {}
        for split in ("tune", "heldout"):
            table[method][split] = {kind: summarise([r for r in rows if r["split"] == split and r["kind"] == kind])
                                    for kind in KINDS}
            table[method][split]["all"] = summarise([r for r in rows if r["split"] == split])
    videos: dict[str, Any] = {}
    clip_pictures: list[str] = []
    for clip in manifest["videos"]:
        folder = root / "video" / clip["clip"]
        frames = [read_rgb(folder / f"{t:03d}.png") for t in range(clip["frames"])]
        truths = [read_mask(folder / f"{t:03d}.truth.png") > 0 for t in range(clip["frames"])]
        preds = {o.name: o.clip(frames) for o in (clip_methods or ours[:1])}
        preds |= {m: [unpack(mp_masks[f"{m}/{clip['clip']}/{t:03d}"], truths[0].shape) for t in range(len(frames))]
                  for m in MP_MODELS}
        if clips_only and pictures_dir is not None:
            clip_pictures.append(write_clip_picture(pictures_dir, clip["clip"], frames, truths, preds))
            if "source" in clip:  # noisy clips: where a person sitting still sees the mask flicker
                still_picture = write_still_picture(pictures_dir, clip["clip"], frames, truths, preds, REPO)
                clip_pictures += [still_picture] if still_picture else []
        videos[clip["clip"]] = {"split": clip["split"], **{m: clip_scores(p, truths) for m, p in preds.items()}}
    timing = {o.name: {"median_ms": round(float(np.median(o.ms)), 1), "n": len(o.ms)} for o in ours if o.ms}
    pictures = write_pictures(root, ours, pictures_dir, mp_masks) if pictures_dir and not clips_only else []
    pictures += clip_pictures
    return {"table": table, "videos": videos, "per_image": per_image, "still_ms": timing,
            "mediapipe": str(mp_masks["__version__"]), "pictures": pictures}


PICTURES = ("P002-third-wide", "group3-P001-P002-P003", "P004-half-portrait")


def error_picture(rgb: np.ndarray, pred: np.ndarray, truth: np.ndarray, height: int = 150) -> np.ndarray:
    """The photo in grey; missed person pixels blue, false person pixels red (small PNGs for docs/)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    out = np.dstack([grey] * 3).astype(np.float32) * 0.8
    out[truth & ~pred] = out[truth & ~pred] * 0.3 + np.array([40, 90, 255]) * 0.7
    out[pred & ~truth] = out[pred & ~truth] * 0.3 + np.array([255, 40, 40]) * 0.7
    out = out.astype(np.uint8)
    return cv2.resize(out, (round(out.shape[1] * height / out.shape[0]), height), interpolation=cv2.INTER_AREA)


def write_pictures(root: Path, ours: list[Ours], folder: Path, mp_masks: dict[str, np.ndarray]) -> list[str]:
    """Per picture: ours (today), then each MediaPipe model (then phase 2's path if run), side by side."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PICTURES:
        stem = root / "stills" / name
        rgb, truth = read_rgb(stem.with_suffix(".png")), read_mask(Path(f"{stem}.truth.png")) > 0
        preds = [ours[0].still(rgb)] + [unpack(mp_masks[f"{m}/{name}"], truth.shape) for m in MP_MODELS]
        preds += [o.still(rgb) for o in ours[1:]]
        tiles = [error_picture(rgb, p, truth) for p in preds]
        sheet = np.hstack([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=255) for t in tiles])
        path = folder / f"quality-{name}.png"
        cv2.imwrite(str(path), sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
        written.append(str(path.relative_to(REPO)))
    return written


def write_clip_picture(folder: Path, clip: str, frames: list[np.ndarray], truths: list[np.ndarray],
                       preds: dict[str, list[np.ndarray]]) -> str:
    """The clip's fastest-moving frame, one error picture per method side by side (--clips-only --pictures)."""
    t = max(range(1, len(truths)), key=lambda i: int(np.count_nonzero(truths[i] != truths[i - 1])))
    tiles = [error_picture(frames[t], p[t], truths[t], height=180) for p in preds.values()]
    sheet = np.hstack([np.pad(tile, ((0, 0), (0, 4), (0, 0)), constant_values=255) for tile in tiles])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"video-{clip}-{t:03d}.png"
    cv2.imwrite(str(path), sheet[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"{path.name}: {', '.join(preds)}")
    return str(path.relative_to(REPO))


def print_table(result: dict[str, Any]) -> None:
    print(f"{'method':22} {'split':8} {'kind':6} {'n':>3} {'meanIoU':>8} {'worst':>6} {'bF':>6} {'cov90':>6}")
    for method, splits in result["table"].items():
        for split, kinds in splits.items():
            for kind, s in kinds.items():
                if not s["n"]:
                    continue
                print(f"{method:22} {split:8} {kind:6} {s['n']:3d} {s['mean_iou']:8.3f} {s['worst_iou']:6.3f} "
                      f"{s['boundary_f']:6.3f} {s['covered_90']:6.3f}")
    for clip, methods in result["videos"].items():
        for method, s in methods.items():
            if method != "split":
                print(f"{clip:16} {method:22} IoU {s['iou']:.3f} moving {s['moving_iou']:.3f} "
                      f"bF {s['boundary_f']:.3f} flicker {s['flicker']:.4f} still {s['still_flicker']:.5f} "
                      f"lag {s['lag']}")


def markdown(result: dict[str, Any]) -> str:
    """The tables for docs/quality.md."""
    lines = ["| method | split | kind | n | mean IoU | worst IoU | boundary F | people >= 90% covered |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for method, splits in result["table"].items():
        for split, kinds in splits.items():
            for kind, s in kinds.items():
                if not s["n"]:
                    continue
                covered = s["people"] - s["people_under_90"]
                lines.append(f"| {method} | {split} | {kind} | {s['n']} | {s['mean_iou']:.3f} | {s['worst_iou']:.3f} | "
                             f"{s['boundary_f']:.3f} | {covered}/{s['people']} |")
    lines += ["", "| clip | split | method | mean IoU | worst IoU | IoU moving | boundary F | flicker | "
              "flicker, still frames | lag (frames) |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for clip, methods in result["videos"].items():
        for method, s in methods.items():
            if method != "split":
                lines.append(f"| {clip} | {methods['split']} | {method} | {s['iou']:.3f} | {s['worst_iou']:.3f} | "
                             f"{s['moving_iou']:.3f} | {s['boundary_f']:.3f} | {s['flicker']:.4f} | "
                             f"{s['still_flicker']:.5f} | {s['lag']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=REPO / ".cache" / "evalset")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the set first")
    parser.add_argument("--still-path", action="store_true", help="also run desktop_app.core.quality")
    parser.add_argument("--out", type=Path, help=f"default {RESULT.name}; quality_clips.json with --clips-only")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown to this file")
    parser.add_argument("--pictures", action="store_true", help="write the error pictures to docs/img/")
    parser.add_argument("--clips-only", action="store_true",
                        help="only the clips (seconds), reusing MediaPipe's masks from an earlier full run")
    parser.add_argument("--before", action="store_true",
                        help="clips also through the old plain moving average, side by side")
    parser.add_argument("--no-lookahead", action="store_true",
                        help="clips also without the one-frame lookahead (video files before W36), side by side")
    parser.add_argument("--median3", action="store_true",
                        help="clips also with the lookahead's median of three (video files before W39), side by side")
    parser.add_argument("--live", action="store_true",
                        help="clips also through the live pipeline (grid edges, no lookahead), side by side")
    parser.add_argument("--live-no-crop", action="store_true",
                        help="clips also through the live pipeline before session 13 (no crop), side by side")
    parser.add_argument("--clips", type=lambda v: [c for c in v.split(",") if c],
                        help="comma-separated clip names to score (default: every clip in the set)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.rebuild or not (args.set / "manifest.json").exists():
        subprocess.run([sys.executable, str(BUILDER), "--out", str(args.set), "--check"], check=True)
    ours: list[Ours] = [Ours()]
    if args.still_path:
        ours += [StillPath(), StillDetect(), StillApp()]
        for other in ours[1:]:
            other.segmenter = ours[0].segmenter
    clip_methods = list(ours[:1])
    if args.before:
        clip_methods.insert(0, OursBefore())
        clip_methods[0].segmenter = ours[0].segmenter
    if args.no_lookahead:
        clip_methods.insert(len(clip_methods) - 1, OursNoLookahead())
        clip_methods[-2].segmenter = ours[0].segmenter
    for flag, extra in ((args.median3, OursMedian3), (args.live_no_crop, OursLiveNoCrop), (args.live, OursLive)):
        if flag:
            clip_methods.insert(len(clip_methods) - 1, extra())
            clip_methods[-2].segmenter = ours[0].segmenter
    result = evaluate(args.set, ours, REPO / "docs" / "img" if args.pictures else None, args.clips_only, clip_methods,
                      args.clips)
    result["environment"] = {"python": platform.python_version(), "machine": platform.machine(),
                             "command": " ".join(sys.argv[1:])}
    print_table(result)
    args.out = args.out or (RESULT.with_name("quality_clips.json") if args.clips_only else RESULT)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    if args.markdown:
        args.markdown.write_text(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
