"""FaceTracker: face boxes stabilised across video frames, so no face is exposed for a frame when the detector blinks.
Pure (no model): the faces stage calls `update(this frame's detections)` on every frame the detector runs on, and
live, `coast()` on the frames `DetectionSchedule` lets it skip (while every face is steady: every second frame).

Per track: the last box (lightly smoothed: only jitter, never motion), a velocity (box coordinates per frame, an
exponential mean of the matched frames' displacements) and the frames since its last detection. A detection
continues a track when it has a similar size (within 1.5x) and overlaps where the track should be now (IoU >= 0.2)
or has its centre inside the track's expected region; pairs are taken greedily, the best overlap first. A track
that misses is HELD for `hold` frames: its region is everything from where the face was last seen to where its
velocity carries it (so a face that keeps moving and one that stops are both covered), grown by `grow` x its size
on every side per missed frame; it is dropped after that, or as soon as its velocity has carried it out of the
frame; a face leaving through the frame's edge (which the detector loses while it is partly out) is held until its
predicted box has left, up to `exit_hold` frames. An unmatched detection starts a new track and is returned on that
very frame (a new face is never delayed).

Why hold = 10 frames (1/3 s at 30 fps), measured on the test video (bench/bench_face_tracking.py, docs/quality.md
"Faces over time"): the detectors' misses are short runs, MediaPipe's mostly 1-6 frames (motion blur, crossing
faces) and two of 10 (head turns), CenterFace's 1-4 at 640 px and up to 7 at full size; holding 5 frames left 27
face-frames exposed, 10 left 12 (only a face entering the frame, never detected yet), 15 or 20 no fewer while
hiding more of the frame. And a false detection, or a face that has really gone, costs at most 1/3 s of one extra
hidden patch."""

from __future__ import annotations

from dataclasses import dataclass

from desktop_app.core.detection import Detection

Box = tuple[float, float, float, float]
NEVER = 1 << 30  # `since_drop` before any track was dropped


@dataclass(slots=True)
class _Track:
    box: Box  # the last detected (smoothed) box, normalized
    velocity: Box  # per frame, for each box coordinate
    score: float
    keypoints: tuple[tuple[float, float], ...]
    ident: int
    missed: int = 0  # frames since the last detection
    hits: int = 1
    coasted: int = 0  # of the `missed` frames, those the detector did not run on (`coast`): no miss


def _size(box: Box) -> tuple[float, float]:
    return max(box[2] - box[0], 1e-6), max(box[3] - box[1], 1e-6)


class DetectionSchedule:
    """Which live frames the detector runs on: every frame unless `tracker.steady(min_hits, max_speed, recent)`,
    and then at least every `every`-th frame. So it always runs while there is no track (a new face is found on
    its first frame), while a track is new, held after a miss or moving fast, and for `recent` frames after a
    track was dropped (a face gone behind another person comes back); while every face is steady, a face that
    newly appears waits at most `every - 1` frames (with `every=2`: 1 frame, 33 ms at 30 fps).
    Why every=2, min_hits=3, max_speed=0.1, recent=30, measured on the test video (bench/bench_face_tracking.py,
    docs/benchmarks.md "Session 6"): without `recent` a face coming out from behind another was found a frame
    late; with it the only late face is one entering the frame (found on its first detection 1 frame late at
    half the start frames: 11-12 face-frames exposed, 11 detecting every frame, 12 before the session).
    `every=1` detects every frame."""

    def __init__(self, every: int = 2, min_hits: int = 3, max_speed: float = 0.1, recent: int = 30) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1 frame, got {every}")
        self.every, self.min_hits, self.max_speed, self.recent = every, min_hits, max_speed, recent
        self._skipped = 0  # frames skipped since the last detection

    def due(self, tracker: FaceTracker) -> bool:
        """Whether to detect on this frame (and count it: call once per frame)."""
        if self._skipped + 1 >= self.every or not tracker.steady(self.min_hits, self.max_speed, self.recent):
            self._skipped = 0
            return True
        self._skipped += 1
        return False

    def reset(self) -> None:
        self._skipped = 0


class FaceTracker:
    """`update(faces)` once per video frame -> the faces to hide in that frame (normalized frame coordinates).

    hold: frames a track is kept after its last detection (10 = 1/3 s at 30 fps; see the module docstring).
    grow: how much a held box grows on every side per missed frame, as a share of its size.
    smooth: at most this much of the expected box is blended into a matched detection, and only while the two
        differ by less than `jitter` x the face's size (detector noise); a real move is taken as detected.
    velocity_decay: weight of the old velocity in its exponential mean (0 = the last displacement only).
    min_iou: the least overlap with where a track should be for a detection to continue it (a detection whose
        centre lies inside the track's expected region also does); max_scale: the most a face's size may change
        from one detection to the next within a track.
    exit_hold: the hold for a face leaving through the frame's edge (its predicted box crosses the edge, moving
        out): the detector loses a face that is partly out of the frame, so it is held until its predicted box
        has left the frame, at most this many frames (default 3 x hold: a face 110 px wide leaving at 6 px/frame).
    """

    def __init__(self, hold: int = 10, grow: float = 0.03, smooth: float = 0.5, jitter: float = 0.08,
                 velocity_decay: float = 0.5, min_iou: float = 0.2, max_scale: float = 1.5,
                 exit_hold: int | None = None) -> None:
        if hold < 0:
            raise ValueError(f"hold must be >= 0 frames, got {hold}")
        if not 0.0 <= smooth < 1.0 or not 0.0 <= velocity_decay < 1.0:
            raise ValueError("smooth and velocity_decay must be in [0, 1)")
        self.hold, self.grow, self.smooth, self.jitter = hold, grow, smooth, jitter
        self.velocity_decay, self.min_iou, self.max_scale = velocity_decay, min_iou, max_scale
        self.exit_hold = 3 * hold if exit_hold is None else max(exit_hold, hold)
        self._tracks: list[_Track] = []
        self._next_id = 0
        self.since_drop = NEVER  # frames since a track was last dropped (`steady`)
        self.ids: list[int] = []  # the track of each face the last `update` returned (same order)

    def reset(self) -> None:
        """Forget every track (a new video, a new frame size)."""
        self._tracks, self.ids, self.since_drop = [], [], NEVER

    @property
    def track_count(self) -> int:
        """Tracks alive now (detected this frame or held)."""
        return len(self._tracks)

    # ------------------------------------------------------------------ prediction

    def _expected(self, t: _Track) -> Box:
        """Where the track's face should be on the coming frame: one more step of its velocity from the last box,
        and for a track already missing, everything from the last box to there, grown per missed frame."""
        n = t.missed + 1
        ahead = tuple(b + v * n for b, v in zip(t.box, t.velocity, strict=True))
        if t.missed == 0:
            return ahead  # type: ignore[return-value]
        return self._swept(t.box, ahead, t.missed)  # type: ignore[arg-type]

    def _swept(self, last: Box, ahead: Box, missed: int) -> Box:
        w, h = _size(last)
        gx, gy = self.grow * missed * w, self.grow * missed * h
        return (min(last[0], ahead[0]) - gx, min(last[1], ahead[1]) - gy,
                max(last[2], ahead[2]) + gx, max(last[3], ahead[3]) + gy)

    def _held(self, t: _Track) -> Box:
        """The region hidden for a track that missed `t.missed` frames (>= 1)."""
        ahead = tuple(b + v * t.missed for b, v in zip(t.box, t.velocity, strict=True))
        return self._swept(t.box, ahead, t.missed)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ matching

    def _match(self, faces: list[Detection]) -> dict[int, int]:
        """Detection index -> track index, greedy, best pair first. A pair needs a similar size (within
        `max_scale` x: a face does not change size that fast; without this a large held face takes a small
        passing face's detection and loses its cover) and either an overlap of `min_iou` with where the track
        should be now or its centre inside the track's expected (swept, grown) region."""
        dets = []
        for f in faces:
            d0, d1, d2, d3 = f.box
            dets.append((d0, d1, d2, d3, (d0 + d2) / 2, (d1 + d3) / 2, max(d2 - d0, 1e-12) * max(d3 - d1, 1e-12)))
        pairs: list[tuple[float, int, int]] = []
        lo, hi = 1.0 / self.max_scale**2, self.max_scale**2  # on areas
        for ti, t in enumerate(self._tracks):
            n = t.missed + 1
            a0, a1, a2, a3 = (b + v * n for b, v in zip(t.box, t.velocity, strict=True))
            r0, r1, r2, r3 = self._expected(t)
            rw, rh = max(r2 - r0, 1e-12), max(r3 - r1, 1e-12)
            t_area = max(t.box[2] - t.box[0], 1e-12) * max(t.box[3] - t.box[1], 1e-12)
            a_area = max(a2 - a0, 0.0) * max(a3 - a1, 0.0)
            for di, (d0, d1, d2, d3, cx, cy, d_area) in enumerate(dets):
                touches = d0 < a2 and d2 > a0 and d1 < a3 and d3 > a1
                inside = r0 <= cx <= r2 and r1 <= cy <= r3
                if not (touches or inside) or not lo <= d_area / t_area <= hi:
                    continue
                overlap = 0.0
                if touches:
                    inter = (min(a2, d2) - max(a0, d0)) * (min(a3, d3) - max(a1, d1))
                    overlap = inter / (a_area + d_area - inter)
                if overlap >= self.min_iou or inside:
                    # the overlap first; a centre-only match ranks by how near the region's centre it lies
                    off = abs(cx - (r0 + r2) / 2) / rw + abs(cy - (r1 + r3) / 2) / rh
                    pairs.append((overlap + 0.01 * (1.0 - min(off, 1.0)), ti, di))
        pairs.sort(reverse=True)
        taken_t: set[int] = set()
        out: dict[int, int] = {}
        for _, ti, di in pairs:
            if ti not in taken_t and di not in out:
                taken_t.add(ti)
                out[di] = ti
        return out

    def _continue(self, t: _Track, f: Detection) -> None:
        """Track `t` detected again as `f`: smooth jitter only, update the velocity."""
        n = t.missed + 1
        ahead = tuple(b + v * n for b, v in zip(t.box, t.velocity, strict=True))
        w, h = _size(f.box)
        error = max(abs(a - d) / s for a, d, s in zip(ahead, f.box, (w, h, w, h), strict=True))
        weight = self.smooth * max(0.0, 1.0 - error / self.jitter) if self.jitter > 0 else 0.0
        box = tuple(d + weight * (a - d) for a, d in zip(ahead, f.box, strict=True))
        step = tuple((b - o) / n for b, o in zip(box, t.box, strict=True))
        k = self.velocity_decay if t.hits > 1 else 0.0  # the first displacement is the first estimate
        t.velocity = tuple(k * v + (1.0 - k) * s for v, s in zip(t.velocity, step, strict=True))  # type: ignore[assignment]
        t.box = box  # type: ignore[assignment]
        t.score, t.keypoints = f.score, f.keypoints
        t.missed, t.hits, t.coasted = 0, t.hits + 1, 0

    # ------------------------------------------------------------------ the frame

    def update(self, faces: list[Detection]) -> list[Detection]:
        """This frame's detections -> the faces to hide: every detection (smoothed when it continues a track,
        as it is when new) and every held track's grown region."""
        matched = self._match(faces)
        for di, ti in matched.items():
            self._continue(self._tracks[ti], faces[di])
        seen = set(matched.values())
        survivors: list[_Track] = []
        for ti, t in enumerate(self._tracks):
            if ti not in seen:
                t.missed += 1
                ahead = [b + v * t.missed for b, v in zip(t.box, t.velocity, strict=True)]
                if ahead[2] <= 0.0 or ahead[3] <= 0.0 or ahead[0] >= 1.0 or ahead[1] >= 1.0:
                    continue  # its velocity has carried it out of the frame
                vx, vy = (t.velocity[0] + t.velocity[2]) / 2, (t.velocity[1] + t.velocity[3]) / 2
                leaving = ((ahead[0] < 0.0 and vx < 0) or (ahead[2] > 1.0 and vx > 0)
                           or (ahead[1] < 0.0 and vy < 0) or (ahead[3] > 1.0 and vy > 0))
                if t.missed - t.coasted > (self.exit_hold if leaving else self.hold):
                    continue
            survivors.append(t)
        for di, f in enumerate(faces):
            if di not in matched:
                survivors.append(_Track(tuple(f.box), (0.0, 0.0, 0.0, 0.0), f.score, f.keypoints,  # type: ignore[arg-type]
                                        self._next_id))
                self._next_id += 1
        self._count_drops(len(self._tracks) + len(faces) - len(matched), survivors)
        return [self._hidden(t) for t in self._tracks]

    def coast(self) -> list[Detection]:
        """A frame the detector did not run on (the faces stage's `DetectionSchedule`) -> the faces to hide: every
        track carried one frame on, hidden as a held track is (everything from its last box to where its velocity
        carries it, grown by `grow` per frame), without counting against `hold`; a track whose predicted box has
        left the frame is dropped."""
        survivors: list[_Track] = []
        for t in self._tracks:
            t.missed += 1
            t.coasted += 1
            ahead = [b + v * t.missed for b, v in zip(t.box, t.velocity, strict=True)]
            if ahead[2] <= 0.0 or ahead[3] <= 0.0 or ahead[0] >= 1.0 or ahead[1] >= 1.0:
                continue
            survivors.append(t)
        self._count_drops(len(self._tracks), survivors)
        return [self._hidden(t) for t in survivors]

    def _count_drops(self, before: int, survivors: list[_Track]) -> None:
        """Keep `survivors` (of `before` tracks, new ones included) and count the frames since a track was dropped."""
        self.since_drop = 0 if len(survivors) < before else self.since_drop + 1
        self._tracks = survivors
        self.ids = [t.ident for t in survivors]

    def steady(self, min_hits: int = 3, max_speed: float = 0.1, recent: int = 30) -> bool:
        """Whether the detector may skip the coming frame: there are tracks, every one was found by the last
        detection (none held after a miss), has been detected at least `min_hits` times (its velocity is known)
        and moves (each edge) under `max_speed` x its size per frame, and no track was dropped in the last
        `recent` frames (a face that went out of view, behind another person or a hand, tends to come back)."""
        if not self._tracks or self.since_drop < recent:
            return False
        for t in self._tracks:
            if t.missed > t.coasted or t.hits < min_hits:
                return False
            w, h = _size(t.box)
            vx0, vy0, vx1, vy1 = t.velocity
            if max(abs(vx0), abs(vx1)) > max_speed * w or max(abs(vy0), abs(vy1)) > max_speed * h:
                return False
        return True

    def _hidden(self, t: _Track) -> Detection:
        if t.missed == 0:
            return Detection(t.score, t.box, t.keypoints)
        region = self._held(t)
        dx = (region[0] + region[2] - t.box[0] - t.box[2]) / 2
        dy = (region[1] + region[3] - t.box[1] - t.box[3]) / 2
        return Detection(t.score, region, tuple((x + dx, y + dy) for x, y in t.keypoints))
