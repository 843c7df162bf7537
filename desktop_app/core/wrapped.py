"""A segmenter in front of another (the lookahead, the crop): `spec` and any other attribute are the wrapped one's."""

from __future__ import annotations

from typing import Any


class WrappedSegmenter:
    """Base for a segmenter that wraps `self.segmenter`: `spec`, `provider`, `fallback_reason`, ... pass through."""

    segmenter: Any

    @property
    def spec(self) -> Any:
        return self.segmenter.spec

    def __getattr__(self, name: str) -> Any:
        if name == "segmenter":  # not set yet (while unpickling or in __init__): no recursion
            raise AttributeError(name)
        return getattr(self.segmenter, name)
