"""Processed videos play everywhere and keep their sound: H.264/MP4 (libopenh264 only) with the source's audio,
rate and upright frames, no source metadata; WebM VP9 with alpha for cut-outs; per-frame progress."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from av_clips import (
    SECRET_LOCATION,
    SECRET_TITLE,
    audio_seconds,
    clip,
    frames_of,
    set_rotation,
    streams,
    stripes,
    video_seconds,
)
from corpus import file_hashes

from desktop_app.core import video_write
from desktop_app.core.batch import Batch, plan
from desktop_app.core.frames import Frame, Result
from desktop_app.core.params import EffectParams
from desktop_app.core.videoio import VideoReader, VideoWriteError, VideoWriter


class Same:
    """A processor that returns the frame (or, for remove, an RGBA cut-out: the left half opaque)."""

    def __init__(self) -> None:
        self.params = EffectParams("blur")

    def set_params(self, params: EffectParams) -> None:
        self.params = params

    def reset(self) -> None:
        pass

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        if self.params.effect == "remove" and self.params.color is None:
            rgba = np.zeros((*frame.pixels.shape[:2], 4), np.uint8)
            rgba[..., :3] = frame.pixels
            rgba[:, : frame.pixels.shape[1] // 2, 3] = 255
            return Result(frame, rgba)
        return Result(frame, frame.pixels.copy())


def run(source: Path, out: Path, effect: str = "blur", video_format: str = "mp4", **kw: object):
    jobs, failures = plan([source], out)
    assert not failures
    report = Batch(Same(), EffectParams(effect), video_format=video_format, **kw).run(jobs)  # type: ignore[arg-type]
    assert len(report.outcomes) == 1
    return report.outcomes[0]


def test_process_writes_h264_mp4_with_the_sources_sound_rate_and_no_metadata(tmp_path: Path) -> None:
    src = clip(tmp_path / "talk.mp4", seconds=1.2, fps=15)
    before = file_hashes([src])
    outcome = run(src, tmp_path / "out")
    assert outcome.ok, outcome.error
    assert outcome.output == tmp_path / "out" / "talk_blur.mp4" and outcome.frames == 18
    assert outcome.notes == []  # AAC is copied: nothing to say
    info = streams(outcome.output)
    assert info["video"]["codec"] == "h264" and info["video"]["rate"] == 15 and info["video"]["frames"] == 18
    assert info["audio"]["codec"] == "aac"
    assert abs(audio_seconds(outcome.output) - video_seconds(outcome.output)) <= 1 / 15
    text = repr(info)
    assert SECRET_TITLE not in text and SECRET_LOCATION not in text and "2024-05-01" not in text
    assert "encoder" not in info["metadata"]  # fflags=+bitexact: not even FFmpeg's own tag
    data = outcome.output.read_bytes()
    assert SECRET_TITLE.encode() not in data and b"+48.8577" not in data
    assert b"x264" not in data  # libx264 (GPL) signs its streams; libopenh264 does not
    # the index is at the front (+faststart): playback starts before a download ends
    assert data.find(b"moov") < data.find(b"mdat")
    assert file_hashes(before) == before


def test_audio_the_container_cannot_take_is_re_encoded_to_aac(tmp_path: Path) -> None:
    src = clip(tmp_path / "pcm.mov", seconds=1.0, fps=10, audio="pcm_s16le", rate=22050)
    outcome = run(src, tmp_path / "out")
    assert outcome.ok, outcome.error
    assert outcome.notes == ["the audio (pcm_s16le) was re-encoded as AAC"]
    info = streams(outcome.output)
    assert info["audio"]["codec"] == "aac" and info["audio"]["rate"] == 22050
    assert abs(audio_seconds(outcome.output) - video_seconds(outcome.output)) <= 1 / 10


def test_a_silent_source_gives_a_silent_output(tmp_path: Path) -> None:
    outcome = run(clip(tmp_path / "mute.mp4", seconds=0.5, audio=None), tmp_path / "out")
    assert outcome.ok and "audio" not in streams(outcome.output) and outcome.notes == []


def test_a_rotated_clip_is_read_and_written_upright(tmp_path: Path) -> None:
    src = set_rotation(clip(tmp_path / "phone.mp4", seconds=0.4, size=(64, 48)), 90)
    with VideoReader(src) as reader:
        first = next(iter(reader))
    assert reader.size == (48, 64) and first.shape == (64, 48, 3)
    # turned clockwise: what was the left (red) is now the top, the gray bar (top) is now on the right
    assert first[:20, 20, 0].min() > 180 and first[-20:, 20, 2].min() > 180 and abs(int(first[40, -2, 0]) - 128) < 20
    capture = cv2.VideoCapture(str(src))  # OpenCV (what read videos before) turns it the same way
    ok, bgr = capture.read()
    capture.release()
    assert ok and np.abs(bgr[:, :, ::-1].astype(int) - first).mean() < 4
    outcome = run(src, tmp_path / "out")
    decoded = frames_of(outcome.output)
    assert [rotation for _, rotation, _ in decoded] == [0] * 6  # upright pixels, no rotation tag
    assert decoded[0][0].shape == (64, 48, 3) and decoded[0][0][:20, 20, 0].min() > 180


def test_odd_sizes_are_cropped_by_one_pixel_and_say_so(tmp_path: Path) -> None:
    src = tmp_path / "odd.mkv"
    with av.open(str(src), "w", format="matroska") as out:
        stream = out.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = 63, 47, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(stripes(i, (63, 47)), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    outcome = run(src, tmp_path / "out")
    assert outcome.ok, outcome.error
    assert outcome.notes == ["the width was cropped by 1 px to 62 (H.264 needs even sizes); "
                             "the height was cropped by 1 px to 46 (H.264 needs even sizes)"]
    assert frames_of(outcome.output)[0][0].shape == (46, 62, 3)


def test_a_variable_frame_rate_keeps_its_timestamps(tmp_path: Path) -> None:
    times = [0.0, 0.1, 0.15, 0.4, 0.45, 0.5, 0.9, 1.0]
    src = clip(tmp_path / "vfr.mkv", times=times, fps=10)
    outcome = run(src, tmp_path / "out")
    assert outcome.ok, outcome.error
    got = [t for _, _, t in frames_of(outcome.output)]
    assert got == pytest.approx(times, abs=0.002)


def test_remove_as_webm_keeps_transparency_and_the_sound_as_opus(tmp_path: Path) -> None:
    src = clip(tmp_path / "cut.mp4", seconds=0.6, fps=10, size=(64, 48))
    outcome = run(src, tmp_path / "out", effect="remove", video_format="webm")
    assert outcome.ok, outcome.error
    assert outcome.output == tmp_path / "out" / "cut_remove.webm"
    assert outcome.notes == ["the audio (aac) was re-encoded as Opus"]  # no green-screen note
    info = streams(outcome.output)
    assert info["video"]["codec"] == "vp9" and info["audio"]["codec"] == "opus"
    assert SECRET_TITLE not in repr(info)
    with av.open(str(outcome.output)) as container:  # FFmpeg's own vp9 decoder drops alpha; libvpx keeps it
        decoder = av.codec.CodecContext.create("libvpx-vp9", "r")
        decoded = [f for p in container.demux(container.streams.video[0]) for f in decoder.decode(p)]
    assert len(decoded) == 6 and decoded[0].format.name == "yuva420p"
    rgba = decoded[0].to_ndarray(format="rgba")
    assert rgba[:, :28, 3].min() > 240 and rgba[:, 36:, 3].max() < 16  # the person opaque, the rest transparent
    assert abs(audio_seconds(outcome.output) - 0.6) <= 0.1


def test_remove_as_mp4_stays_green_screen(tmp_path: Path) -> None:
    outcome = run(clip(tmp_path / "g.mp4", seconds=0.4, size=(64, 48)), tmp_path / "out", effect="remove")
    assert outcome.ok and outcome.output.suffix == ".mp4"
    assert outcome.notes == ["MP4 has no transparency: the background was replaced by green screen"]


def test_frame_progress_is_reported_per_frame_with_the_total(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    outcome = run(clip(tmp_path / "p.mp4", seconds=0.4, fps=10, size=(64, 48)), tmp_path / "out",
                  frame_progress=lambda done, total, _path: seen.append((done, total)))
    assert outcome.ok and seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_the_h264_encoder_is_libopenh264_and_its_absence_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    asked: list[str] = []
    real = video_write.encoder_available
    monkeypatch.setattr(video_write, "encoder_available", lambda name: asked.append(name) or real(name))
    VideoWriter(tmp_path, "x", 10.0, (64, 48)).abort()
    assert asked == ["libopenh264"]
    monkeypatch.setattr(video_write, "encoder_available", lambda name: False)
    with pytest.raises(VideoWriteError) as info:
        VideoWriter(tmp_path, "x", 10.0, (64, 48))
    assert info.value.reason == "this installation has no libopenh264 encoder (needed for MP4); reinstall LocalLens"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_audio_stream_in_the_output_is_caught_before_publishing(tmp_path: Path, monkeypatch) -> None:
    src = clip(tmp_path / "s.mp4", seconds=0.4, size=(64, 48))
    monkeypatch.setattr(video_write.AudioTrack, "mux_until", lambda self, seconds: None)
    monkeypatch.setattr(video_write.AudioTrack, "finish", lambda self, end: None)  # the sound never written
    outcome = run(src, tmp_path / "out")
    assert outcome.error == f"{src}: the written video is broken (output: {tmp_path / 'out' / 's_blur.mp4'})"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_writer_defaults_follow_fps_exactly(tmp_path: Path) -> None:
    with VideoWriter(tmp_path, "ntsc", 30000 / 1001, (64, 48)) as writer:
        for i in range(5):
            writer.write(stripes(i, (64, 48)))
    assert writer.time_base == Fraction(1001, 30000)
    assert streams(writer.path)["video"]["rate"] == Fraction(30000, 1001)


def test_a_sound_that_cannot_be_kept_leaves_the_video_with_a_note(tmp_path: Path, monkeypatch) -> None:
    def refuse(*_args: object) -> None:
        raise ValueError("no decoder for this audio codec")

    monkeypatch.setattr(video_write, "AudioTrack", refuse)
    outcome = run(clip(tmp_path / "odd sound.mp4", seconds=0.4, size=(64, 48)), tmp_path / "out")
    assert outcome.ok and "audio" not in streams(outcome.output)
    assert outcome.notes == ["the audio track could not be kept (no decoder for this audio codec)"]


def test_of_several_audio_tracks_the_first_is_kept_and_that_is_said(tmp_path: Path) -> None:
    outcome = run(clip(tmp_path / "two.mkv", seconds=0.4, size=(64, 48), tracks=2), tmp_path / "out")
    assert outcome.ok and outcome.notes == ["only the first of its 2 audio tracks was kept"]
    with av.open(str(outcome.output)) as container:
        assert len(container.streams.audio) == 1
