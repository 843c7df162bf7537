"""Photos tab Save / Export all: where files go is asked (injected pickers, never real dialogs) and remembered."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import test_ui_photos
from corpus import file_hashes, listing, short_video
from PIL import Image
from PySide6.QtCore import QTimer
from test_ui_photos import WAIT, BlockingProcessor, SavePicker, wait_preview, write_photo

from desktop_app.core.batch import recorded_outputs
from desktop_app.core.imageio import read_image
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings

make_view = test_ui_photos.make_view  # the photos tab fixture, shared


def test_save_asks_where_proposes_the_name_and_remembers_the_folder(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "in" / "p.png")
    hashes = file_hashes([photo])
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    settings = Settings(last_save_dir=str(first_dir), output_format="png")
    picker = SavePicker(second_dir / "holiday.webp")
    view = make_view(settings=settings, save_picker=picker)
    view.add_paths([photo])
    wait_preview(qtbot, view, photo)
    with qtbot.waitSignal(view.saved, timeout=WAIT) as saved:
        assert view.save_current()
    assert picker.asked == [(first_dir / "p_blur.png", False)]  # <stem>_<effect>.<fmt>, in the last folder
    assert saved.args[0] == second_dir / "holiday.webp"
    with Image.open(saved.args[0]) as image:
        assert image.format == "WEBP"  # the format follows the picked extension
    assert settings.last_save_dir == str(second_dir) and not first_dir.exists()

    picker.answer = second_dir / "plain"  # no known extension: the default format's is added
    with qtbot.waitSignal(view.saved, timeout=WAIT) as saved:
        assert view.save_current()
    assert picker.asked[-1] == (second_dir / "p_blur.png", False)  # starts where the last save went
    assert saved.args[0] == second_dir / "plain.png" and read_image(saved.args[0]).size == (80, 60)
    assert file_hashes(hashes) == hashes


def test_a_cancelled_save_dialog_writes_nothing(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "p.png")
    view = make_view(save_picker=lambda _parent, _proposed, _video: None)
    view.add_paths([photo])
    wait_preview(qtbot, view, photo)
    assert not view.save_current()
    assert not (tmp_path / "saved").exists() and view.status_label.text() == ""


def test_a_picked_existing_name_is_never_replaced(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "p.png")
    taken = tmp_path / "out" / "taken.jpg"
    taken.parent.mkdir()
    taken.write_bytes(b"somebody else's file")
    view = make_view(save_picker=SavePicker(taken))  # the dialog's own "replace?" was answered yes
    view.add_paths([photo])
    with qtbot.waitSignal(view.saved, timeout=WAIT) as saved:
        assert view.save_current()  # before the result is ready: written when it is
    assert saved.args[0] == tmp_path / "out" / "taken-1.jpg"
    assert taken.read_bytes() == b"somebody else's file"
    assert "taken.jpg already exists" in view.status_label.text()
    with Image.open(saved.args[0]) as image:
        assert image.format == "JPEG"


def test_saving_a_video_exports_the_whole_video_under_the_picked_name(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    video = short_video(tmp_path / "in").path
    hashes = file_hashes([video])
    out = tmp_path / "videos"
    picker = SavePicker(out / "my clip.mp4")
    view = make_view(save_picker=picker)
    view.add_paths([video])
    wait_preview(qtbot, view, video)
    with qtbot.waitSignal(view.saved, timeout=30000) as saved:
        assert view.save_current()
        assert view.progress_bar.isVisibleTo(view) and view.cancel_button.isVisibleTo(view)
    assert picker.asked == [(tmp_path / "saved" / "short clip_blur.mp4", True)]
    assert saved.args[0] == out / "my clip.mp4"
    assert listing(out) == ["my clip.mp4"]  # no PNG of a frame, no temp file
    assert "my clip.mp4" in recorded_outputs(out)  # a later scan of this folder skips it
    capture = cv2.VideoCapture(str(saved.args[0]))
    try:
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 9
    finally:
        capture.release()
    assert view._settings.last_save_dir == str(out)
    assert f"Saved {out / 'my clip.mp4'}" in view.status_label.text()
    assert file_hashes(hashes) == hashes


def test_a_video_save_can_be_cancelled_and_leaves_nothing(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "in").mkdir()
    video = short_video(tmp_path / "in").path
    processor = BlockingProcessor(block_at=3)
    out = tmp_path / "videos"
    view = make_view(processor=processor, save_picker=SavePicker(out / "clip.mp4"))
    view.add_paths([video])
    assert view.save_current()
    assert processor.entered.wait(WAIT / 1000)
    view.cancel_button.click()
    with qtbot.waitSignal(view.export_finished, timeout=WAIT) as done:
        processor.release.set()
    assert done.args[0].cancelled
    assert list(out.rglob("*")) == []  # not the video, not a temp file
    assert "cancelled" in view.status_label.text()


def test_export_all_remembers_the_folder_it_was_given(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = write_photo(tmp_path / "p.png")
    settings = Settings(last_export_dir="")
    view = make_view(settings=settings)
    asked: list[str] = []
    first = tmp_path / "exports"
    view._pick_folder = lambda _parent, start: (asked.append(start), first)[1]
    view.add_paths([photo])
    with qtbot.waitSignal(view.export_finished, timeout=WAIT):
        assert view.export_all()
    with qtbot.waitSignal(view.export_finished, timeout=WAIT):
        assert view.export_all()
    assert asked[1] == str(first) and settings.last_export_dir == str(first)
    assert listing(first) == ["p_blur-1.png", "p_blur.png"]


def test_the_model_arrives_one_way_and_nothing_polls(qtbot, make_view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from test_ui_photos import NO_MODEL
    from ui_fakes import FakeSegmenter

    view = make_view(model=NO_MODEL, params=EffectParams(effect="mask", smoothing=0.0))
    assert view.findChildren(QTimer) == []
    photo = write_photo(tmp_path / "p.png")
    view.add_paths([photo])
    wait_preview(qtbot, view, photo, with_effect=False)
    segmenter = FakeSegmenter()
    view.set_segmenter(segmenter)
    shown = wait_preview(qtbot, view, photo)
    assert shown.pixels is not None and shown.pixels.ndim == 2
    # Model-size or full-size mask (the core is moving to full size): on screen it covers its photo exactly.
    assert shown.after is not None and shown.after.size() == shown.before.size()


def test_the_real_save_dialog_is_asked_with_the_proposed_name_and_a_matching_filter(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    from desktop_app.ui import pickers

    calls: list[tuple] = []
    answers = [(str(tmp_path / "x.webp"), "WebP image (*.webp)"), ("", "")]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (calls.append(args), answers.pop(0))[1])
    assert pickers.ask_save_path(None, tmp_path / "p_blur.jpg", False) == tmp_path / "x.webp"
    assert calls[0][2] == str(tmp_path / "p_blur.jpg") and calls[0][4] == "JPEG image (*.jpg *.jpeg)"
    assert pickers.ask_save_path(None, tmp_path / "clip_blur.mp4", True) is None  # cancelled
    assert calls[1][3] == "MP4 video (*.mp4)"
    assert pickers.image_target(tmp_path / "a.JPEG", "png") == (tmp_path, "a", "jpg")
    assert pickers.image_target(tmp_path / "a.tiff", "webp") == (tmp_path, "a.tiff", "webp")
    assert pickers.video_target(tmp_path / "clip") == (tmp_path, "clip")


def test_a_videos_preview_is_processed_as_its_export_will_be(qtbot, make_view, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With quality best, photos preview through the stills path; a video's first frame must not (its export
    processes every frame per frame), or the preview would promise a mask the video does not get."""
    from desktop_app.core import quality as still_quality

    calls: list[tuple[int, ...]] = []

    def spy(segmenter: object, rgb: np.ndarray, models: object = None) -> np.ndarray:
        calls.append(rgb.shape)
        return np.full(rgb.shape[:2], 0.8, np.float32)

    monkeypatch.setattr(still_quality, "segment_still", spy)
    (tmp_path / "in").mkdir()
    video = short_video(tmp_path / "in").path
    photo = write_photo(tmp_path / "in" / "p.png")
    view = make_view(params=EffectParams(effect="blur", smoothing=0.0, quality="best"))
    view.add_paths([video])
    wait_preview(qtbot, view, video)
    assert calls == []
    view.add_paths([photo])
    view.item_list.setCurrentRow(1)
    wait_preview(qtbot, view, photo)
    assert len(calls) == 1
