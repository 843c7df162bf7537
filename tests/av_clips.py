"""Tiny test clips made with PyAV: video with a sine tone, a rotation tag, metadata that must not survive."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

TONE_HZ = 440.0
SECRET_TITLE = "Holiday at the secret place"
SECRET_LOCATION = "+48.8577+002.2950/"
SIZE = (320, 240)


def stripes(index: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Frame `index`: red left half, blue right half, a gray bar whose height grows with the index (upright marks:
    red is left, the bar is at the top)."""
    width, height = size
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, : width // 2] = (220, 30, 30)
    rgb[:, width // 2 :] = (30, 30, 220)
    rgb[: 4 + index % 8, :] = 128
    return rgb


def clip(path: Path, *, seconds: float = 1.0, fps: int = 15, size: tuple[int, int] = SIZE,
         audio: str | None = "aac", rate: int = 44100, times: Sequence[float] | None = None,
         metadata: bool = True, tracks: int = 1) -> Path:
    """A clip of `stripes` frames (H.264 via libopenh264) with a sine tone in `audio` (an FFmpeg encoder name, or
    None for a silent clip). `times` (seconds) gives a variable frame rate. The container carries a title and a
    location that an output must not keep."""
    fmt = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}[path.suffix]
    frames = len(times) if times is not None else round(seconds * fps)
    with av.open(str(path), "w", format=fmt) as out:
        if metadata:
            out.metadata["title"] = SECRET_TITLE
            out.metadata["location"] = SECRET_LOCATION
            out.metadata["creation_time"] = "2024-05-01T12:00:00.000000Z"
        video = out.add_stream("libopenh264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.bit_rate = 400_000
        if times is not None:
            video.codec_context.time_base = Fraction(1, 1000)
        sounds = []
        for _ in range(tracks if audio is not None else 0):
            sound = out.add_stream(audio, rate=rate)
            sound.layout = "mono"
            sound.metadata["title"] = SECRET_TITLE
            sounds.append(sound)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(stripes(i, size), format="rgb24")
            frame.pts = round(times[i] * 1000) if times is not None else i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for sound in sounds:
            duration = (times[-1] + 1 / fps) if times is not None else frames / fps
            total, chunk, done = round(duration * rate), 1024, 0
            fmt_name = sound.codec_context.format.name if sound.codec_context.format else "fltp"
            while done < total:
                n = min(chunk, total - done)
                t = np.arange(done, done + n) / rate
                tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)[None]
                frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = rate, done
                if fmt_name != "fltp":
                    frame = av.AudioResampler(format=fmt_name, layout="mono", rate=rate).resample(frame)[0]
                    frame.pts = done
                out.mux(sound.encode(frame))
                done += n
            out.mux(sound.encode(None))
    return path


def set_rotation(path: Path, degrees: int) -> Path:
    """Write a display matrix into the video track's `tkhd` (as a phone does for a portrait clip): `degrees` is
    the clockwise turn a player applies (90 for a phone held upright)."""
    matrices = {90: (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000),
                270: (0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x40000000),
                180: (-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x40000000)}
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    assert at > 0, "no track header"
    body = at + 4
    offset = body + (40 if data[body] == 0 else 52)  # version 0: 32-bit times; 1: 64-bit
    struct.pack_into(">9i", data, offset, *matrices[degrees])
    path.write_bytes(bytes(data))
    return path


def streams(path: Path) -> dict[str, object]:
    """What an output holds, read back with PyAV."""
    with av.open(str(path)) as container:
        info: dict[str, object] = {"metadata": dict(container.metadata)}
        for stream in container.streams:
            duration = float(stream.duration * stream.time_base) if stream.duration else None
            if duration is None and container.duration:
                duration = container.duration / 1_000_000
            info[stream.type] = {"codec": stream.codec_context.name, "duration": duration,
                                 "metadata": dict(stream.metadata),
                                 "rate": stream.average_rate if stream.type == "video" else stream.rate,
                                 "frames": stream.frames}
        return info


def frames_of(path: Path) -> list[tuple[np.ndarray, int, float]]:
    """(rgb, rotation, seconds) of every video frame as decoded, rotation not applied."""
    with av.open(str(path)) as container:
        return [(f.to_ndarray(format="rgb24"), int(f.rotation or 0), float(f.time))
                for f in container.decode(container.streams.video[0])]


def audio_seconds(path: Path) -> float:
    """The decoded audio's length in seconds (samples / rate)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(f.samples for f in container.decode(stream))
        return samples / stream.rate


def video_seconds(path: Path) -> float:
    """The last frame's time plus one frame."""
    decoded = frames_of(path)
    with av.open(str(path)) as container:
        rate = float(container.streams.video[0].average_rate)
    return decoded[-1][2] + 1 / rate
