"""The single publish rule: complete or absent, never over an existing file, temp always removed."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from desktop_app.core import safe_write
from desktop_app.core.safe_write import (
    OutputError,
    atomic_output,
    atomic_write_bytes,
    candidate_names,
    check_not_input,
    same_path,
)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_candidates_count_up_from_the_plain_name() -> None:
    gen = candidate_names("a b", "mp4")
    assert [next(gen) for _ in range(3)] == ["a b.mp4", "a b-1.mp4", "a b-2.mp4"]


def test_writes_take_the_next_free_name_and_leave_existing_bytes(tmp_path: Path) -> None:
    (tmp_path / "x-1.bin").write_bytes(b"theirs")
    paths = [atomic_write_bytes(tmp_path, "x", "bin", bytes([i])) for i in range(3)]
    assert [p.name for p in paths] == ["x.bin", "x-2.bin", "x-3.bin"]
    assert [p.read_bytes() for p in paths] == [b"\x00", b"\x01", b"\x02"]
    assert (tmp_path / "x-1.bin").read_bytes() == b"theirs"
    assert names(tmp_path) == ["x-1.bin", "x-2.bin", "x-3.bin", "x.bin"]


def test_without_hard_links_the_name_is_reserved_exclusively(tmp_path: Path, monkeypatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(safe_write.os, "link", no_links)
    (tmp_path / "x.txt").write_bytes(b"keep")
    first = atomic_write_bytes(tmp_path, "x", "txt", b"one")
    second = atomic_write_bytes(tmp_path, "x", "txt", b"two")
    assert (first.name, second.name) == ("x-1.txt", "x-2.txt")
    assert (tmp_path / "x.txt").read_bytes() == b"keep"
    assert (first.read_bytes(), second.read_bytes()) == (b"one", b"two")
    assert names(tmp_path) == ["x-1.txt", "x-2.txt", "x.txt"]


def test_an_exception_in_the_block_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="encoder crashed"), atomic_output(tmp_path, "x", "png") as pending:
        pending.tmp.write_bytes(b"half")
        assert pending.tmp.name.startswith(safe_write.TEMP_PREFIX) and pending.tmp.suffix == ".png"
        raise RuntimeError("encoder crashed")
    assert pending.final is None
    assert names(tmp_path) == []


def test_a_failed_publish_removes_the_temp_and_says_why(tmp_path: Path, monkeypatch) -> None:
    def disk_full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_write.os, "link", disk_full)
    with pytest.raises(OutputError) as info:
        atomic_write_bytes(tmp_path, "x", "png", b"data")
    assert str(info.value) == f"{tmp_path / 'x.png'}: could not write the file: the disk is full"
    assert names(tmp_path) == []


def test_protected_paths_are_skipped_and_inputs_detected(tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    src.write_bytes(b"original")
    link = tmp_path / "alias.png"
    os.symlink(src, link)
    assert same_path(src, link) and same_path(tmp_path / "." / "photo.png", src)
    assert not same_path(src, tmp_path / "other.png")
    with pytest.raises(OutputError) as info:
        check_not_input(link, [src])
    assert info.value.reason == "refusing to write over an input file"
    check_not_input(tmp_path / "photo_blur.png", [src])  # a different name passes
    out = atomic_write_bytes(tmp_path, "photo", "png", b"new", protect=[src])
    assert out.name == "photo-1.png" and src.read_bytes() == b"original"


def test_temp_files_have_a_name_users_recognise_and_keep_the_extension(tmp_path: Path) -> None:
    with atomic_output(tmp_path, "x", "mp4") as pending:
        name = pending.tmp.name
        assert name.startswith("~locallens-unfinished-") and name.endswith(".mp4")  # no dot-file: Windows shows it
        assert safe_write.is_temp_name(name)
        pending.tmp.write_bytes(b"v")
    assert names(tmp_path) == ["x.mp4"]
    assert not safe_write.is_temp_name("~locallens-unfinished-my notes.txt")
    assert not safe_write.is_temp_name("holiday.png")


def test_only_our_old_temp_files_are_removed(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    old = time.time() - 3600
    stale = [tmp_path / "~locallens-unfinished-0123456789ab.png", sub / ".locallens-tmp-abcdef012345.mp4"]
    fresh = tmp_path / "~locallens-unfinished-ba9876543210.mp4"  # another LocalLens writing right now
    theirs = [tmp_path / "~locallens-unfinished-notes.txt", tmp_path / "photo.png"]
    for path in [*stale, fresh, *theirs]:
        path.write_bytes(b"x")
    for path in [*stale, *theirs]:
        os.utime(path, (old, old))
    assert safe_write.remove_stale_temps(tmp_path) == 1  # one folder at a time, not its sub-folders
    assert stale[1].exists()
    assert safe_write.remove_stale_temps(sub) == 1
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and all(p.exists() for p in theirs)


def test_long_multibyte_stems_are_cut_by_bytes_to_fit_255(tmp_path: Path) -> None:
    stem = "写真" * 60  # 360 UTF-8 bytes
    short = safe_write.fit_stem(stem, "png")
    assert len(f"{short}-9999.png".encode()) <= 255 and stem.startswith(short)
    assert safe_write.fit_stem("plain", "png") == "plain"
    path = atomic_write_bytes(tmp_path, stem, "png", b"img")
    assert path.name == f"{short}.png" and path.read_bytes() == b"img"
    assert atomic_write_bytes(tmp_path, stem, "png", b"2").name == f"{short}-1.png"
