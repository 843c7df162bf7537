"""Best-quality person masks for still photos: used when `EffectParams.quality` is "best" (the default)."""

from desktop_app.core.quality.still import DEFAULT, StillOptions, segment_still

__all__ = ["DEFAULT", "StillOptions", "segment_still"]
