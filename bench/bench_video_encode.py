"""Video processing throughput before and after the encoder change, on a 720p clip with sound.

Makes a 1280x720 30 fps clip (the sample photo, panned and with grain, H.264 + an AAC tone), then runs it through
`core.batch.Batch` exactly as `locallens process` does, in alternating rounds:

- old: the previous I/O (cv2.VideoCapture in, cv2.VideoWriter MPEG-4 Part 2 `mp4v` out, no sound, the
  re-open check before publishing), plugged into the same Batch loop;
- new: PyAV (H.264 through libopenh264 in MP4 with the AAC copied, verified before publishing).

Each with the blur effect (the real segmenter and pipeline) and with an identity processor (the I/O alone).
Prints frames/s and CPU time per frame (all threads; steadier than wall time on a shared machine), medians, and
output sizes; writes bench/results/video_encode.json.

    python bench/bench_video_encode.py [--seconds 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from desktop_app.core import batch_video as batch_module  # noqa: E402
from desktop_app.core.batch import Batch, plan  # noqa: E402
from desktop_app.core.effects.background import cover_fit  # noqa: E402
from desktop_app.core.frames import Frame, Result  # noqa: E402
from desktop_app.core.imageio import read_image  # noqa: E402
from desktop_app.core.params import EffectParams  # noqa: E402
from desktop_app.core.pipeline import Pipeline  # noqa: E402
from desktop_app.core.safe_write import atomic_output  # noqa: E402
from desktop_app.core.segmenter import Segmenter  # noqa: E402

SIZE = (1280, 720)
FPS = 30
SAMPLE = REPO / "assets" / "samples" / "astronaut.jpg"


def make_clip(path: Path, seconds: float) -> Path:
    """A 720p30 H.264 clip of the sample photo panning slowly, with grain, and a 440 Hz AAC tone."""
    base = cover_fit(read_image(SAMPLE).rgb, (SIZE[0] + 120, SIZE[1]))
    rng = np.random.default_rng(7)
    frames = round(seconds * FPS)
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libopenh264", rate=FPS)
        video.width, video.height, video.pix_fmt, video.bit_rate = SIZE[0], SIZE[1], "yuv420p", 4_000_000
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "stereo"
        for i in range(frames):
            shift = int(60 + 60 * math.sin(i / 20))
            rgb = base[:, shift : shift + SIZE[0]].astype(np.int16) + rng.integers(-6, 7, (SIZE[1], SIZE[0], 1))
            frame = av.VideoFrame.from_ndarray(np.clip(rgb, 0, 255).astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        total = round(frames / FPS * 48000)
        for start in range(0, total, 1024):
            n = min(1024, total - start)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(start, start + n) / 48000)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 48000, start
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return path


# ------------------------------------------------------------------------------ the previous I/O (OpenCV)


class OldReader:
    """The previous VideoReader: cv2.VideoCapture, BGR -> RGB (no audio, no timestamps)."""

    def __init__(self, path: Path) -> None:
        self._cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        ok, self._first = self._cap.read()
        assert ok, f"OpenCV cannot read {path}"
        self.size = (self._first.shape[1], self._first.shape[0])
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.audio: list[Any] = []  # OpenCV dropped the sound
        self.timestamps = _Times(self.fps)
        self.start, self.time_base = 0.0, Fraction(1, 90000)

    def __iter__(self) -> Iterator[np.ndarray]:
        bgr = self._first
        while bgr is not None:
            yield np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            ok, bgr = self._cap.read()
            if not ok:
                bgr = None

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> OldReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Times:
    def __init__(self, fps: float) -> None:
        self.fps = fps

    def __getitem__(self, index: int) -> float:
        return index / self.fps


class OldWriter:
    """The previous VideoWriter: mp4v through cv2.VideoWriter, re-opened and counted before publishing."""

    def __init__(self, dest: Path, stem: str, fps: float, size: tuple[int, int], inputs: Any = (), **_: Any) -> None:
        self._output = atomic_output(dest, stem, "mp4", protect=inputs)
        self._pending = self._output.__enter__()
        self._writer = cv2.VideoWriter(str(self._pending.tmp), int.from_bytes(b"mp4v", "little"), fps, size)
        self.frames_written, self.size_note, self.audio_note = 0, "", ""

    def write(self, rgb: np.ndarray, _seconds: float | None = None) -> None:
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> Path:
        self._writer.release()
        cap = cv2.VideoCapture(str(self._pending.tmp), cv2.CAP_FFMPEG)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        ok = cap.read()[0] and cap.set(cv2.CAP_PROP_POS_FRAMES, count - 1) and cap.read()[0]
        cap.release()
        assert ok and count == self.frames_written
        self._output.__exit__(None, None, None)
        assert self._pending.final is not None
        return self._pending.final

    def abort(self) -> None:
        self._writer.release()
        with contextlib.suppress(BaseException):
            self._output.__exit__(RuntimeError, RuntimeError("aborted"), None)


@contextlib.contextmanager
def old_io() -> Iterator[None]:
    real = batch_module.VideoReader, batch_module.VideoWriter
    batch_module.VideoReader, batch_module.VideoWriter = OldReader, OldWriter  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        batch_module.VideoReader, batch_module.VideoWriter = real  # type: ignore[misc]


class Identity:
    """The I/O alone: frames go out as they came in."""

    def set_params(self, params: EffectParams) -> None:
        pass

    def reset(self) -> None:
        pass

    def process(self, frame: Frame, still: bool | None = None) -> Result:
        return Result(frame, frame.pixels)


def streams_of(path: Path) -> dict[str, str]:
    with av.open(str(path)) as container:
        return {s.type: s.codec_context.name for s in container.streams}


def _rgb_frames(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            yield frame.to_ndarray(format="rgb24")


def psnr(source: Path, output: Path) -> float:
    """Mean PSNR (dB) of the output's frames against the source's (the I/O alone: what the codec lost)."""
    values = []
    for a, b in zip(_rgb_frames(source), _rgb_frames(output), strict=False):
        mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
        values.append(99.0 if mse == 0 else 10 * math.log10(255**2 / mse))
    return round(statistics.fmean(values), 2)


def one_run(clip: Path, out: Path, processor: Any, params: EffectParams, old: bool) -> dict[str, Any]:
    jobs, _ = plan([clip], out)
    with old_io() if old else contextlib.nullcontext():
        started, cpu = time.perf_counter(), time.process_time()
        report = Batch(processor, params).run(jobs)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    outcome = report.outcomes[0]
    assert outcome.ok, outcome.error
    assert outcome.output is not None
    result = {"fps": outcome.frames / seconds, "cpu_ms_per_frame": 1000 * cpu / outcome.frames,
              "bytes": outcome.output.stat().st_size, "streams": streams_of(outcome.output), "frames": outcome.frames}
    if isinstance(processor, Identity):
        result["psnr_db"] = psnr(clip, outcome.output)
    outcome.output.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "video_encode.json")
    args = parser.parse_args()
    params = EffectParams("blur", strength=50, quality="fast")
    segmenter = Segmenter("auto", device="cpu")
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip720.mp4", args.seconds)
        source_bytes = clip.stat().st_size
        processors = {"blur": lambda: Pipeline(segmenter, params, temporal=True), "io-only": Identity}
        for _ in range(args.rounds):
            for work, make in processors.items():
                for path in ("old", "new"):
                    runs.setdefault(f"{work}/{path}", []).append(
                        one_run(clip, Path(tmp) / "out", make(), params, old=path == "old"))
    summary: dict[str, Any] = {}
    for key, values in runs.items():
        summary[key] = {"fps_median": round(statistics.median(v["fps"] for v in values), 2),
                        "fps_runs": [round(v["fps"], 2) for v in values],
                        "cpu_ms_per_frame_median": round(statistics.median(v["cpu_ms_per_frame"] for v in values), 1),
                        "output_bytes": values[0]["bytes"], "streams": values[0]["streams"],
                        **({"psnr_db_vs_source": values[0]["psnr_db"]} if "psnr_db" in values[0] else {}),
                        "frames": values[0]["frames"]}
    print(f"{args.seconds:g} s 1280x720 {FPS} fps clip with AAC sound ({source_bytes} bytes), "
          f"{args.rounds} rounds, medians:")
    print(f"{'work/path':<14} {'frames/s':>9} {'CPU ms/frame':>13} {'output bytes':>13}  streams")
    for key, row in summary.items():
        quality = f"  PSNR {row['psnr_db_vs_source']} dB" if "psnr_db_vs_source" in row else ""
        print(f"{key:<14} {row['fps_median']:>9.2f} {row['cpu_ms_per_frame_median']:>13.1f} {row['output_bytes']:>13}  "
              f"{row['streams']}{quality}")
    result = {
        "clip": {"size": list(SIZE), "fps": FPS, "seconds": args.seconds, "audio": "aac 48 kHz stereo",
                 "source_bytes": source_bytes},
        "rounds": args.rounds, "effect": "blur (fast, temporal, CPU)", "results": summary,
        "old": "cv2.VideoCapture + cv2.VideoWriter mp4v (MPEG-4 Part 2), no audio",
        "new": "PyAV: libopenh264 H.264 yuv420p MP4 +faststart, AAC copied",
        "load_average": [round(x, 1) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "av": av.__version__, "opencv": cv2.__version__},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
