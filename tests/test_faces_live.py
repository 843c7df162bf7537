"""The faces stage in a live session: while the face detector fails, the virtual camera (any sink) gets the
"not working" frame, never the picture with the face exposed; once it works, the frames sent have the face hidden."""

from __future__ import annotations

import numpy as np
import pytest
from sink_fakes import FakeSink
from ui_fakes import FakeSegmenter, demo_source

from desktop_app.core.detection import Detection
from desktop_app.core.faces import stage
from desktop_app.core.live import FAILED_TEXT, LiveSession
from desktop_app.core.params import EffectParams
from desktop_app.core.sources import GeneratedSource


class Switchable:
    """A face detector that fails until `working` is set, then finds one face: the left half of the frame."""

    working = False

    def detect(self, rgb: np.ndarray, min_score: float | None = None, max_side: int | None = None) -> list[Detection]:
        if not self.working:
            raise RuntimeError("the face model crashed")
        return [Detection(0.9, (0.0, 0.0, 0.5, 1.0), ())]


def test_a_failing_detector_sends_the_not_working_frame_and_a_working_one_hides_the_face(
        monkeypatch: pytest.MonkeyPatch) -> None:
    detector = Switchable()
    monkeypatch.setattr(stage, "default_detector", lambda *_a: detector)
    picture = np.full((40, 60, 3), 200, np.uint8)
    sink = FakeSink()
    session = LiveSession(lambda: GeneratedSource(lambda _n: picture, name="face", fps=60.0),
                          EffectParams(effect="none", faces="box", face_shape="rect", face_padding=0.0),
                          demo_factory=demo_source, retry_interval=0.05, stats_interval=0.1)
    session.set_segmenter(FakeSegmenter())
    session.add_sink(sink)
    session.start()
    try:
        sink.wait(lambda: sink.sent >= 3)
        assert all(f.message == FAILED_TEXT for f in list(sink.frames))  # never the picture itself
        detector.working = True
        sink.wait(lambda: sink.sent > 0 and sink.last().message is None)
        hidden = sink.last().rgb
        assert (hidden[:, :30] == 0).all() and (hidden[:, 31:] == 200).all()  # the face black, the rest kept
    finally:
        session.stop()
