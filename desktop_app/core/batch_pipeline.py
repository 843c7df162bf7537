"""The processors a batch runs on: the one the CLI's `process` and the GUI's exports build, and the spares for
its extra workers (core.batch_workers). Qt-free."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop_app.core.params import EffectParams
from desktop_app.core.pipeline import Pipeline, SegmenterLike
from desktop_app.core.quality.people_models import PeopleModels

Make = Callable[[SegmenterLike, EffectParams], Any]  # -> a batch Processor (tests pass fakes)


def batch_pipeline(segmenter: SegmenterLike, params: EffectParams) -> Pipeline:
    """Photos reset per input (batch does it); a video's frames keep their smoothing, with the photo face
    detector and edges at full resolution (video files are not live: docs/quality.md)."""
    pipeline = Pipeline(segmenter, params, temporal=True, video=True)
    pipeline.full_edges = True
    return pipeline


def spares(segmenter: SegmenterLike, params: EffectParams, make: Make = batch_pipeline) -> Callable[[], Any]:
    """A factory of more processors like `make(segmenter, params)`, each on sessions of its own
    (`segmenter.twin()`) and with its own detector set, so workers never wait on each other's locks."""
    def spare() -> Any:
        twin = getattr(segmenter, "twin", None)
        processor = make(twin() if twin is not None else segmenter, params)
        if isinstance(processor, Pipeline):
            processor.people = PeopleModels()
        return processor

    return spare
