"""Photos tab: drops (with an unreadable file), the comparison slider, save, export and cancel, teardown."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from corpus import listing, short_video
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from ui_fakes import FakeSegmenter

from desktop_app.core.batch import Outcome, Report
from desktop_app.core.frames import Frame, Result
from desktop_app.core.imageio import read_image
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings
from desktop_app.ui import exports
from desktop_app.ui.batch_worker import BatchWorker
from desktop_app.ui.compare_view import CompareView
from desktop_app.ui.photos_view import LOADING_NOTE, PhotosView, Preview

RED, BLUE = (220, 30, 30), (30, 30, 220)
WAIT = 10000  # ms: generous for a loaded 2-core machine; never a timing assertion


def flat(color: tuple[int, int, int], width: int = 200, height: int = 100, alpha: int | None = None) -> np.ndarray:
    channels = 3 if alpha is None else 4
    pixels = np.empty((height, width, channels), np.uint8)
    pixels[..., :3] = color
    if alpha is not None:
        pixels[..., 3] = alpha
    return pixels


def write_photo(path: Path, color: tuple[int, int, int] = RED, size: tuple[int, int] = (80, 60)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(flat(color, *size)).save(path)
    return path


# ---------------------------------------------------------------------------------------------- fakes


class BlockingProcessor:
    """A batch processor that passes frames through and, on call `block_at`, waits until released."""

    def __init__(self, block_at: int) -> None:
        self.block_at = block_at
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()

    def set_params(self, params: EffectParams) -> None:
        pass

    def reset(self) -> None:
        pass

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        self.calls += 1
        if self.calls == self.block_at:
            self.entered.set()
            assert self.release.wait(WAIT / 1000), "the test never released the processor"
        return Result(frame, frame.pixels)


class SavePicker:
    """A Save As dialog stand-in: records what was proposed and answers `answer` (None = cancelled)."""

    def __init__(self, answer: Path | None = None) -> None:
        self.answer = answer
        self.asked: list[tuple[Path, bool]] = []

    def __call__(self, _parent, proposed: Path, video: bool) -> Path | None:  # type: ignore[no-untyped-def]
        self.asked.append((proposed, video))
        return proposed if self.answer is None else self.answer


NO_MODEL = object()


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def make_view(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., PhotosView]]:  # type: ignore[no-untyped-def]
    views: list[PhotosView] = []

    def make(params: EffectParams | None = None, model=None, processor=None,  # type: ignore[no-untyped-def]
             settings: Settings | None = None, save_picker=None, factory=None) -> PhotosView:  # type: ignore[no-untyped-def]
        settings = settings or Settings(last_export_dir=str(tmp_path / "saved"))
        chosen = params or EffectParams(effect="blur", smoothing=0.0)
        kwargs = {} if processor is None else {"processor_factory": lambda _s, _p: processor}
        if factory is not None:
            kwargs = {"processor_factory": factory}
        if processor is not None:  # one processor object: exports on one worker (the spares would share it)
            monkeypatch.setattr(exports, "default_workers", lambda _quality: 1)
        segmenter = None if model is NO_MODEL else (model or FakeSegmenter())
        view = PhotosView(lambda: chosen, settings, segmenter=segmenter, save_picker=save_picker or SavePicker(),
                          **kwargs)
        qtbot.addWidget(view)
        view.resize(800, 500)
        view.show()
        views.append(view)
        return view

    yield make
    for view in views:
        view.shutdown()
        assert view._thread.isFinished() and not view.batch.is_running()


def drop(widget, paths: list[Path]) -> QDropEvent:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    assert event.isAccepted()
    return event


def wait_preview(qtbot, view: PhotosView, path: Path, with_effect: bool = True) -> Preview:  # type: ignore[no-untyped-def]
    def ready() -> None:
        shown = view.shown()
        assert shown is not None and shown.path == path and (shown.pixels is not None) == with_effect
        assert shown.generation == view._generation

    qtbot.waitUntil(ready, timeout=WAIT)
    shown = view.shown()
    assert shown is not None
    return shown


# ---------------------------------------------------------------------------------------------- compare view


def pixel(image, x: int, y: int) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    color = QColor(image.pixel(x, y))
    return color.red(), color.green(), color.blue()


@pytest.fixture
def compare(qtbot) -> CompareView:  # type: ignore[no-untyped-def]
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(400, 200)  # the same 2:1 aspect as the images: the picture fills the widget
    view.set_images(flat(RED), flat(BLUE))
    view.show()
    qtbot.waitExposed(view)
    return view


def test_compare_paints_the_split_at_the_position(compare: CompareView) -> None:
    assert compare.image_rect().getRect() == (0, 0, 400, 200)
    compare.set_position(0.25)
    assert compare.divider_x() == 100
    image = compare.grab().toImage()
    assert pixel(image, 90, 20) == RED and pixel(image, 110, 20) == BLUE
    assert pixel(image, 5, 190) == RED and pixel(image, 395, 190) == BLUE


def test_compare_follows_a_mouse_drag(qtbot, compare: CompareView) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(compare.position_changed) as moved:
        qtbot.mousePress(compare, Qt.MouseButton.LeftButton, pos=QPoint(300, 100))
    assert moved.args == [0.75]
    qtbot.mouseMove(compare, QPoint(320, 60))
    qtbot.mouseRelease(compare, Qt.MouseButton.LeftButton, pos=QPoint(320, 60))
    assert compare.position() == pytest.approx(0.8)
    image = compare.grab().toImage()
    assert pixel(image, 310, 20) == RED and pixel(image, 330, 20) == BLUE
    qtbot.mouseMove(compare, QPoint(100, 60))  # no button held: nothing moves
    assert compare.position() == pytest.approx(0.8)


def test_compare_keyboard(qtbot, compare: CompareView) -> None:  # type: ignore[no-untyped-def]
    compare.setFocus()
    qtbot.keyClick(compare, Qt.Key.Key_Left)
    assert compare.position() == pytest.approx(0.45)
    qtbot.keyClick(compare, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert compare.position() == pytest.approx(0.46)
    qtbot.keyClick(compare, Qt.Key.Key_Home)
    assert compare.position() == 0.0
    image = compare.grab().toImage()
    assert pixel(image, 10, 20) == BLUE and pixel(image, 200, 20) == BLUE  # all "after"
    qtbot.keyClick(compare, Qt.Key.Key_Right)
    qtbot.keyClick(compare, Qt.Key.Key_End)
    assert compare.position() == 1.0
    image = compare.grab().toImage()
    assert pixel(image, 200, 20) == RED and pixel(image, 390, 20) == RED  # all "before"


def test_compare_rgba_over_checkerboard_and_a_small_mask(compare: CompareView) -> None:
    compare.set_images(flat(RED), flat(BLUE, alpha=0))
    compare.set_position(0.5)
    image = compare.grab().toImage()
    assert pixel(image, 100, 20) == RED
    board = {pixel(image, x, 20) for x in range(300, 340)}
    assert board == {(204, 204, 204), (153, 153, 153)}  # transparent: the checkerboard shows through

    mask = np.full((25, 50), 255, np.uint8)  # the mask effect: model resolution, stretched to the photo
    compare.set_images(flat(RED), mask)
    image = compare.grab().toImage()
    assert pixel(image, 100, 20) == RED and pixel(image, 300, 20) == (255, 255, 255)


def test_compare_before_only_shows_the_original(compare: CompareView) -> None:
    compare.set_images(flat(RED), None)
    compare.set_position(0.1)
    image = compare.grab().toImage()
    assert not compare.has_result() and pixel(image, 300, 20) == RED


# ---------------------------------------------------------------------------------------------- batch worker


def test_batch_worker_reports_each_item_in_order(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = write_photo(tmp_path / "in" / "a.png")
    b = tmp_path / "in" / "b.jpg"
    b.write_text("not a photo")
    out = tmp_path / "out"
    worker = BatchWorker()
    progress: list[tuple[int, int, str]] = []
    items: list[Outcome] = []
    worker.progress.connect(lambda *args: progress.append(args))
    worker.item_done.connect(items.append)
    with qtbot.waitSignal(worker.finished, timeout=WAIT) as done:
        worker.start([tmp_path / "in", tmp_path / "missing.png"], out, BlockingProcessor(block_at=0),
                     EffectParams(effect="blur"))
    report: Report = done.args[0]
    assert not worker.is_running() and not report.cancelled
    assert [o.source.name for o in items] == ["missing.png", "a.png", "b.jpg"]
    assert [o.source.name for o in report.outcomes] == ["missing.png", "a.png", "b.jpg"]
    assert items[1].output == out / "a_blur.png" and items[1].ok
    assert "not an image" in (items[2].error or "") and "file not found" in (items[0].error or "")
    assert progress == [(0, 2, str(a)), (1, 2, str(b)), (2, 2, str(b))]
    assert listing(out) == ["a_blur.png"]


def test_batch_worker_stop_joins_the_thread(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in "abc":
        write_photo(tmp_path / "in" / f"{name}.png")
    processor = BlockingProcessor(block_at=1)
    worker = BatchWorker()
    worker.start([tmp_path / "in"], tmp_path / "out", processor, EffectParams())
    assert processor.entered.wait(WAIT / 1000)
    with pytest.raises(RuntimeError, match="already running"):
        worker.start([tmp_path / "in"], tmp_path / "out", processor, EffectParams())
    processor.release.set()
    assert worker.stop() and not worker.is_running()
    assert processor.calls <= 2  # cancelled before the third photo


# ---------------------------------------------------------------------------------------------- photos view


def test_drop_files_and_folder_with_an_unreadable_file(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = write_photo(tmp_path / "drop" / "good.png")
    broken = tmp_path / "drop" / "broken.jpg"
    broken.write_text("this is not a jpeg")
    nested = write_photo(tmp_path / "folder" / "sub" / "nested.png", BLUE)
    (tmp_path / "folder" / "readme.txt").write_text("skipped: not a photo extension")
    view = make_view()
    drop(view, [good, broken, tmp_path / "folder"])

    qtbot.waitUntil(lambda: len(view.errors()) == 1, timeout=WAIT)
    assert view.errors() == ["broken.jpg: not an image (unrecognised content)"]
    assert view.paths() == [good, nested]
    shown = wait_preview(qtbot, view, good)
    assert shown.params == EffectParams(effect="blur", smoothing=0.0)
    assert shown.pixels is not None and shown.pixels.shape == (60, 80, 3)
    assert view.compare.has_result() and view.compare.note() == ""

    view.item_list.setCurrentRow(1)
    shown = wait_preview(qtbot, view, nested)
    assert shown.before.size().toTuple() == (80, 60)
    drop(view, [good])  # the same file again is not listed twice
    assert view.paths() == [good, nested]


def test_drop_with_only_an_unreadable_file(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    view = make_view()
    drop(view, [empty])
    qtbot.waitUntil(lambda: view.errors() == ["empty.png: not an image (the file is empty)"], timeout=WAIT)
    qtbot.waitUntil(lambda: view.paths() == [], timeout=WAIT)
    assert view.compare.note() == "None of these files could be opened."
    assert not view.save_current()


def test_drag_without_files_is_refused(qtbot, make_view) -> None:  # type: ignore[no-untyped-def]
    view = make_view()
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, enter)
    assert not enter.isAccepted() and view.paths() == []


def test_params_change_reprocesses(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "p.png")
    view = make_view()
    view.add_paths([photo])
    wait_preview(qtbot, view, photo)
    removed = EffectParams(effect="remove", smoothing=0.0)
    view.on_params_changed(removed)
    qtbot.waitUntil(lambda: view.shown() is not None and view.shown().params == removed, timeout=WAIT)
    pixels = view.shown().pixels
    assert pixels is not None and pixels.shape == (60, 80, 4)
    assert pixels[30, 40, 3] == 255 and pixels[0, 0, 3] == 0  # the fake disc is the person

    view.hide()  # another tab is shown: the change waits until the photos are visible again
    masked = EffectParams(effect="mask", smoothing=0.0)
    view.on_params_changed(masked)
    generation = view._generation
    view.show()
    assert view._generation == generation + 1
    qtbot.waitUntil(lambda: view.shown() is not None and view.shown().params == masked, timeout=WAIT)


def test_before_the_model_is_ready_the_original_shows_then_the_effect(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "p.png")
    view = make_view(model=NO_MODEL)
    view.add_paths([photo])
    shown = wait_preview(qtbot, view, photo, with_effect=False)
    assert shown.after is None and not view.compare.has_result()
    assert view.compare.note() == LOADING_NOTE
    view.set_segmenter(FakeSegmenter())  # the one way the model arrives: no poll, no provider callback
    shown = wait_preview(qtbot, view, photo)
    assert view.compare.has_result() and view.compare.note() == ""


def test_save_twice_never_overwrites(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "p.png")
    original = photo.read_bytes()
    view = make_view()
    view.add_paths([photo])
    assert view.save_current()  # before the result is ready: saved when it is
    with qtbot.waitSignal(view.saved, timeout=WAIT) as first:
        pass
    with qtbot.waitSignal(view.saved, timeout=WAIT) as second:
        assert view.save_current()
    folder = tmp_path / "saved"
    assert (first.args[0], second.args[0]) == (folder / "p_blur.png", folder / "p_blur-1.png")
    assert listing(folder) == ["p_blur-1.png", "p_blur.png"]
    shown = view.shown()
    assert shown is not None and shown.pixels is not None
    for path in (first.args[0], second.args[0]):
        assert np.array_equal(read_image(path).rgb, shown.pixels)
    assert photo.read_bytes() == original


def test_export_all_with_cancel_leaves_no_partial_files(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in "abc":
        write_photo(tmp_path / "in" / f"{name}.png")
    processor = BlockingProcessor(block_at=2)
    view = make_view(processor=processor)
    view.add_paths([tmp_path / "in"])
    out = tmp_path / "export"
    assert view.export_all(out)
    assert processor.entered.wait(WAIT / 1000)  # the second photo is being processed
    assert view.progress_bar.isVisibleTo(view) and view.cancel_button.isVisibleTo(view)
    assert not view.export_button.isEnabled()
    view.cancel_button.click()
    with qtbot.waitSignal(view.export_finished, timeout=WAIT) as done:
        processor.release.set()
    report: Report = done.args[0]
    assert report.cancelled and [o.source.name for o in report.outcomes] == ["a.png", "b.png"]
    assert listing(out) == ["a_blur.png", "b_blur.png"]  # no temp, no c
    for path in (out / name for name in listing(out)):
        assert read_image(path).size == (80, 60)
    assert not view.progress_bar.isVisibleTo(view) and view.export_button.isEnabled()
    assert "cancelled" in view.status_label.text()
    assert view._settings.last_export_dir == str(out)


def test_cancel_mid_video_leaves_nothing(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video = short_video(tmp_path / "in" if (tmp_path / "in").mkdir() is None else tmp_path).path
    processor = BlockingProcessor(block_at=4)
    view = make_view(processor=processor)
    view.add_paths([video])
    out = tmp_path / "export"
    assert view.export_all(out)
    assert processor.entered.wait(WAIT / 1000)
    view.cancel_export()
    with qtbot.waitSignal(view.export_finished, timeout=WAIT) as done:
        processor.release.set()
    assert done.args[0].cancelled and done.args[0].outcomes == []
    assert list(out.rglob("*")) == []


def test_export_videos_and_errors_are_listed_with_notes(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    video = short_video(tmp_path / "in").path
    photo = write_photo(tmp_path / "in" / "p.png")
    broken = tmp_path / "in" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    view = make_view(params=EffectParams(effect="remove", smoothing=0.0))
    view.add_paths([tmp_path / "in"])
    out = tmp_path / "export"
    with qtbot.waitSignal(view.export_finished, timeout=30000) as done:
        assert view.export_all(out)
    report: Report = done.args[0]
    assert not report.cancelled
    assert sorted(o.source for o in report.succeeded) == sorted([video, photo])
    assert [o.source for o in report.failed] == [broken]
    assert any("broken.png" in e and "corrupt" in e for e in view.errors())
    assert "green screen" in view.status_label.text()  # the video summary note
    assert listing(out) == ["p_remove.png", "short clip_remove.mp4"]
    view.item_list.setCurrentRow(view.paths().index(video))  # a video previews its first frame
    shown = wait_preview(qtbot, view, video)
    assert shown.pixels is not None and shown.pixels.shape == (48, 64, 4)


def test_export_waits_for_the_model(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "p.png")
    view = make_view(model=NO_MODEL)
    view.add_paths([photo])
    out = tmp_path / "export"
    assert view.export_all(out)
    assert not view.batch.is_running() and "model" in view.status_label.text()
    assert view.cancel_button.isVisibleTo(view)
    with qtbot.waitSignal(view.export_finished, timeout=WAIT):
        view.set_segmenter(FakeSegmenter())
    assert listing(out) == ["p_blur.png"]


def test_export_asks_for_a_folder_and_nothing_to_export(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def picker(_parent, start: str) -> Path | None:  # type: ignore[no-untyped-def]
        asked.append(start)
        return None

    view = PhotosView(EffectParams, Settings(last_export_dir=str(tmp_path)), segmenter=FakeSegmenter(),
                      folder_picker=picker)
    qtbot.addWidget(view)
    try:
        assert not view.export_all()  # nothing opened
        view.add_paths([write_photo(tmp_path / "p.png")])
        assert not view.export_all()  # the dialog was cancelled
        assert asked == [str(tmp_path)]
    finally:
        view.shutdown()


def test_export_all_runs_photos_on_two_workers_with_a_processor_each(qtbot, make_view, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in "abcdef":
        write_photo(tmp_path / "in" / f"{name}.png")
    made: list[BlockingProcessor] = []
    given: list[object] = []

    class Twinning(FakeSegmenter):
        def twin(self) -> Twinning:
            return Twinning()

    def factory(segmenter: object, _params: EffectParams) -> BlockingProcessor:
        given.append(segmenter)
        made.append(BlockingProcessor(block_at=0))  # never blocks
        return made[-1]

    monkeypatch.setattr(exports, "default_workers", lambda _quality: 2)
    model = Twinning()
    view = make_view(factory=factory, model=model)
    view.add_paths([tmp_path / "in"])
    out = tmp_path / "export"
    with qtbot.waitSignal(view.export_finished, timeout=WAIT) as done:
        assert view.export_all(out)
    report: Report = done.args[0]
    assert [o.source.name for o in report.outcomes] == [f"{n}.png" for n in "abcdef"]
    assert listing(out) == [f"{n}_blur.png" for n in "abcdef"]
    assert len(made) == 2 and sum(p.calls for p in made) == 6  # the export's processor and one spare
    assert len(given) == 2 and all(s is not model for s in given)  # neither shares the previews' sessions


def test_shutdown_during_an_export_joins_the_threads(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in "abcd":
        write_photo(tmp_path / "in" / f"{name}.png")
    processor = BlockingProcessor(block_at=2)
    view = make_view(processor=processor)
    view.add_paths([tmp_path / "in"])
    out = tmp_path / "export"
    assert view.export_all(out)
    assert processor.entered.wait(WAIT / 1000)
    processor.release.set()
    view.shutdown()  # as the window closes: cancel + join
    assert view._thread.isFinished() and not view.batch.is_running()
    names = listing(out)
    assert names in (["a_blur.png", "b_blur.png"], ["a_blur.png", "b_blur.png", "c_blur.png"])
    for path in (out / name for name in listing(out)):
        assert read_image(path).size == (80, 60)  # every file that exists is complete
