"""Where the bundled models and assets live: in the source tree, or inside a frozen (PyInstaller) app."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def app_root() -> Path:
    """The folder holding `models/` and `assets/`.

    Frozen builds unpack data next to the executable (`sys._MEIPASS`); a source checkout or an
    editable install finds them beside the `desktop_app` package. `LOCALLENS_ROOT` overrides both.
    """
    override = os.environ.get("LOCALLENS_ROOT")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    return app_root() / "models"


def assets_dir() -> Path:
    return app_root() / "assets"


def sample_image() -> Path:
    return assets_dir() / "samples" / "astronaut.jpg"


def sample_video() -> Path:
    return assets_dir() / "samples" / "walk.mp4"
