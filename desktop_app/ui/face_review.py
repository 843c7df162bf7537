"""The Photos tab's review step for faces: what the detector found, as the person corrected it.

`FaceReview` is one photo's faces (pure data: the detections, which were removed, which boxes were added);
`hidden()` is what the faces stage must hide, passed on as `Frame.faces` (normalized, in the original photo's
coordinates). `ReviewOverlay` draws the outlines over `CompareView`'s picture and turns the mouse into edits: a
click inside an outline removes that face (drawn red and struck out; a second click brings it back; an added box
is deleted), a drag adds a box. `FacesBar` (the line above the picture: the count, Reset faces) keeps every
opened photo's review; `ReviewedFaces` gives an Export all's frames of reviewed photos their boxes.
Missed faces are a privacy failure, so `summary` always says how many faces are hidden and asks for a check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from desktop_app.core.batch import Processor
from desktop_app.core.frames import Frame, Result
from desktop_app.core.params import EffectParams
from desktop_app.core.videoio import is_video
from desktop_app.ui.photo_worker import Preview

Box = tuple[float, float, float, float]  # (xmin, ymin, xmax, ymax), normalized to the original photo
VIDEO_NOTE = "Faces are found in every frame when a video is saved (videos have no review step)."
MIN_DRAG_PX = 5  # a press that moves less than this is a click, and a drawn box needs at least this size
SAME_FACE_IOU = 0.5  # a new detection this close to a removed one stays removed after a re-detection
KEPT, REMOVED, ADDED = QColor(255, 214, 0), QColor(230, 40, 40), QColor(0, 200, 255)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _clip(box: Box) -> Box:
    x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in box)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


@dataclass(slots=True)
class ReviewedFace:
    box: Box
    added: bool = False  # drawn by the person, not found by the detector
    removed: bool = False  # a detection the person said is not a face: it is not hidden


@dataclass(slots=True)
class FaceReview:
    """One photo's faces: `hidden()` are the boxes to hide, in order (detections first, then added ones)."""

    path: Path
    threshold: float  # the detector's threshold the detections were found with
    faces: list[ReviewedFace] = field(default_factory=list)

    @classmethod
    def detected(cls, path: Path, threshold: float, boxes: Sequence[Box]) -> FaceReview:
        return cls(path, threshold, [ReviewedFace(_clip(box)) for box in boxes])

    def hidden(self) -> tuple[Box, ...]:
        return tuple(face.box for face in self.faces if not face.removed)

    def counts(self) -> tuple[int, int]:
        """(faces hidden, detections removed)."""
        removed = sum(face.removed for face in self.faces)
        return len(self.faces) - removed, removed

    def face_at(self, x: float, y: float) -> int | None:
        """The index of the smallest outline around the normalized point (x, y), if any."""
        inside = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in self.faces]
        found = [i for i, f in enumerate(self.faces) if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]]
        return min(found, key=lambda i: inside[i]) if found else None

    def toggle(self, index: int) -> None:
        """Remove a detection (or bring a removed one back); delete an added box."""
        face = self.faces[index]
        if face.added:
            del self.faces[index]
        else:
            face.removed = not face.removed

    def add(self, box: Box) -> None:
        self.faces.append(ReviewedFace(_clip(box), added=True))

    def reset(self, boxes: Sequence[Box]) -> None:
        """Back to exactly the detections `boxes` (every edit dropped)."""
        self.faces = [ReviewedFace(_clip(box)) for box in boxes]

    def redetected(self, threshold: float, boxes: Sequence[Box]) -> FaceReview:
        """New detections (another threshold) with the person's edits kept: added boxes stay, and a detection
        that matches a removed one stays removed."""
        removed = [f.box for f in self.faces if f.removed]
        faces = [ReviewedFace(box, removed=any(iou(box, r) >= SAME_FACE_IOU for r in removed))
                 for box in map(_clip, boxes)]
        return FaceReview(self.path, threshold, faces + [f for f in self.faces if f.added])


def summary(review: FaceReview | None) -> str:
    """The one line under the picture: how many faces are hidden, and that the person should check."""
    if review is None:
        return "Finding faces…"
    hidden, removed = review.counts()
    kept = f" ({removed} left visible)" if removed else ""
    if hidden == 0:
        return (f"No face will be hidden{kept}. Check the photo: drag over any face the detector missed "
                "to hide it.")
    return (f"{hidden} face{'s' if hidden != 1 else ''} will be hidden{kept}. Check that every face is outlined: "
            "drag over a missed one to add it, click an outline that is not a face to leave it visible.")


# ---------------------------------------------------------------------------------------------- the overlay


def to_normalized(point: QPointF, rect: QRect) -> tuple[float, float]:
    """A widget point as normalized picture coordinates, for the picture drawn in `rect`."""
    return (point.x() - rect.x()) / rect.width(), (point.y() - rect.y()) / rect.height()


def to_view(box: Box, rect: QRect) -> QRectF:
    """A normalized box as a widget rectangle, for the picture drawn in `rect`."""
    x0, y0, x1, y1 = box
    return QRectF(rect.x() + x0 * rect.width(), rect.y() + y0 * rect.height(),
                  (x1 - x0) * rect.width(), (y1 - y0) * rect.height())


class ReviewOverlay(QObject):
    """Outlines and mouse edits over a picture drawn in a rectangle (CompareView calls `paint`/`press`/...)."""

    changed = Signal()  # the person edited the review (hidden() changed)

    def __init__(self, parent: QObject | None = None, update: Callable[[], None] | None = None) -> None:
        super().__init__(parent)
        self._review: FaceReview | None = None
        self._update = update or (lambda: None)
        self._press: QPointF | None = None
        self._drag: QPointF | None = None

    def review(self) -> FaceReview | None:
        return self._review

    def set_review(self, review: FaceReview | None) -> None:
        self._review = review
        self._press = self._drag = None
        self._update()

    def active(self) -> bool:
        return self._review is not None

    def press(self, point: QPointF, rect: QRect) -> bool:
        """A left press on the picture: the start of a click or a drag. False when not reviewing."""
        if self._review is None or rect.isEmpty() or not QRectF(rect).contains(point):
            return False
        self._press = self._drag = point
        return True

    def move(self, point: QPointF) -> bool:
        if self._press is None:
            return False
        self._drag = point
        self._update()
        return True

    def release(self, point: QPointF, rect: QRect) -> bool:
        """The end of a click (removes/restores the face under it) or a drag (adds the dragged box)."""
        start, self._press, self._drag = self._press, None, None
        if start is None or self._review is None or rect.isEmpty():
            return False
        delta = point - start
        if abs(delta.x()) < MIN_DRAG_PX and abs(delta.y()) < MIN_DRAG_PX:
            index = self._review.face_at(*to_normalized(start, rect))
            if index is not None:
                self._review.toggle(index)
                self.changed.emit()
        elif abs(delta.x()) >= MIN_DRAG_PX and abs(delta.y()) >= MIN_DRAG_PX:
            (x0, y0), (x1, y1) = to_normalized(start, rect), to_normalized(point, rect)
            self._review.add((x0, y0, x1, y1))
            self.changed.emit()
        self._update()
        return True

    def paint(self, painter: QPainter, rect: QRect) -> None:
        """Each face's outline over the picture in `rect`; a removed one red and struck out."""
        if self._review is None or rect.isEmpty():
            return
        painter.save()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for face in self._review.faces:
            box = to_view(face.box, rect)
            color = REMOVED if face.removed else ADDED if face.added else KEPT
            painter.setPen(QPen(QColor(0, 0, 0, 160), 4))  # a dark halo: visible on light and dark photos
            painter.drawRect(box)
            painter.setPen(QPen(color, 2, Qt.PenStyle.DashLine if face.removed else Qt.PenStyle.SolidLine))
            painter.drawRect(box)
            if face.removed:
                painter.drawLine(box.topLeft(), box.bottomRight())
                painter.drawLine(box.topRight(), box.bottomLeft())
        if self._press is not None and self._drag is not None:
            painter.setPen(QPen(ADDED, 1, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(self._press, self._drag).normalized())
        painter.restore()


# ---------------------------------------------------------------------------------------------- exports


class ReviewedFaces:
    """A batch processor whose frames from reviewed photos carry their reviewed boxes (`Frame.faces`)."""

    def __init__(self, processor: Processor, reviewed: Mapping[Path, tuple[Box, ...]]) -> None:
        self.processor = processor
        self.reviewed = {str(path.resolve()): faces for path, faces in reviewed.items()}
        self._keys: dict[str, str] = {}  # a frame's source_id -> its resolved path (once per source)

    def set_params(self, params: EffectParams) -> None:
        self.processor.set_params(params)

    def reset(self) -> None:
        self.processor.reset()

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        key = self._keys.get(frame.source_id)
        if key is None:
            key = self._keys[frame.source_id] = str(Path(frame.source_id).resolve()) if frame.source_id else ""
        faces = self.reviewed.get(key)
        if faces is not None and frame.faces is None:
            frame = replace(frame, faces=faces)
        return self.processor.process(frame, still)


# ---------------------------------------------------------------------------------------------- the bar


class FacesBar(QWidget):
    """How many faces are hidden (and a request to check), Reset faces; every opened photo's review.

    `request_for` says what a preview request carries, `show_preview` takes the worker's detections in and
    says whether the preview must be made again (it hid other boxes than the review's), `matches` whether a
    shown preview may be saved. `changed` follows every edit (the view re-renders)."""

    changed = Signal()

    def __init__(self, update: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay = ReviewOverlay(self, update)
        self.overlay.changed.connect(self._edited)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Faces to hide")
        self.reset_button = QPushButton("Reset faces")
        self.reset_button.setToolTip("Forget your changes: hide exactly the faces the detector found")
        self.reset_button.clicked.connect(self.reset_current)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.reset_button)
        self._reviews: dict[Path, FaceReview] = {}
        self._detections: dict[Path, tuple[Box, ...]] = {}
        self.setVisible(False)

    def review(self, path: Path) -> FaceReview | None:
        return self._reviews.get(path)

    def request_for(self, path: Path, params: EffectParams) -> tuple[tuple[Box, ...] | None, bool]:
        """(Frame.faces to hide, whether the worker should find the faces): the review's boxes once it exists
        at this threshold, else None and detect; nothing for videos or with faces off."""
        if params.faces is None or is_video(path):
            return None, False
        review = self._reviews.get(path)
        if review is None or review.threshold != params.face_threshold:
            self.label.setText(summary(None))
            return None, True
        return review.hidden(), True

    def show_preview(self, preview: Preview, params: EffectParams) -> bool:
        """Show `preview`'s review (made from its detections the first time); True: render it again."""
        if params.faces is None:
            self.overlay.set_review(None)
            self.setVisible(False)
            return False
        self.setVisible(True)
        if is_video(preview.path):
            self.overlay.set_review(None)
            self.label.setText(VIDEO_NOTE)
            self.reset_button.setVisible(False)
            return False
        path = preview.path
        if preview.detected is not None:
            old = self._reviews.get(path)
            self._detections[path] = preview.detected
            self._reviews[path] = (FaceReview.detected(path, preview.threshold, preview.detected) if old is None
                                   else old.redetected(preview.threshold, preview.detected))
        review = self._reviews.get(path)
        self.overlay.set_review(review)
        self._sync(review)
        return review is not None and preview.faces != review.hidden()

    def matches(self, preview: Preview, params: EffectParams) -> bool:
        """Whether `preview` hid exactly the reviewed boxes (always, when there is nothing to review)."""
        if params.faces is None or is_video(preview.path):
            return True
        review = self._reviews.get(preview.path)
        return review is not None and preview.faces == review.hidden()

    def wrap(self, processor: Processor, params: EffectParams) -> Processor:
        """`processor` for an export: reviewed photos hide their reviewed boxes; the rest are detected."""
        if params.faces is None:
            return processor
        return ReviewedFaces(processor, {path: review.hidden() for path, review in self._reviews.items()
                                         if review.threshold == params.face_threshold})

    def reset_current(self) -> None:
        """Back to exactly what the detector found for the photo on screen."""
        review = self.overlay.review()
        if review is None:
            return
        review.reset(self._detections.get(review.path, ()))
        self.overlay.set_review(review)
        self._edited()

    def clear(self) -> None:
        self._reviews.clear()
        self._detections.clear()
        self.overlay.set_review(None)
        self.setVisible(False)

    def _edited(self) -> None:
        self._sync(self.overlay.review())
        self.changed.emit()

    def _sync(self, review: FaceReview | None) -> None:
        self.label.setText(summary(review))
        self.reset_button.setVisible(True)
        self.reset_button.setEnabled(review is not None and any(f.removed or f.added for f in review.faces))
