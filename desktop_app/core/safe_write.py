"""The one place outputs are published: complete or not at all, never over an existing file.

Every output is first written to a temp file `~locallens-unfinished-<hex>.<ext>` in the destination folder (a
name users recognise on every OS; dot-files are not hidden on Windows), flushed to disk, then given
its final name with `os.link(tmp, final)`, which fails if `final` exists: the next free name (`stem.ext`,
`stem-1.ext`, `stem-2.ext`, ...) is taken race-safely even with other writers in the same folder. Where the
file system has no hard links, the name is reserved with `O_CREAT | O_EXCL` and the temp file is renamed
over that (still our own) empty reservation. The temp file is removed on every path out, error or not;
one a killed process left behind is removed by the next batch once it is old (`remove_stale_temps`).
Names longer than the file system's 255-byte limit are shortened by UTF-8 bytes (`fit_stem`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

TEMP_PREFIX = "~locallens-unfinished-"
LEGACY_TEMP_PREFIX = ".locallens-tmp-"  # what earlier versions wrote; still cleaned up
MAX_SUFFIX = 9999
MAX_NAME_BYTES = 255  # a file name's limit on ext4, APFS, NTFS (in UTF-16 units there), ...
STALE_TEMP_SECONDS = 600.0  # a temp file untouched this long is a leftover, not another LocalLens writing
_TEMP_NAME = re.compile(
    f"(?:{re.escape(TEMP_PREFIX)}|{re.escape(LEGACY_TEMP_PREFIX)})" r"[0-9a-f]{12}(?:\.[A-Za-z0-9]{1,8})?")

# errnos meaning "this file system cannot hard-link" (FAT/exFAT, some network shares), not "name taken".
_NO_LINK_ERRNOS = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EACCES}
for _name in ("ENOTSUP", "EOPNOTSUPP"):
    if hasattr(errno, _name):
        _NO_LINK_ERRNOS.add(getattr(errno, _name))


class FileError(Exception):
    """A file problem a user can act on: `path` and a one-line `reason`; str() is "<path>: <reason>"."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.label()}: {reason}")

    def label(self) -> str:
        return str(self.path)


class InputError(FileError):
    """An input that cannot be read; str() names the file only ("<file name>: <reason>")."""

    def label(self) -> str:
        return self.path.name


def check_input_file(path: Path, error: type[InputError], kind: str) -> os.stat_result:
    """Stat an input before decoding it: missing, unreadable, a folder or empty each raise `error` with one
    clear reason (`kind` is "image" or "video", for "not an image (the file is empty)")."""
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise error(path, "file not found") from exc
    except PermissionError as exc:
        raise error(path, "permission denied") from exc
    except OSError as exc:
        raise error(path, f"cannot read the file ({exc.strerror or exc})") from exc
    if path.is_dir():
        raise error(path, "is a folder, not a file")
    if not path.is_file():
        raise error(path, "not a regular file")
    if st.st_size == 0:
        raise error(path, f"not {'an' if kind[0] in 'aeiou' else 'a'} {kind} (the file is empty)")
    return st


class OutputError(FileError):
    """An output could not be written; the message is one line a user can act on."""


def same_path(a: Path | str, b: Path | str) -> bool:
    """True if `a` and `b` name the same file (after resolving links, or the same inode if both exist)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())


def check_not_input(output: Path | str, inputs: Iterable[Path | str]) -> None:
    """Raise OutputError if `output` is one of `inputs`: an original must never be replaced."""
    for source in inputs:
        if same_path(output, source):
            raise OutputError(output, "refusing to write over an input file")


def is_temp_name(name: str) -> bool:
    """True for the name of one of our temp files (current or earlier naming) or temp folders (`core.sequence`'s
    `~locallens-unfinished-<hex>`, no extension); folder scans skip these."""
    return _TEMP_NAME.fullmatch(name) is not None


def remove_stale_temps(folder: Path | str, max_age: float = STALE_TEMP_SECONDS, now: float | None = None) -> int:
    """Remove our own temp files (and temp folders) directly in `folder` not modified for `max_age` seconds.

    Only names matching our pattern are touched, and only old ones, so a LocalLens writing right now in the
    same folder is never disturbed. Not recursive (an output root may be a big folder): call it for each
    folder about to be written into. Returns how many were removed; errors are ignored (best effort).
    """
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime <= max_age:
                continue
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed += 1
            elif entry.is_dir(follow_symlinks=False):  # an unfinished PNG sequence (never a link's target)
                shutil.rmtree(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def fit_stem(stem: str, ext: str, keep: str = "", max_bytes: int = MAX_NAME_BYTES) -> str:
    """`stem + keep`, `stem` shortened by whole characters so that `<stem><keep>-9999.ext` fits in
    `max_bytes` UTF-8 bytes (`keep`, e.g. "_blur", always survives)."""
    room = max_bytes - len(f"{keep}-{MAX_SUFFIX}.{ext.lstrip('.')}".encode("utf-8", "surrogateescape"))
    data = stem.encode("utf-8", "surrogateescape")
    if len(data) <= room:
        return stem + keep
    short = data[:max(room, 0)].decode("utf-8", "ignore").rstrip(" .")
    return (short or "output") + keep


def candidate_names(stem: str, ext: str) -> Iterator[str]:
    """`stem.ext`, `stem-1.ext`, `stem-2.ext`, ... (`ext` without the dot)."""
    yield f"{stem}.{ext}"
    for n in range(1, MAX_SUFFIX + 1):
        yield f"{stem}-{n}.{ext}"


def ensure_dir(dest_dir: Path | str) -> Path:
    """Create `dest_dir` if needed; OutputError with a clear reason if it cannot be a folder."""
    dest = Path(dest_dir)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OutputError(dest, "the output folder is a file, not a folder") from exc
    except NotADirectoryError as exc:
        raise OutputError(dest, "cannot create the output folder: part of its path is a file") from exc
    except PermissionError as exc:
        raise OutputError(dest, "cannot create the output folder: permission denied") from exc
    except OSError as exc:
        raise OutputError(dest, f"cannot create the output folder ({exc.strerror or exc})") from exc
    if not dest.is_dir():
        raise OutputError(dest, "the output folder is a file, not a folder")
    return dest


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (POSIX; elsewhere a no-op), best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish_by_reservation(tmp: Path, final: Path) -> bool:
    """No hard links: reserve `final` exclusively, then rename the temp file over our reservation."""
    try:
        fd = os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    try:
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            final.unlink()
        raise
    return True


def publish(tmp: Path, dest_dir: Path, stem: str, ext: str, protect: Iterable[Path | str] = ()) -> Path:
    """Give the finished temp file the first free name; never replaces anything. Returns the final path."""
    protected = list(protect)
    tmp = Path(tmp)
    _fsync_file(tmp)
    use_links = True
    for name in candidate_names(stem, ext):
        final = Path(dest_dir) / name
        if any(same_path(final, p) for p in protected):
            continue
        if use_links:
            try:
                os.link(tmp, final)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in _NO_LINK_ERRNOS:
                    raise
                use_links = False
            else:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                fsync_dir(Path(dest_dir))
                return final
        if _publish_by_reservation(tmp, final):
            fsync_dir(Path(dest_dir))
            return final
    raise OutputError(Path(dest_dir) / f"{stem}.{ext}", f"no free file name (tried {MAX_SUFFIX} suffixes)")


@dataclass
class PendingOutput:
    """A temp file being written; `final` is set once it has been published."""

    tmp: Path
    final: Path | None = None


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the folder is read-only"
    return exc.strerror or str(exc)


@contextlib.contextmanager
def atomic_output(
    dest_dir: Path | str, stem: str, ext: str, protect: Iterable[Path | str] = ()
) -> Iterator[PendingOutput]:
    """Yield a temp file (`.tmp` path ending in `.ext`) to write; publish it under a free name on success.

    On any exception inside the block, or while publishing, the temp file is removed and nothing appears
    under the final name. OS errors are re-raised as OutputError with a one-line reason.
    """
    dest = ensure_dir(dest_dir)
    ext = ext.lstrip(".")
    stem = fit_stem(stem, ext)
    tmp = dest / f"{TEMP_PREFIX}{secrets.token_hex(6)}.{ext}"
    try:
        fd = os.open(
            tmp,
            os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0),
            0o644,
        )
    except OSError as exc:
        raise OutputError(dest, f"cannot write to the output folder: {_os_reason(exc)}") from exc
    os.close(fd)
    pending = PendingOutput(tmp=tmp)
    try:
        yield pending
        pending.final = publish(pending.tmp, dest, stem, ext, protect)
    except OSError as exc:
        raise OutputError(dest / f"{stem}.{ext}", f"could not write the file: {_os_reason(exc)}") from exc
    finally:
        with contextlib.suppress(OSError):
            pending.tmp.unlink()


def atomic_write_bytes(
    dest_dir: Path | str, stem: str, ext: str, data: bytes, protect: Iterable[Path | str] = ()
) -> Path:
    """Write `data` to `dest_dir/stem.ext` (or the next free `stem-N.ext`) atomically; return the path."""
    with atomic_output(dest_dir, stem, ext, protect) as pending, open(pending.tmp, "wb") as fh:
        fh.write(data)
    assert pending.final is not None
    return pending.final
