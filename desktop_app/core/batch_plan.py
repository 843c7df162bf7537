"""What a batch will process: folders walked, outputs' names decided, and the record of what LocalLens wrote
(so a later scan never reads its own outputs back in). Qt-free; `core.batch` re-exports all of it."""

from __future__ import annotations

import contextlib
import json
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from desktop_app.core.imageio import SUPPORTED_IMAGE_EXTENSIONS
from desktop_app.core.safe_write import is_temp_name
from desktop_app.core.videoio import SUPPORTED_VIDEO_EXTENSIONS

DEFAULT_OUTPUT_DIR = "locallens-output"  # the CLI's default --out; never scanned as input
# In each folder that receives outputs: the names LocalLens wrote there, one JSON string per line; scans skip them.
OUTPUT_MARKER = ".locallens-output"
_MARKER_HEADER = "# Files LocalLens wrote into this folder (skipped when the folder is scanned as input).\n"


@dataclass(frozen=True, slots=True)
class Job:
    source: Path
    out_dir: Path  # where this input's output goes (sub-folders of a dropped folder are mirrored)
    name: str = ""  # output base name: the source's stem, or `stem_ext` when stems collide in one folder

    @property
    def base(self) -> str:
        return self.name or self.source.stem


@dataclass(slots=True)
class Outcome:
    source: Path
    output: Path | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    cancelled: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def succeeded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok]


def printable(text: str) -> str:
    """`text` with control characters escaped (`\\n`, `\\x1b`, ...): a file name never splits a line."""
    return "".join(
        c.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") else c
        for c in text
    )


def _wanted(path: Path) -> bool:
    suffix = path.suffix.lower()
    return not path.name.startswith(".") and not is_temp_name(path.name) and (
        suffix in SUPPORTED_IMAGE_EXTENSIONS or suffix in SUPPORTED_VIDEO_EXTENSIONS
    )


def recorded_outputs(folder: Path) -> set[str]:
    """Names of the outputs LocalLens recorded in `folder` (an unreadable or foreign record counts as none)."""
    try:
        lines = (folder / OUTPUT_MARKER).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    names: set[str] = set()
    for line in lines:
        with contextlib.suppress(ValueError):
            name = json.loads(line) if line.startswith('"') else None
            if isinstance(name, str):
                names.add(name)
    return names


def scan_folder(folder: Path) -> list[Path]:
    """Image and video files under `folder` (symlinked folders not followed), leaving out what LocalLens wrote:
    recorded outputs, unfinished temp files and the CLI's default output folder."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        ours = recorded_outputs(here) if OUTPUT_MARKER in files else set()
        # PNG sequences are folders: recorded ones and unfinished temp ones are not descended into
        dirs[:] = [d for d in dirs if d != DEFAULT_OUTPUT_DIR and d not in ours and not is_temp_name(d)]
        found += [here / f for f in files if f not in ours and _wanted(here / f) and (here / f).is_file()]
    return sorted(found)


def _name_collisions(jobs: list[Job]) -> list[Job]:
    """Inputs with one stem and different extensions going to one folder get `stem_ext` as their base name."""
    suffixes: dict[tuple[Path, str], set[str]] = {}
    for job in jobs:
        suffixes.setdefault((job.out_dir, job.source.stem.casefold()), set()).add(job.source.suffix.lower())
    return [
        replace(job, name=f"{job.source.stem}_{job.source.suffix.lstrip('.').lower()}")
        if len(suffixes[(job.out_dir, job.source.stem.casefold())]) > 1 else job
        for job in jobs
    ]


def plan(paths: Iterable[Path], out_dir: Path) -> tuple[list[Job], list[Outcome]]:
    """Expand folders recursively; return the jobs and the inputs that failed before processing.

    A file named explicitly is always tried (its content decides what it is); inside folders only image
    and video extensions are taken, and neither the output folder nor any earlier LocalLens output folder
    (marked, or named like the default) is read back in. Same stems with different extensions in one
    output folder get told-apart names (`a.jpg` -> `a_jpg_blur.png`, `a.png` -> `a_png_blur.png`).
    """
    out_resolved = out_dir.resolve()
    jobs: list[Job] = []
    failures: list[Outcome] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            failures.append(Outcome(path, error=printable(f"{path}: file not found")))
        elif path.is_dir():
            for child in scan_folder(path):
                resolved = child.resolve()
                if out_resolved in resolved.parents or resolved in seen:
                    continue
                seen.add(resolved)
                jobs.append(Job(child, out_dir / child.parent.relative_to(path)))
        elif path.resolve() not in seen:
            seen.add(path.resolve())
            jobs.append(Job(path, out_dir))
    return _name_collisions(jobs), failures


def record_output(path: Path) -> None:
    """Add `path`'s name to its folder's list of LocalLens outputs (hidden on Windows too); never raises."""
    marker = path.parent / OUTPUT_MARKER
    new = not marker.exists()
    try:
        with open(marker, "a", encoding="utf-8") as fh:
            fh.write((_MARKER_HEADER if new else "") + json.dumps(path.name) + "\n")
    except OSError:
        return  # a folder we may write outputs into but not this list: scans still skip the default name
    if new and os.name == "nt":
        try:
            import ctypes

            ctypes.windll.kernel32.SetFileAttributesW(str(marker), 0x2)  # type: ignore[attr-defined]
        except (OSError, AttributeError):
            pass
