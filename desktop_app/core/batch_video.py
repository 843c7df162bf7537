"""One video through the batch: decoded ahead, processed here, encoded behind, with its sound and timing.

The output is H.264/MP4 with the source's audio (a cut-out on green screen), VP9/WebM (a cut-out keeps its
transparency, the sound becomes Opus) or a PNG sequence (full size, lossless, no sound); see `core.video_write`.
Cancelling stops mid-video and leaves nothing; every error is one line for that input.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from desktop_app.core.batch import _CANCELLED, Batch, Job, Outcome, describe_error, printable
from desktop_app.core.batch_overlap import ahead, behind
from desktop_app.core.effects.registry import spec_for
from desktop_app.core.frames import Frame
from desktop_app.core.lookahead import video_lookahead
from desktop_app.core.safe_write import fit_stem
from desktop_app.core.sequence import SequenceWriteError, SequenceWriter
from desktop_app.core.sinks import GREEN_SCREEN, to_rgb
from desktop_app.core.videoio import VideoReader, VideoReadError, VideoWriteError, VideoWriter

VIDEO_AHEAD, VIDEO_BEHIND = 2, 2  # video frames decoded ahead of / waiting to be encoded behind the current one


def process_video(batch: Batch, job: Job) -> Outcome:
    """The video as H.264/MP4 or VP9/WebM with the source's sound, or as a PNG sequence (full size, lossless:
    gray masks, RGBA cut-outs, RGB else). WebM keeps a cut-out's transparency; MP4 puts it on green screen.
    Each frame's mask is centred on it: the model's outputs for the frames before and after it are combined with
    its own (`core.lookahead`: two frames on each side; the next two are peeked from the decoder, which holds them)."""
    params, notes = batch.params, []
    spec = spec_for(params.effect)
    sequence = batch.video_format == "png"
    if batch.video_format == "mp4" and not spec.mp4_can_carry(params) and spec.takes("color"):
        params = params.with_(color=GREEN_SCREEN)
        notes.append("MP4 has no transparency: the background was replaced by green screen")
    batch.processor.set_params(params)
    batch.processor.reset()  # temporal smoothing starts fresh for each video
    frames, encoder = 0, None
    writer: VideoWriter | SequenceWriter | None = None  # both: write / close / abort
    try:
        # VideoReader checks first: a FIFO is "not a regular file". With overlap, frames are decoded ahead
        # and encoded behind on bounded helper threads; `helpers` stops both before the reader closes and
        # before any abort below.
        with VideoReader(job.source) as reader, contextlib.ExitStack() as helpers, \
                video_lookahead(batch.processor) as look:
            width, height = reader.size
            if not sequence and spec.output != "gray" and min(width, height) < 2:  # the output keeps its size
                return Outcome(job.source, error=printable(
                    f"{job.source}: too small to save as {batch.video_format.upper()} ({width}x{height}; "
                    "needs at least 2x2)"))
            if sequence and reader.audio:
                notes.append("a PNG sequence has no sound: the audio track was not kept")
            elif len(reader.audio) > 1:
                notes.append(f"only the first of its {len(reader.audio)} audio tracks was kept")
            total = reader.frame_count
            decoded = helpers.enter_context(ahead(reader, VIDEO_AHEAD)) if batch.overlap else reader
            for rgb in look.feed(decoded):
                if batch.cancel.is_set():
                    helpers.close()
                    if writer is not None:
                        writer.abort()
                    return Outcome(job.source, error=_CANCELLED)
                pixels = batch.processor.process(Frame(rgb, time.perf_counter(), frames, str(job.source))).pixels
                if not sequence and (batch.video_format == "mp4" or pixels.ndim == 2):
                    pixels = to_rgb(pixels)  # a gray mask video; an RGBA cut-out only where WebM keeps alpha
                if writer is None:
                    writer = _video_writer(batch.video_format, job, reader, params.effect, pixels)
                item: Any = pixels if sequence else (pixels, reader.timestamps[frames])
                if encoder is None and batch.overlap:  # frames (video or PNG) are encoded behind, bounded
                    consume = writer.write if sequence else _write_timed(writer)
                    encoder = helpers.enter_context(behind(consume, VIDEO_BEHIND))
                if encoder is not None:
                    encoder.put(item)
                elif sequence:
                    writer.write(pixels)
                else:
                    writer.write(*item)
                frames += 1
                batch.frame_progress(frames, total, job.source)
            if encoder is not None:
                encoder.flush()
        if writer is None:
            return Outcome(job.source, error=f"{job.source.name}: the video has no frames")
        output = writer.close()
        if isinstance(writer, VideoWriter):
            notes += [note for note in (writer.size_note, writer.audio_note) if note]
        return Outcome(job.source, output, notes=notes, frames=frames)
    except (VideoReadError, VideoWriteError, SequenceWriteError, OSError) as exc:
        if writer is not None:
            writer.abort()
        return Outcome(job.source, error=describe_error(job.source, exc), frames=frames)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise


def _video_writer(fmt: str, job: Job, reader: VideoReader, effect: str, pixels: Any) -> VideoWriter | SequenceWriter:
    """The output for a video: a PNG sequence folder, or a video at the source's rate and timing with its sound."""
    stem = fit_stem(job.base, fmt, f"_{effect}")
    if fmt == "png":
        return SequenceWriter(job.out_dir, stem, inputs=[job.source])
    return VideoWriter(job.out_dir, stem, reader.fps, (pixels.shape[1], pixels.shape[0]), inputs=[job.source],
                       fmt=fmt, audio_from=job.source if reader.audio else None, audio_offset=reader.start,
                       time_base=reader.time_base)


def _write_timed(writer: VideoWriter | SequenceWriter) -> Callable[[tuple[Any, float]], None]:
    """The encoder thread's work for a video: `(pixels, seconds)` into `writer`."""
    assert isinstance(writer, VideoWriter)
    return lambda item: writer.write(*item)
