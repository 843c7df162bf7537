"""The live-view recorder: H.264 in a fragmented MP4 that survives a crash, never overwriting, no queue."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest
from corpus import file_hashes
from tiny_disk import mount_tiny_tmpfs

from desktop_app.core import recorder as recorder_mod
from desktop_app.core.recorder import CODEC, Recorder, create_new_file, fit_frame
from desktop_app.core.settings import Settings, SettingsStore
from desktop_app.core.sinks import FrameSink, SinkError, SinkFrame

WHEN = datetime(2026, 12, 2, 10, 0, 0)
SIZE = (64, 48)
REPO = Path(__file__).resolve().parents[1]


def frame(i: int, at: float, size: tuple[int, int] = SIZE) -> SinkFrame:
    """A frame whose brightness encodes its index (decoded back by `_index_of`)."""
    rgb = np.full((size[1], size[0], 3), (i * 20) % 240 + 8, np.uint8)
    return SinkFrame(rgb, at, i)


def _index_level(pixels: np.ndarray) -> int:
    return round(float(pixels.mean()))


def record(folder: Path, times: list[float], fps: float = 30.0, **kwargs: object) -> Recorder:
    """Record one frame per time, each encoded before the next is sent (so none is dropped)."""
    rec = Recorder(folder, now=lambda: WHEN, **kwargs)  # type: ignore[arg-type]
    rec.open(SIZE, fps)
    for i, at in enumerate(times):
        rec.send(frame(i, at))
        assert rec.drain(timeout=10)
    rec.close()
    return rec


def decode(path: Path) -> tuple[list[av.VideoFrame], str | None]:
    """All frames that decode, and the error that ended decoding early (None if it played to the end)."""
    frames: list[av.VideoFrame] = []
    try:
        with av.open(str(path)) as container:
            for f in container.decode(video=0):
                frames.append(f)
    except av.FFmpegError as exc:
        return frames, str(exc)
    return frames, None


def test_a_recording_of_n_frames_is_h264_with_n_frames_and_the_expected_duration(tmp_path: Path) -> None:
    rec = record(tmp_path, [i / 30 for i in range(12)])
    assert isinstance(rec, FrameSink)
    path = rec.stats.path
    assert path == tmp_path / "LocalLens 2026-12-02 10-00-00.mp4" and path.is_file()
    frames, error = decode(path)
    assert error is None and len(frames) == 12
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == SIZE
        assert container.format.name.startswith("mov,mp4")
        assert container.duration / 1e6 == pytest.approx(12 / 30, abs=0.01)
    assert rec.stats.frames_written == 12 and rec.stats.dropped == 0
    assert rec.stats.duration == pytest.approx(12 / 30, abs=0.01)
    assert CODEC == "libopenh264"


def test_frame_times_come_from_capture_so_gaps_do_not_speed_playback_up(tmp_path: Path) -> None:
    times = [10.0, 10.1, 10.2, 10.9, 11.0]  # frames 0.2-0.9 s were dropped by the session
    rec = record(tmp_path, times, fps=10)
    frames, error = decode(rec.stats.path)
    assert error is None
    assert [round(f.time, 3) for f in frames] == pytest.approx([t - 10.0 for t in times], abs=0.002)
    assert rec.stats.duration == pytest.approx(1.1, abs=0.01)  # last frame at 1.0 s + one nominal frame


def test_an_existing_name_gets_2_then_3_and_is_never_touched(tmp_path: Path) -> None:
    taken = tmp_path / "LocalLens 2026-12-02 10-00-00.mp4"
    taken.write_bytes(b"someone else's video")
    before = file_hashes([taken])
    second = record(tmp_path, [0.0, 0.1]).stats.path
    third = record(tmp_path, [0.0, 0.1]).stats.path
    assert second is not None and second.name == "LocalLens 2026-12-02 10-00-00 (2).mp4"
    assert third is not None and third.name == "LocalLens 2026-12-02 10-00-00 (3).mp4"
    assert file_hashes(before) == before
    assert len(decode(third)[0]) == 2


def test_exclusive_create_skips_a_file_that_appears_between_check_and_open(tmp_path: Path) -> None:
    def racing_open(path: Path) -> io.FileIO:
        if path.name == "x.mp4":
            raise FileExistsError(path)  # as if another process created it just now
        return open(path, "xb", buffering=0)

    path, handle = create_new_file(tmp_path, "x", racing_open)
    handle.close()
    assert path.name == "x (2).mp4"


def test_the_default_folder_is_videos_locallens_created_by_the_first_recording_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_mod, "user_videos_dir", lambda: str(tmp_path / "Videos"))
    rec = Recorder(now=lambda: WHEN)
    assert rec.folder == tmp_path / "Videos" / "LocalLens" and not (tmp_path / "Videos").exists()
    rec.open(SIZE, 30)
    rec.send(frame(0, 0.0))
    rec.close()
    assert rec.stats.path is not None and rec.stats.path.parent == tmp_path / "Videos" / "LocalLens"


def test_send_only_swaps_the_newest_frame_in_and_counts_the_ones_it_replaces(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, now=lambda: WHEN)
    rec.open(SIZE, 30)
    entered, release = threading.Event(), threading.Event()
    real_encode = rec._encode

    def slow_encode(f: SinkFrame) -> None:
        entered.set()
        assert release.wait(10)
        real_encode(f)

    rec._encode = slow_encode  # type: ignore[method-assign]
    rec.send(frame(0, 0.0))
    assert entered.wait(10)  # the encoder holds frame 0; the slot is empty
    for i in range(1, 6):
        rec.send(frame(i, i / 30))  # each replaces the one before: 1-4 are dropped, 5 waits
    release.set()
    rec.close()
    assert (rec.stats.frames_written, rec.stats.dropped) == (2, 4)
    frames, error = decode(rec.stats.path)
    assert error is None
    assert [_index_level(f.to_ndarray(format="rgb24")) for f in frames] == pytest.approx([8, 108], abs=3)


def test_odd_sizes_are_cropped_to_even_and_other_sizes_fit_without_stretching(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, now=lambda: WHEN)
    rec.open((65, 49), 30)
    rec.send(SinkFrame(np.full((49, 65, 3), 200, np.uint8), 0.0, 0))
    rec.close()
    with av.open(str(rec.stats.path)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == SIZE
    wide = fit_frame(np.full((10, 40, 3), 255, np.uint8), (40, 40))  # 4:1 into a square: black bars
    assert wide.shape == (40, 40, 3) and wide[0].max() == 0 and wide[20].min() == 255


def test_a_too_small_size_or_an_unusable_folder_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match=r"^a 8x8 picture is too small to record \(needs at least 16x16\)$"):
        Recorder(tmp_path).open((8, 8), 30)
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(SinkError) as info:
        Recorder(blocker / "sub").open(SIZE, 30)
    assert str(info.value).startswith(f"cannot write to {blocker / 'sub'}: ") and "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_recording_with_no_frame_leaves_no_file(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, now=lambda: WHEN)
    rec.open(SIZE, 30)
    rec.close()
    assert list(tmp_path.iterdir()) == [] and rec.stats.path is None


KILLED_CHILD = """
import sys
import numpy as np
from pathlib import Path
from desktop_app.core.recorder import Recorder
from desktop_app.core.sinks import SinkFrame
rec = Recorder(Path(sys.argv[1]))
rec.open((64, 48), 30)
print(rec.path, flush=True)
for i in range(100000):
    rec.send(SinkFrame(np.full((48, 64, 3), (i * 20) % 240 + 8, np.uint8), i / 30, i))
    rec.drain()
    print(i + 1, flush=True)
"""


def test_a_recording_cut_off_by_sigkill_still_plays(tmp_path: Path) -> None:
    wanted = 45  # 1.5 s at 30 fps; a fragment holds 0.25 s, so at most ~8 frames may be lost
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(tmp_path)], stdout=subprocess.PIPE,
                             text=True, cwd=REPO)
    guard = threading.Timer(60, child.kill)  # a hung child ends the read below instead of hanging the suite
    guard.start()
    try:
        assert child.stdout is not None
        path = Path(child.stdout.readline().strip())
        for line in child.stdout:
            if int(line) >= wanted:
                break
        else:
            pytest.fail(f"the recording child ended early (rc {child.wait()})")
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        guard.cancel()
        child.kill()
        if child.stdout is not None:
            child.stdout.close()
    frames, _error = decode(path)  # a fragment cut mid-write may end decoding; what came before plays
    assert len(frames) >= wanted - 10
    assert [round(f.time * 30) for f in frames] == list(range(len(frames)))


class FullDisk(io.FileIO):
    """A file on a disk with `room` bytes free, as write(2) behaves: a write that does not fit writes what fits
    and returns that count; a write with no room left fails with ENOSPC."""

    room = 0

    def write(self, data: object) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")  # type: ignore[arg-type]
        free = self.room - self.tell()
        if free <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(view[:free])


def _record_until_full(rec: Recorder, frames: int = 400) -> SinkError:
    rng = np.random.default_rng(0)
    rec.open(SIZE, 30)
    for i in range(frames):
        try:
            rec.send(SinkFrame(rng.integers(0, 256, (SIZE[1], SIZE[0], 3), np.uint8), i / 30, i))
        except SinkError as exc:
            rec.close()  # already reported: closing says nothing more
            return exc
        assert rec.drain(timeout=10)
    with pytest.raises(SinkError) as info:
        rec.close()
    return info.value


def test_a_full_disk_stops_with_one_line_and_keeps_a_file_that_plays_to_its_end(tmp_path: Path) -> None:
    class Disk(FullDisk):
        room = 40_000  # random 64x48 frames: ~100 of them fit

    rec = Recorder(tmp_path, now=lambda: WHEN, opener=lambda p: Disk(p, "xb"))
    error = _record_until_full(rec)
    path = tmp_path / "LocalLens 2026-12-02 10-00-00.mp4"
    assert str(error) == f"the disk is full; the video up to then is kept in {path}"
    frames, decode_error = decode(path)
    assert decode_error is None and 10 <= len(frames) <= rec.stats.frames_written
    assert path.stat().st_size <= Disk.room


def test_a_disk_full_before_the_first_fragment_saves_nothing(tmp_path: Path) -> None:
    class Disk(FullDisk):
        room = 1_500  # the header fits, the first fragment does not

    rec = Recorder(tmp_path, now=lambda: WHEN, opener=lambda p: Disk(p, "xb"))
    error = _record_until_full(rec)
    assert str(error) == "the disk is full; nothing was saved"
    assert list(tmp_path.iterdir()) == [] and rec.stats.path is None


def test_a_real_full_disk_gives_a_one_line_error_and_a_playable_file(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not mount_tiny_tmpfs(disk, "64k"):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        rec = Recorder(disk, now=lambda: WHEN)
        error = _record_until_full(rec)
        assert str(error).startswith("the disk is full; the video up to then is kept in ")
        frames, decode_error = decode(disk / "LocalLens 2026-12-02 10-00-00.mp4")
        assert decode_error is None and len(frames) >= 10
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_the_recordings_folder_setting_round_trips_and_older_files_without_it_still_load(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text('{"schema_version": 1, "snapshot_dir": "/shots"}')  # written before the field existed
    outcome = store.load()
    assert outcome.problem is None and outcome.settings.recording_dir == ""
    outcome.settings.recording_dir = "/videos/mine"
    store.save(outcome.settings)
    assert store.load().settings.recording_dir == "/videos/mine"
    store.path.write_text('{"recording_dir": 7}')
    bad = store.load()
    assert bad.settings == Settings() and bad.problem is not None and "recording_dir should be text" in bad.problem
