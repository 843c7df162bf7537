"""The Photos tab's faces review: outlines for the detected faces, click to remove, drag to add, Reset faces, and
what is saved or exported hides exactly the reviewed boxes (Frame.faces, normalized to the original photo)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from corpus import file_hashes, short_video
from PIL import Image
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor
from ui_fakes import FakeSegmenter

from desktop_app import paths
from desktop_app.core.detection import Detection
from desktop_app.core.frames import Frame, Result
from desktop_app.core.imageio import read_image
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.settings import Settings
from desktop_app.ui.face_review import KEPT, REMOVED, VIDEO_NOTE, FaceReview, to_view
from desktop_app.ui.photo_worker import SaveRequest
from desktop_app.ui.photos_view import PhotosView

WAIT = 10000  # ms: generous for a loaded machine; never a timing assertion
FACES_ON = EffectParams(effect="none", faces="blur", smoothing=0.0)
Box = tuple[float, float, float, float]


class FixedFinder:
    """A face detector stand-in: the same boxes for every photo; records the thread it ran on."""

    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = boxes
        self.threads: list[threading.Thread] = []

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        self.threads.append(threading.current_thread())
        return [Detection(0.9, box, ()) for box in self.boxes]


class RecordingProcessor:
    """An export processor that passes frames through and records each frame's (source, faces)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def set_params(self, params: EffectParams) -> None:
        pass

    def reset(self) -> None:
        pass

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        self.seen.append((Path(frame.source_id).name, frame.faces))
        return Result(frame, frame.pixels)


@pytest.fixture
def astronaut(tmp_path: Path) -> Path:
    """skimage.data.astronaut (the bundled sample is that picture), saved as a PNG."""
    path = tmp_path / "in" / "astronaut.png"
    path.parent.mkdir()
    Image.fromarray(read_image(paths.sample_image()).rgb).save(path)
    return path


@pytest.fixture
def frames_seen(monkeypatch: pytest.MonkeyPatch) -> list[Frame]:
    """Every Frame the photo thread's pipeline processes."""
    seen: list[Frame] = []
    original = Pipeline.process

    def process(self, frame: Frame, still: bool | None = None) -> Result:  # type: ignore[no-untyped-def]
        seen.append(frame)
        return original(self, frame, still)

    monkeypatch.setattr(Pipeline, "process", process)
    return seen


@pytest.fixture
def make_view(qtbot, tmp_path: Path) -> Iterator[Callable[..., PhotosView]]:  # type: ignore[no-untyped-def]
    views: list[PhotosView] = []

    def make(params: EffectParams = FACES_ON, **kwargs) -> PhotosView:  # type: ignore[no-untyped-def]
        processor = kwargs.pop("processor", None)
        if processor is not None:
            kwargs["processor_factory"] = lambda _s, _p: processor
        settings = Settings(last_export_dir=str(tmp_path / "out"))
        view = PhotosView(lambda: params, settings, segmenter=FakeSegmenter(),
                          save_picker=lambda _parent, proposed, _video: tmp_path / "out" / proposed.name, **kwargs)
        qtbot.addWidget(view)
        view.resize(900, 560)
        view.show()
        qtbot.waitExposed(view)
        view.compare.set_position(1.0)  # the divider out of the way of the faces
        views.append(view)
        return view

    yield make
    for view in views:
        view.shutdown()


def reviewed(qtbot, view: PhotosView, path: Path) -> FaceReview:  # type: ignore[no-untyped-def]
    """Wait until the photo is shown with its review on the picture and the preview hid exactly its boxes."""
    def ready() -> None:
        shown, review = view.shown(), view.faces_bar.review(path)
        assert shown is not None and shown.path == path and shown.pixels is not None
        assert shown.generation == view._generation and review is not None
        assert view.faces_bar.overlay.review() is review and shown.faces == review.hidden()

    qtbot.waitUntil(ready, timeout=WAIT)
    review = view.faces_bar.review(path)
    assert review is not None
    return review


def click(qtbot, view: PhotosView, point: QPoint) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(view.compare, Qt.MouseButton.LeftButton, pos=point)


def drag(qtbot, view: PhotosView, start: QPoint, end: QPoint) -> None:  # type: ignore[no-untyped-def]
    qtbot.mousePress(view.compare, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.compare, (start + end) / 2)
    qtbot.mouseMove(view.compare, end)
    qtbot.mouseRelease(view.compare, Qt.MouseButton.LeftButton, pos=end)


def centre(box: Box, rect: QRect) -> QPoint:
    return to_view(box, rect).center().toPoint()


def color_at(view: PhotosView, point: QPoint) -> tuple[int, int, int]:
    color = QColor(view.compare.grab().toImage().pixel(point))
    return color.red(), color.green(), color.blue()


def save(qtbot, view: PhotosView, monkeypatch: pytest.MonkeyPatch) -> tuple[SaveRequest, Path]:  # type: ignore[no-untyped-def]
    requests: list[SaveRequest] = []
    original = view._thread.request_save
    monkeypatch.setattr(view._thread, "request_save", lambda request: (requests.append(request), original(request)))
    with qtbot.waitSignal(view.saved, timeout=WAIT) as saved:
        assert view.save_current()
    assert len(requests) == 1
    return requests[0], saved.args[0]


# ---------------------------------------------------------------------------------------------- outlines


def test_the_astronauts_face_is_outlined_and_counted(qtbot, make_view, astronaut: Path) -> None:  # type: ignore[no-untyped-def]
    view = make_view()
    view.add_paths([astronaut])
    review = reviewed(qtbot, view, astronaut)
    assert len(review.faces) == 1  # the real photo detector (CenterFace), run by the photo thread
    x0, y0, x1, y1 = review.faces[0].box
    assert 0.3 < (x0 + x1) / 2 < 0.6 and 0.1 < (y0 + y1) / 2 < 0.4
    assert view.faces_bar.isVisible() and view.faces_bar.label.text().startswith("1 face will be hidden")
    assert "check" in view.faces_bar.label.text().lower()
    edge = to_view(review.faces[0].box, view.compare.image_rect())
    top_middle = QPoint(round(edge.center().x()), round(edge.top()))
    assert color_at(view, top_middle) == (KEPT.red(), KEPT.green(), KEPT.blue())  # drawn over the picture


def test_detection_runs_on_the_photo_thread_not_the_gui_thread(qtbot, make_view, astronaut: Path) -> None:  # type: ignore[no-untyped-def]
    finder = FixedFinder([(0.1, 0.1, 0.3, 0.3)])
    view = make_view(face_finder=lambda threshold: finder)
    view.add_paths([astronaut])
    reviewed(qtbot, view, astronaut)
    assert finder.threads and threading.main_thread() not in finder.threads


def test_with_faces_off_nothing_is_outlined_or_detected(qtbot, make_view, astronaut: Path, frames_seen) -> None:  # type: ignore[no-untyped-def]
    finder = FixedFinder([(0.1, 0.1, 0.3, 0.3)])
    view = make_view(params=FACES_ON.with_(faces=None), face_finder=lambda threshold: finder)
    view.add_paths([astronaut])
    qtbot.waitUntil(lambda: view.shown() is not None and view.shown().pixels is not None, timeout=WAIT)
    assert not finder.threads and view.faces_bar.overlay.review() is None and not view.faces_bar.isVisible()
    assert frames_seen[-1].faces is None


# ---------------------------------------------------------------------------------------------- edits


def test_a_click_removes_a_face_and_it_is_gone_from_what_is_saved(qtbot, make_view, astronaut: Path, frames_seen,  # type: ignore[no-untyped-def]
                                                                  monkeypatch, tmp_path: Path) -> None:
    boxes = [(0.1, 0.1, 0.3, 0.3), (0.6, 0.5, 0.8, 0.7)]
    view = make_view(face_finder=lambda threshold: FixedFinder(boxes))
    before = file_hashes([astronaut])
    view.add_paths([astronaut])
    review = reviewed(qtbot, view, astronaut)
    rect = view.compare.image_rect()
    click(qtbot, view, centre(boxes[0], rect))
    assert review.faces[0].removed and review.hidden() == (boxes[1],)
    assert view.faces_bar.label.text().startswith("1 face will be hidden (1 left visible)")
    corner = to_view(boxes[0], rect).topLeft().toPoint() + QPoint(1, 1)
    assert color_at(view, corner) == (REMOVED.red(), REMOVED.green(), REMOVED.blue())  # shown red, struck out
    request, written = save(qtbot, view, monkeypatch)  # asked before the new preview may be ready: it waits
    assert request.faces == (boxes[1],)
    assert [f.faces for f in frames_seen if f.pixels is not None][-1] == (boxes[1],)  # what the pipeline hid
    assert np.array_equal(read_image(written).rgb, view.shown().pixels)
    assert file_hashes([astronaut]) == before  # the original is untouched
    click(qtbot, view, centre(boxes[0], rect))  # a second click brings it back
    assert review.hidden() == tuple(boxes)


def test_a_drag_adds_a_box_at_the_dragged_rectangle_in_the_originals_coordinates(qtbot, make_view,  # type: ignore[no-untyped-def]
                                                                                 astronaut: Path, monkeypatch) -> None:
    view = make_view(face_finder=lambda threshold: FixedFinder([]))
    view.add_paths([astronaut])
    review = reviewed(qtbot, view, astronaut)
    assert view.faces_bar.label.text().startswith("No face will be hidden")
    rect = view.compare.image_rect()
    assert rect.x() > 0 and rect.width() != 512  # letterboxed and scaled: the mapping is not the identity
    start, end = QPoint(rect.x() + rect.width() // 5, rect.y() + rect.height() // 4), \
        QPoint(rect.x() + rect.width() // 2, rect.y() + 3 * rect.height() // 5)
    drag(qtbot, view, start, end)
    assert len(review.faces) == 1 and review.faces[0].added
    expected = ((start.x() - rect.x()) / rect.width(), (start.y() - rect.y()) / rect.height(),
                (end.x() - rect.x()) / rect.width(), (end.y() - rect.y()) / rect.height())
    assert len(review.hidden()) == 1 and review.hidden()[0] == pytest.approx(expected)
    scale = 512 / rect.width()  # the original's pixels per widget pixel: the box covers the dragged area there
    photo = [v * 512 for v in review.hidden()[0]]
    assert photo == pytest.approx([(start.x() - rect.x()) * scale, (start.y() - rect.y()) * scale,
                                   (end.x() - rect.x()) * scale, (end.y() - rect.y()) * scale])
    request, _written = save(qtbot, view, monkeypatch)
    assert request.faces == review.hidden()
    drag(qtbot, view, end, end + QPoint(2, 40))  # too thin to be a box: nothing added
    assert len(review.faces) == 1
    click(qtbot, view, (start + end) / 2)  # a click on an added box deletes it
    assert review.faces == []


def test_reset_faces_restores_the_detections(qtbot, make_view, astronaut: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    boxes = [(0.1, 0.1, 0.3, 0.3), (0.6, 0.5, 0.8, 0.7)]
    view = make_view(face_finder=lambda threshold: FixedFinder(boxes))
    view.add_paths([astronaut])
    review = reviewed(qtbot, view, astronaut)
    assert not view.faces_bar.reset_button.isEnabled()
    rect = view.compare.image_rect()
    click(qtbot, view, centre(boxes[1], rect))
    drag(qtbot, view, QPoint(rect.x() + 10, rect.bottom() - 60), QPoint(rect.x() + 60, rect.bottom() - 10))
    assert len(review.hidden()) == 2 and view.faces_bar.reset_button.isEnabled()
    qtbot.mouseClick(view.faces_bar.reset_button, Qt.MouseButton.LeftButton)
    assert review.hidden() == tuple(boxes) and not view.faces_bar.reset_button.isEnabled()
    request, _written = save(qtbot, view, monkeypatch)
    assert request.faces == tuple(boxes)


def test_the_divider_still_drags_while_reviewing(qtbot, make_view, astronaut: Path) -> None:  # type: ignore[no-untyped-def]
    view = make_view(face_finder=lambda threshold: FixedFinder([]))
    view.add_paths([astronaut])
    review = reviewed(qtbot, view, astronaut)
    view.compare.set_position(0.5)
    rect = view.compare.image_rect()
    x = view.compare.divider_x()
    drag(qtbot, view, QPoint(x, rect.center().y()), QPoint(x + rect.width() // 4, rect.center().y() + 20))
    assert view.compare.position() == pytest.approx(0.75, abs=0.01) and review.faces == []


def test_a_new_threshold_redetects_and_keeps_the_edits() -> None:
    review = FaceReview.detected(Path("p.png"), 0.5, [(0.1, 0.1, 0.3, 0.3), (0.6, 0.5, 0.8, 0.7)])
    review.toggle(0)
    review.add((0.4, 0.4, 0.5, 0.5))
    again = review.redetected(0.3, [(0.11, 0.1, 0.3, 0.31), (0.6, 0.5, 0.8, 0.7), (0.0, 0.8, 0.1, 0.9)])
    assert again.threshold == 0.3
    assert again.hidden() == ((0.6, 0.5, 0.8, 0.7), (0.0, 0.8, 0.1, 0.9), (0.4, 0.4, 0.5, 0.5))  # still removed
    assert again.counts() == (3, 1)


# ---------------------------------------------------------------------------------------------- exports, videos


def test_export_all_hides_the_reviewed_boxes_and_detects_the_rest(qtbot, make_view, astronaut: Path,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    other = astronaut.with_name("other.png")
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(other)
    boxes = [(0.1, 0.1, 0.3, 0.3), (0.6, 0.5, 0.8, 0.7)]
    processor = RecordingProcessor()
    view = make_view(face_finder=lambda threshold: FixedFinder(boxes), processor=processor)
    view.add_paths([astronaut, other])
    review = reviewed(qtbot, view, astronaut)
    click(qtbot, view, centre(boxes[0], view.compare.image_rect()))
    with qtbot.waitSignal(view.export_finished, timeout=WAIT):
        assert view.export_all(tmp_path / "exported")
    assert dict(processor.seen) == {"astronaut.png": review.hidden(), "other.png": None}  # None: the stage detects
    assert review.hidden() == (boxes[1],)


def test_a_video_has_no_review_and_says_so(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    finder = FixedFinder([(0.1, 0.1, 0.3, 0.3)])
    view = make_view(face_finder=lambda threshold: finder)
    video = short_video(tmp_path).path
    view.add_paths([video])
    qtbot.waitUntil(lambda: view.shown() is not None and view.shown().pixels is not None, timeout=WAIT)
    assert view.faces_bar.label.text() == VIDEO_NOTE and view.faces_bar.overlay.review() is None
    assert not finder.threads


def test_the_review_detects_at_the_photos_own_size_so_small_faces_are_outlined() -> None:
    from desktop_app.ui.photo_worker import photo_face_finder

    rgb = read_image(paths.sample_image()).rgb
    scene = np.full((1024, 1536, 3), 118, np.uint8)
    scene[400:528, 700:828] = rgb[::4, ::4]  # a ~22 px face: lost at the detector's default 640 px input
    faces = photo_face_finder(0.5).detect(scene)
    assert len(faces) == 1
    x0, y0, x1, y1 = faces[0].box
    assert 700 / 1536 < (x0 + x1) / 2 < 828 / 1536 and 400 / 1024 < (y0 + y1) / 2 < 528 / 1024


def test_a_face_at_the_edge_is_clipped_once_and_rendered_once(qtbot, make_view, astronaut: Path,  # type: ignore[no-untyped-def]
                                                              frames_seen) -> None:
    view = make_view(face_finder=lambda threshold: FixedFinder([(-0.05, 0.2, 0.2, 0.4)]))
    view.add_paths([astronaut])
    review = reviewed(qtbot, view, astronaut)
    assert review.hidden() == ((0.0, 0.2, 0.2, 0.4),)
    assert [f.faces for f in frames_seen] == [((0.0, 0.2, 0.2, 0.4),)]  # no second render to fix the boxes up


def test_a_new_threshold_redetects_on_screen_and_the_edits_survive(qtbot, make_view, astronaut: Path) -> None:  # type: ignore[no-untyped-def]
    boxes = [(0.1, 0.1, 0.3, 0.3), (0.6, 0.5, 0.8, 0.7)]
    asked: list[float] = []

    def finder(threshold: float) -> FixedFinder:
        asked.append(threshold)
        return FixedFinder(boxes if threshold >= 0.5 else [*boxes, (0.4, 0.8, 0.5, 0.9)])

    view = make_view(face_finder=finder)
    view.add_paths([astronaut])
    review = reviewed(qtbot, view, astronaut)
    click(qtbot, view, centre(boxes[0], view.compare.image_rect()))
    view.on_params_changed(FACES_ON.with_(face_threshold=0.3))
    qtbot.waitUntil(lambda: (r := view.faces_bar.review(astronaut)) is not None and r.threshold == 0.3
                    and view.shown().generation == view._generation and view.shown().faces == r.hidden(),
                    timeout=WAIT)
    again = view.faces_bar.review(astronaut)
    assert again is not None and again is not review and asked == [0.5, 0.3]
    assert again.hidden() == (boxes[1], (0.4, 0.8, 0.5, 0.9))  # the removed face stays removed
    view.on_params_changed(FACES_ON.with_(face_threshold=0.3, face_padding=0.5, faces="box"))
    qtbot.waitUntil(lambda: view.shown().params.faces == "box" and view.shown().generation == view._generation,
                    timeout=WAIT)
    assert asked == [0.5, 0.3] and view.shown().faces == again.hidden()  # style and padding never re-detect
