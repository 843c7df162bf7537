"""A source's sound in a processed video: copied packet for packet where the container takes the codec, else
re-encoded (AAC for MP4, Opus for WebM). Interleaved with the video as it is written, cut where the video ends.

Nothing but the samples is carried over: the stream's metadata (language, handler name, title) is not copied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from desktop_app.core.video_read import open_container

# Audio codecs each container holds as they are (FFmpeg's names); anything else is re-encoded.
COPYABLE = {
    "mp4": frozenset({"aac", "mp3", "opus", "alac", "flac", "ac3", "eac3"}),
    "webm": frozenset({"opus", "vorbis"}),
}
ENCODER = {"mp4": "aac", "webm": "libopus"}
AAC_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000})


class AudioTrack:
    """The first audio stream of `source`, added to the output container `out` (before its header is written).

    `mux_until(t)` writes the audio up to `t` seconds of the output's timeline (call it as the video advances, so
    the streams interleave); `finish(end)` writes the rest up to `end` (the video's duration) and flushes.
    `offset` (seconds) is the source video's start time: the output's video starts at 0, so does its audio.
    """

    def __init__(self, source: Path, out: Any, fmt: str, offset: float = 0.0) -> None:
        self._in = open_container(source)
        try:
            src = self._in.streams.audio[0]
            self.codec = src.codec_context.name
            self._fmt = fmt
            self.copied = self.codec in COPYABLE[fmt]
            self._src_tb = Fraction(src.time_base)
            self._offset = round(offset / self._src_tb) if offset else 0
            if self.copied:
                self.stream = out.add_stream_from_template(src)
                self._resampler = None
            else:
                self.stream, self._resampler = _encoder_stream(out, fmt, src.codec_context)
            self.stream.metadata.clear()  # no language/handler/title from the source
            self._out = out
            self._packets: Iterator[Any] = self._in.demux(src)
            self._pending: Any = None
            self._ended = False
        except BaseException:
            self._in.close()
            raise

    @property
    def note(self) -> str:
        target = ENCODER[self._fmt].removeprefix("lib").upper().replace("OPUS", "Opus")
        return "" if self.copied else f"the audio ({self.codec}) was re-encoded as {target}"

    def _next(self) -> Any:
        """The next source packet with a timestamp (shifted to the output's timeline), or None at the end."""
        if self._pending is not None:
            packet, self._pending = self._pending, None
            return packet
        while not self._ended:
            try:
                packet = next(self._packets)
            except (StopIteration, av.FFmpegError, OSError):
                self._ended = True  # a damaged audio tail ends the audio; the video is still complete
                return None
            if packet.pts is None and packet.dts is None:
                continue  # the demuxer's flush packet
            if self._offset:
                if packet.pts is not None:
                    packet.pts -= self._offset
                if packet.dts is not None:
                    packet.dts -= self._offset
            return packet
        return None

    def _seconds(self, packet: Any) -> float:
        ts = packet.pts if packet.pts is not None else packet.dts
        return float(ts * self._src_tb)

    def mux_until(self, seconds: float) -> None:
        """Write the source's audio packets that start before `seconds`."""
        while True:
            packet = self._next()
            if packet is None:
                return
            if self._seconds(packet) >= seconds:
                self._pending = packet
                return
            self._write(packet)

    def _write(self, packet: Any) -> None:
        if self._resampler is None:
            packet.stream = self.stream
            self._out.mux(packet)
            return
        try:
            frames = packet.decode()
        except (av.FFmpegError, ValueError):
            return  # one undecodable packet: a few ms of silence rather than a failed video
        for frame in frames:
            for converted in self._resampler.resample(frame):
                converted.pts = None
                self._out.mux(self.stream.encode(converted))

    def finish(self, end: float) -> None:
        """Write what is left before `end` seconds, flush the encoder, close the source."""
        try:
            self.mux_until(end)
            if self._resampler is not None:
                for converted in self._resampler.resample(None):
                    converted.pts = None
                    self._out.mux(self.stream.encode(converted))
                self._out.mux(self.stream.encode(None))
        finally:
            self.close()

    def close(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError):
            self._in.close()


def _encoder_stream(out: Any, fmt: str, source: Any) -> tuple[Any, Any]:
    """A new AAC (MP4) or Opus (WebM) stream shaped like `source`, and the resampler that feeds it."""
    channels = int(getattr(source.layout, "nb_channels", 0) or 2)
    layout = "mono" if channels == 1 else "stereo"
    rate = int(source.sample_rate or 48000)
    if fmt == "webm":
        rate, sample_format = 48000, "flt"
    else:
        rate, sample_format = (rate if rate in AAC_RATES else 48000), "fltp"
    stream = out.add_stream(ENCODER[fmt], rate=rate)
    stream.layout = layout
    stream.format = sample_format
    stream.bit_rate = 128000 if channels > 1 else 96000
    return stream, av.AudioResampler(format=sample_format, layout=layout, rate=rate)
