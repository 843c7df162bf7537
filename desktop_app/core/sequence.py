"""Lossless PNG sequences: a video's processed frames as a folder `<stem>/000001.png, 000002.png, ...`.

Compositing tools read these, and the quality bench does too (no codec noise in a figure). The folder appears
complete or not at all, like every other output (`safe_write`): frames are written into a temp folder
`~locallens-unfinished-<hex>` inside the destination, then it is renamed to the first free name `<stem>`,
`<stem>-1`, ... (never replacing anything: not a file, not an empty folder). `abort()` and every error remove
the temp folder; one a killed process left behind is removed by `safe_write.remove_stale_temps` once old, and
folder scans skip it by name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from desktop_app.core.imageio import PNG_COMPRESS_LEVEL, _to_pil
from desktop_app.core.safe_write import (
    MAX_SUFFIX,
    TEMP_PREFIX,
    OutputError,
    _os_reason,
    check_not_input,
    ensure_dir,
    fit_stem,
    fsync_dir,
)

FRAME_DIGITS = 6  # 000001.png: names sort in frame order (a seventh digit appears past 999999 frames)


class SequenceWriteError(OutputError):
    """A PNG sequence could not be written; one line a user can act on."""


def frame_name(index: int) -> str:
    """The file name of frame `index` (1-based)."""
    return f"{index:0{FRAME_DIGITS}d}.png"


def folder_names(stem: str) -> Iterable[str]:
    """`stem`, `stem-1`, `stem-2`, ... (the same suffixes as files get)."""
    yield stem
    for n in range(1, MAX_SUFFIX + 1):
        yield f"{stem}-{n}"


def _to_image(pixels: np.ndarray) -> Image.Image:
    """(H, W) uint8 -> 8-bit gray, (H, W, 3) -> RGB, (H, W, 4) -> RGBA (imageio's conversion, as for a PNG)."""
    return _to_pil(pixels, "png")


class SequenceWriter:
    """`write(pixels)` per frame, then `close() -> Path` of the published folder, or `abort()`.

    The same shape as `videoio.VideoWriter`, so the batch drives either. Every frame is written at the size
    given (the batch passes full-size frames); sizes may differ between frames, which PNG does not mind.
    """

    def __init__(self, dest_dir: Path | str, stem: str, inputs: Iterable[Path | str] = ()) -> None:
        try:
            self.dest = ensure_dir(dest_dir)
        except OutputError as exc:
            raise SequenceWriteError(exc.path, exc.reason) from exc
        self.stem = fit_stem(stem, "png")
        self.inputs = list(inputs)
        self.frames_written = 0
        self.final: Path | None = None
        self._done = False
        self.tmp = self.dest / f"{TEMP_PREFIX}{secrets.token_hex(6)}"
        try:
            os.mkdir(self.tmp)
        except OSError as exc:
            raise SequenceWriteError(self.dest, f"cannot write to the output folder: {_os_reason(exc)}") from exc

    def write(self, pixels: np.ndarray) -> None:
        if self._done:
            raise RuntimeError("the sequence is already closed")
        path = self.tmp / frame_name(self.frames_written + 1)
        try:
            image = _to_image(pixels)
            with open(path, "xb") as fh:
                image.save(fh, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            self.abort()
            raise SequenceWriteError(self.dest / self.stem, f"could not write the frames: {_os_reason(exc)}") from exc
        except BaseException:
            self.abort()
            raise
        self.frames_written += 1

    def close(self) -> Path:
        """Publish the folder under the first free name and return it; the temp folder is gone either way."""
        if self._done:
            raise RuntimeError("the sequence is already closed")
        try:
            fsync_dir(self.tmp)
            self.final = self._publish()
            fsync_dir(self.dest)
            return self.final
        except OSError as exc:
            raise SequenceWriteError(self.dest / self.stem, f"could not write the frames: {_os_reason(exc)}") from exc
        finally:
            self.abort()  # removes the temp folder if publishing failed; nothing once it was renamed

    def _publish(self) -> Path:
        for name in folder_names(self.stem):
            final = self.dest / name
            with contextlib.suppress(OutputError):
                check_not_input(final, self.inputs)
                if _rename_no_replace(self.tmp, final):
                    return final
        raise SequenceWriteError(self.dest / self.stem, f"no free folder name (tried {MAX_SUFFIX} suffixes)")

    def abort(self) -> None:
        """Drop every frame written so far: no folder appears (idempotent)."""
        self._done = True
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> SequenceWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None and not self._done:
            self.close()
        else:
            self.abort()


def _rename_no_replace(tmp: Path, final: Path) -> bool:
    """Rename folder `tmp` to `final` unless that name is taken by anything; False if it is.

    Windows' rename never replaces. POSIX rename would replace an empty folder, so the name is first reserved
    with mkdir (atomic, fails if the name exists) and the temp folder renamed over that empty reservation
    (if someone fills it in between, the rename fails with ENOTEMPTY: still nothing of theirs is replaced).
    """
    if os.name == "nt":
        try:
            os.rename(tmp, final)
        except FileExistsError:
            return False
        return True
    try:
        os.mkdir(final)
    except FileExistsError:
        return False
    try:
        os.rename(tmp, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.rmdir(final)  # our empty reservation only: rmdir never removes a folder with anything in it
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True
