"""The pipeline as a list of stages: a fake stage plugged in after the background stage runs on its output, in
order, with its own timing, and resets with the pipeline (how the faces stage will be added)."""

from __future__ import annotations

import numpy as np

from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import STAGES, BackgroundStage, Pipeline, StageState
from tests.test_pipeline import SHARP, FakeSegmenter, frame


class Boxes:
    """A fake later stage: paints a black square into the output so far and records what it saw."""

    name = "boxes"

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.seen: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        self.resets = 0

    def run(self, state: StageState) -> None:
        self.log.append(self.name)
        self.seen.append((state.frame.pixels, state.pixels, state.mask))
        out = state.pixels.copy()
        out[:10, :10] = 0
        state.pixels = out
        state.timings[self.name] = 1.5

    def reset(self) -> None:
        self.resets += 1


class Tag(Boxes):
    name = "tag"


def test_a_stage_after_the_background_runs_on_its_output_in_order() -> None:
    log: list[str] = []
    boxes, tag = Boxes(log), Tag(log)
    f = frame()
    pipeline = Pipeline(FakeSegmenter(), SHARP, stages=[boxes, tag])
    assert isinstance(pipeline.stages[0], BackgroundStage) and pipeline.stages[2:] == [boxes, tag]
    assert pipeline.stages[1] is pipeline.faces and pipeline.faces.name == "faces"  # the faces stage, by default
    alone = Pipeline(FakeSegmenter(), SHARP).process(f)
    result = pipeline.process(f)
    assert log == ["boxes", "tag"]
    source, before, mask = boxes.seen[0]
    assert source is f.pixels
    np.testing.assert_array_equal(before, alone.pixels)  # the blurred frame, not the camera's
    assert mask is not None and result.mask is not None
    np.testing.assert_array_equal(mask, alone.mask)
    assert tag.seen[0][1][:10, :10].max() == 0  # tag saw the boxes' output
    assert (result.pixels[:10, :10] == 0).all()
    np.testing.assert_array_equal(result.pixels[10:], alone.pixels[10:])
    assert list(result.timings) == [*STAGES, "boxes", "tag"] and result.timings["tag"] == 1.5


def test_later_stages_run_with_effect_none_and_reset_with_the_pipeline() -> None:
    boxes = Boxes([])
    seg = FakeSegmenter()
    pipeline = Pipeline(seg, EffectParams(effect="none"), stages=[boxes])
    f = frame()
    result = pipeline.process(f)
    assert seg.calls == 0 and boxes.seen[0][1] is f.pixels and boxes.seen[0][2] is None
    assert (result.pixels[:10, :10] == 0).all()
    resets = boxes.resets  # the first frame is a new source
    pipeline.process(frame())
    assert boxes.resets == resets
    pipeline.reset()
    pipeline.process(frame())
    pipeline.process(frame(source="other"))
    assert boxes.resets == resets + 2
