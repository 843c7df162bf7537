"""Videos through the batch with the one-frame lookahead (core.lookahead): every frame once, in order, each mask
centred on its own frame; photos in the same batch and the pipeline afterwards are untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from corpus import file_hashes, short_video
from PIL import Image
from test_batch import photos

from desktop_app.core.batch import Batch, plan
from desktop_app.core.lookahead import VIDEO_LOOKAHEAD_RADIUS, Lookahead
from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline
from desktop_app.core.sequence import frame_name
from desktop_app.core.videoio import VideoReader

SIZE = (64, 48)


class GreenIsPerson:
    """The person probability is the frame's mean green level (the corpus video cycles red, green, blue), constant
    over a 16x16 grid; logs every frame it ran on."""

    spec = None

    def __init__(self) -> None:
        self.ran: list[np.ndarray] = []

    @staticmethod
    def probability(rgb: np.ndarray) -> float:
        return float(rgb[..., 1].mean()) / 255.0

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
        self.ran.append(rgb.copy())
        return np.full((16, 16), self.probability(rgb), np.float32), {}


@pytest.mark.parametrize("overlap", [True, False])
@pytest.mark.parametrize("count", [1, 2, 7])
def test_every_frame_once_in_order_each_mask_centred_on_its_frame(tmp_path: Path, count: int, overlap: bool) -> None:
    (tmp_path / "in").mkdir()
    source = short_video(tmp_path / "in", frames=count, size=SIZE).path
    before = file_hashes([source])
    with VideoReader(source) as reader:
        decoded = list(reader)
    assert len(decoded) == count
    segmenter = GreenIsPerson()
    params = EffectParams("mask", smoothing=0.0)  # the output is the (combined) probability itself
    pipeline = Pipeline(segmenter, params, temporal=True)
    jobs, _ = plan([source], tmp_path / "out")
    report = Batch(pipeline, params, video_format="png", overlap=overlap).run(jobs)
    outcome = report.outcomes[0]
    assert outcome.ok and outcome.frames == count
    # the model ran once per frame, in decode order: nothing lost or run twice at either end
    assert len(segmenter.ran) == count
    for ran, rgb in zip(segmenter.ran, decoded, strict=True):
        np.testing.assert_array_equal(ran, rgb)
    assert outcome.output is not None
    names = sorted(p.name for p in outcome.output.iterdir())
    assert names == [frame_name(i) for i in range(1, count + 1)]
    p = [GreenIsPerson.probability(rgb) for rgb in decoded]
    reach = [min(VIDEO_LOOKAHEAD_RADIUS, t, count - 1 - t) for t in range(count)]  # the window, centred on t
    expected = [float(np.median(p[t - r:t + r + 1])) for t, r in enumerate(reach)]
    for t, name in enumerate(names):
        pixels = np.asarray(Image.open(outcome.output / name))
        assert abs(float(pixels.mean()) - 255 * expected[t]) <= 1.0, (t, pixels.mean(), expected)
    if count == 7:  # red, green, blue, ...: each green frame is a one-frame blip between red and blue ones
        assert max(expected[1:-1]) < 0.3 < max(p)
    assert pipeline.segmenter is segmenter  # put back after the video
    assert file_hashes(before) == before


def test_photos_after_a_video_get_no_lookahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    video = short_video(tmp_path / "in", frames=3, size=SIZE).path
    photo = photos(tmp_path / "in", 1)[0]
    segmenter = GreenIsPerson()
    params = EffectParams("mask", smoothing=0.0, quality="fast")
    pipeline = Pipeline(segmenter, params, temporal=True)
    seen: list[object] = []
    original = Pipeline.process

    def spy(self: Pipeline, frame, still=None):  # type: ignore[no-untyped-def]
        seen.append(type(self.segmenter))
        return original(self, frame, still)

    jobs, _ = plan([video, photo], tmp_path / "out")
    monkeypatch.setattr(Pipeline, "process", spy)
    report = Batch(pipeline, params, video_format="png").run(jobs)
    assert all(o.ok for o in report.outcomes)
    by_source = {o.source: o for o in report.outcomes}
    assert by_source[video].frames == 3
    assert seen.count(Lookahead) == 3 and seen.count(GreenIsPerson) == 1
