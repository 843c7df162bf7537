"""Best-quality person masks for still photos (issue #9 phase 2). Qt-free; not wired into the app yet."""

from desktop_app.core.quality.still import DEFAULT, StillOptions, segment_still

__all__ = ["DEFAULT", "StillOptions", "segment_still"]
