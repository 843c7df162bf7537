"""The faces stage in the pipeline: off while params.faces is None (nothing loaded), otherwise the reviewed faces or
the detector's (on the input frame, at the chosen threshold) hidden in the background effect's output; the live
model for a camera, the photo model for video files and photos; the tracker per video frame; a failing detector
raises; the validation of the faces fields."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from desktop_app.core.detection import Detection
from desktop_app.core.engine import DEFAULT_THREADS
from desktop_app.core.faces.anonymize import hide_faces
from desktop_app.core.faces.detector import LIVE_MODEL, PHOTO_MODEL
from desktop_app.core.faces.stage import FaceStage
from desktop_app.core.frames import Frame
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import STAGES, Pipeline
from tests.test_pipeline import SHARP, FakeSegmenter, frame

BOX = (0.25, 0.25, 0.5, 0.75)


class FakeDetector:
    def __init__(self, boxes: list[tuple[float, float, float, float]] | None = None, fail: bool = False) -> None:
        self.boxes = [BOX] if boxes is None else boxes
        self.fail = fail
        self.calls: list[tuple[np.ndarray, float | None, int | None]] = []

    def detect(self, rgb: np.ndarray, min_score: float | None = None, max_side: int | None = None) -> list[Detection]:
        self.calls.append((rgb, min_score, max_side))
        if self.fail:
            raise RuntimeError("the face model crashed")
        return [Detection(0.9, b, ()) for b in self.boxes]


class Factory:
    def __init__(self, detector: FakeDetector | None = None) -> None:
        self.detector = detector or FakeDetector()
        self.made: list[tuple[str, str, int]] = []

    def __call__(self, model_id: str, device: str, threads: int) -> FakeDetector:
        self.made.append((model_id, device, threads))
        return self.detector


class CountingTracker:
    def __init__(self) -> None:
        self.updates = 0
        self.resets = 0

    def update(self, faces: list[Detection]) -> list[Detection]:
        self.updates += 1
        return list(faces)

    def reset(self) -> None:
        self.resets += 1

    def steady(self, *args: object) -> bool:  # never lets the live schedule skip: every frame is detected
        return False


def pipeline_with(factory: Factory, params: EffectParams, **kwargs: object) -> Pipeline:
    pipeline = Pipeline(FakeSegmenter(), params, **kwargs)  # type: ignore[arg-type]
    pipeline.faces.make_detector = factory
    return pipeline


def test_off_by_default_nothing_is_loaded_and_the_output_is_the_background_stages() -> None:
    factory = Factory()
    pipeline = pipeline_with(factory, SHARP)
    assert isinstance(pipeline.faces, FaceStage) and pipeline.stages[1] is pipeline.faces
    f = frame()
    result = pipeline.process(f)
    alone = Pipeline(FakeSegmenter(), SHARP).process(f)
    np.testing.assert_array_equal(result.pixels, alone.pixels)
    assert factory.made == [] and list(result.timings) == list(STAGES)


def test_detected_faces_are_hidden_in_the_effects_output_with_the_threshold_and_timed() -> None:
    factory = Factory()
    params = SHARP.with_(faces="box", face_shape="rect", face_padding=0.0, face_threshold=0.7)
    pipeline = pipeline_with(factory, params)
    f = frame()
    result = pipeline.process(f)
    blurred = Pipeline(FakeSegmenter(), SHARP).process(f).pixels
    h, w = f.pixels.shape[:2]
    y0, y1, x0, x1 = int(0.25 * h), int(0.75 * h), int(0.25 * w), int(0.5 * w)
    assert (result.pixels[y0:y1, x0:x1] == 0).all()
    outside = np.ones((h, w), bool)
    outside[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1] = False
    np.testing.assert_array_equal(result.pixels[outside], blurred[outside])  # the background effect's output
    (rgb, min_score, _), = factory.detector.calls
    assert rgb is f.pixels and min_score == 0.7  # the input frame, not the blurred output
    assert factory.made == [(LIVE_MODEL, "cpu", DEFAULT_THREADS)]  # a live pipeline, on the segmenter's CPU
    assert list(result.timings) == [*STAGES, "faces"] and result.timings["faces"] >= 0.0
    assert set(pipeline.faces.last_ms) == {"detect", "hide"}
    pipeline.process(frame(1))
    assert len(factory.made) == 1  # made once, then kept


def test_reviewed_faces_are_hidden_exactly_and_nothing_is_detected() -> None:
    factory = Factory()
    pipeline = pipeline_with(factory, EffectParams(effect="none", faces="box", face_shape="rect", face_padding=0.0))
    f = frame()
    reviewed = Frame(f.pixels, 0.0, 0, "photo", faces=((0.0, 0.0, 0.5, 0.5),))
    out = pipeline.process(reviewed).pixels
    h, w = f.pixels.shape[:2]
    assert (out[: h // 2, : w // 2] == 0).all() and (out[h // 2 + 1 :] == f.pixels[h // 2 + 1 :]).all()
    assert factory.made == []
    none_reviewed = Frame(f.pixels, 0.0, 1, "photo", faces=())  # a person removed every face: nothing hidden
    np.testing.assert_array_equal(pipeline.process(none_reviewed).pixels, f.pixels)
    assert factory.made == []


def test_live_camera_video_file_and_photo_pipelines_take_their_models_and_sizes() -> None:
    big = Frame(np.zeros((1440, 2560, 3), np.uint8), 0.0)
    params = EffectParams(effect="none", faces="blur")
    live = Factory()
    pipeline_with(live, params).process(big)
    assert live.made[0][0] == LIVE_MODEL and live.detector.calls[0][2] is None
    video = Factory()
    pipeline_with(video, params, video=True).process(big)
    assert video.made[0][0] == PHOTO_MODEL and video.detector.calls[0][2] == 1920  # full size up to 1920
    photo = Factory()
    pipeline_with(photo, params, temporal=False).process(frame())
    assert photo.made[0][0] == PHOTO_MODEL and photo.detector.calls[0][2] == max(frame().pixels.shape[:2])
    still = Factory()
    pipeline_with(still, params).process(big, still=True)  # a snapshot / photo through a temporal pipeline
    assert still.made[0][0] == PHOTO_MODEL and len(still.detector.calls) > 1  # tiled: 2560 px is large


def test_video_frames_go_through_the_tracker_once_each_and_it_resets_with_the_pipeline() -> None:
    for kwargs, per_frame in (({}, 1), ({"video": True}, 1), ({"temporal": False}, 0)):
        pipeline = pipeline_with(Factory(), EffectParams(effect="none", faces="pixelate"), **kwargs)
        tracker = CountingTracker()
        pipeline.faces.tracker = tracker  # type: ignore[assignment]
        for i in range(3):
            pipeline.process(frame(i, index=i))
        assert tracker.updates == 3 * per_frame, kwargs
        resets = tracker.resets
        pipeline.reset()
        pipeline.process(frame())
        assert tracker.resets == resets + 1


def test_a_failing_detector_raises_so_no_frame_goes_out_with_a_face_exposed() -> None:
    pipeline = pipeline_with(Factory(FakeDetector(fail=True)), EffectParams(effect="none", faces="blur"))
    with pytest.raises(RuntimeError, match="crashed"):
        pipeline.process(frame())

    def broken(model_id: str, device: str, threads: int) -> FakeDetector:
        raise OSError("model file missing")

    pipeline = Pipeline(FakeSegmenter(), EffectParams(effect="none", faces="blur"))
    pipeline.faces.make_detector = broken
    with pytest.raises(OSError, match="missing"):
        pipeline.process(frame())


def test_the_detector_runs_where_the_segmenter_runs() -> None:
    seg = FakeSegmenter()
    seg.is_gpu = True  # type: ignore[attr-defined]
    seg.engine = SimpleNamespace(threads=3)  # type: ignore[attr-defined]
    factory = Factory()
    pipeline = Pipeline(seg, EffectParams(effect="none", faces="blur"))
    pipeline.faces.make_detector = factory
    pipeline.process(frame())
    assert factory.made == [(LIVE_MODEL, "gpu", 3)]


def test_rgba_cut_outs_keep_their_alpha_under_the_faces() -> None:
    factory = Factory()
    params = SHARP.with_(effect="remove", faces="box")
    result = pipeline_with(factory, params).process(frame())
    plain = Pipeline(FakeSegmenter(), SHARP.with_(effect="remove")).process(frame())
    assert result.pixels.shape[2] == 4
    np.testing.assert_array_equal(result.pixels[..., 3], plain.pixels[..., 3])
    assert (result.pixels[..., :3] != plain.pixels[..., :3]).any()


def test_validation_refuses_faces_on_the_mask_and_out_of_range_values() -> None:
    EffectParams(effect="none", faces="blur").validate()
    EffectParams(effect="remove", faces="pixelate", face_shape="rect", face_threshold=0.0, face_padding=1.0).validate()
    with pytest.raises(ValueError, match="mask effect outputs the person mask"):
        EffectParams(effect="mask", faces="blur").validate()
    EffectParams(effect="mask").validate()  # the mask alone is fine
    for change, message in (({"faces": "smudge"}, "unknown face style"), ({"face_shape": "star"}, "unknown face shape"),
                            ({"face_threshold": 1.5}, "face threshold must be between 0 and 1"),
                            ({"face_padding": -0.1}, "face padding must be between 0 and 1"),
                            ({"face_threshold": float("nan")}, "face threshold")):
        with pytest.raises(ValueError, match=message):
            EffectParams(faces="blur").with_(**change).validate()


def test_the_clis_and_the_windows_video_pipelines_say_they_are_video_files() -> None:
    from desktop_app.ui.exports import pipeline_for_batch

    exported = pipeline_for_batch(FakeSegmenter(), EffectParams(faces="blur"))
    assert isinstance(exported, Pipeline) and exported.video and exported.full_edges
    assert exported.faces.model_for(still=False) == PHOTO_MODEL
    assert Pipeline(FakeSegmenter(), EffectParams()).faces.model_for(still=False) == LIVE_MODEL  # a live camera


def test_turning_faces_off_forgets_the_tracks() -> None:
    pipeline = pipeline_with(Factory(), EffectParams(effect="none", faces="blur"))
    tracker = CountingTracker()
    pipeline.faces.tracker = tracker  # type: ignore[assignment]
    pipeline.process(frame())
    resets = tracker.resets
    pipeline.set_params(EffectParams(effect="none"))
    pipeline.process(frame())
    pipeline.process(frame())
    assert tracker.resets == resets + 1  # once, when it went off


def test_find_gives_what_the_stage_would_hide_for_a_review_step() -> None:
    factory = Factory(FakeDetector([(0.1, 0.1, 0.3, 0.3), (0.6, 0.6, 0.8, 0.9)]))
    pipeline = pipeline_with(factory, EffectParams(effect="none", faces="blur"), temporal=False)
    f = frame()
    found = pipeline.faces.find(f.pixels, 0.4)
    assert sorted(d.box for d in found) == [(0.1, 0.1, 0.3, 0.3), (0.6, 0.6, 0.8, 0.9)]
    assert factory.made[0][0] == PHOTO_MODEL and factory.detector.calls[0][1] == 0.4
    reviewed = Frame(f.pixels, 0.0, 0, "photo", faces=tuple(d.box for d in found[:1]))  # the person kept one
    out = pipeline.process(reviewed).pixels  # hides exactly that one, padded like a detected one
    np.testing.assert_array_equal(out, hide_faces(f.pixels, [found[0].box], "blur", "ellipse", 0.2))
