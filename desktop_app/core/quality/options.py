"""The stills path's switches: one per step of `segment_still` (the experiments in bench/ turn them on and off)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StillOptions:
    """Switches for each step (the experiments in bench/quality_experiments.py turn them on and off)."""

    whole: bool = True
    both_models: str = ""  # "min" / "max": the whole frame through both models, fused (experiment)
    letterbox: bool = False  # measured: squashing did better (docs/quality.md)
    tile_frac: float = 0.5  # tile side as a fraction of the shorter side; 0 = no tiles
    tile_overlap: float = 0.5
    tiles_only_if_empty: bool = True  # tiles only when the whole frame finds nobody (tiles add false positives)
    crops: bool = True
    crop_margin: float = 0.15
    crop_rounds: int = 2  # crop again around what the first crops found (3 gained stills, lost groups)
    crop_merge: float = 0.6  # boxes overlapping by more than this share of the smaller one become one; > 1: never
    crop_max: float = 0.9  # no crop for a person whose box is this large a part of the shorter side
    crop_mode: str = "replace"  # "replace": inside a person's crop the crop decides; "max": either pass
    specks: bool = False  # measured: no gain on the tuning split (docs/quality.md)
    holes: bool = False
    snap: bool = True
    snap_radius: float = 0.004
    snap_eps: float = 1e-3
    threshold: float = 0.5
    detect: bool = True  # find the people first with the bundled detector (step 0)
    detect_tile_frac: float = 0.5  # also detect on tiles of this share of the shorter side (small people); 0 = off
    detect_tile_score: float = 0.9  # a tile's detection counts from this score up
    sharpen: bool = True  # a whole-picture detection takes a tile's larger view of the same body (people.sharpened)
    unexplained: float = 0.002  # > 0: step 4a, for deleted parts of at least this share of the picture
    weak_score: float = 0.5  # > 0: a tile's detection from this score up gets a closer look (people.second_look)
    face_look: bool = True  # ... in which a face detector may confirm it too (heads cut by the frame's edge)
    face_score: float = 0.75  # the face it must find there
    body_scale: float = 1.25  # body square side = 2 x hip-to-size-point distance x this (MediaPipe's ROI)
    region_pad: float = 0.0  # the allowed region: body squares grown by this share of their side (0.2 let cups in)
    region_aspect: float = 0.75  # the region: a rectangle along the body axis, this share of the square's width
    head_crops: float = 0.7  # > 0: a portrait's crop is a square of this share of the shorter side around its head
    head_at: float = 0.4  # ... with the face this far down
    head_side_by_side: bool = True  # ... only with somebody of a like size beside them (still.beside_a_like)
    detect_crops: bool = True  # a square crop around each detected body (before the crop rounds)
    own_region: bool = True  # a body's crop decides only in its body's region (elsewhere: the maximum)
    own_exclusive: bool = False  # ... and outside every other person's region (measured: deleted one in s2-tune-02)
    region_feet: float = 0.0  # the region's rectangle made longer at the feet end by this share of the side
    axis_crops: bool = True  # two smaller squares along each body's axis (upper / lower), fused by max, gated
    axis_crop_size: float = 0.5  # their side, as a share of the body square's side (0.5-0.6: within 0.003)
    axis_crop_max: float = 0.9  # none for a body square this large a part of the shorter side (portraits)
    axis_parts: str = "both"  # "both" squares, or only the "lower" one (legs and feet)
    axis_agree: float = 0.1  # > 0: their pixels count only where the earlier passes gave at least this much
    axis_connected: bool = False  # their person parts count only where they touch what was found before
    flip: str = ""  # "mean" / "max": every model run also on the mirrored input, fused (experiment)
    bodies: str = "replace"  # / "mean" / "max" / "": each detected body's own mask (body segmenter) fused in
    body_presence: float = 0.5  # ... where the body segmenter is this sure of a body in the square
    nose_margin: float = 0.25  # ... its nose in the face box grown by this share each side, nearest that face
    body_agree: float = 0.05  # > 0: where a body mask gives at least this, the passes above may add to it
    body_agree_open: int = 9  # ... only parts that survive an opening of this side (px at work size): no rims
    body_agree_shared: bool = True  # ... only where two people's regions overlap (a neighbour misleads the model)


DEFAULT = StillOptions()
