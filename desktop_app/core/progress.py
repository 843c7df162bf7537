"""How a video's progress is told: the time left, as a person would say it (CLI bar and GUI alike)."""

from __future__ import annotations


def time_left(seconds: float) -> str:
    """"about 12 s left", "about 3 min left", "about 1.5 h left"."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"
