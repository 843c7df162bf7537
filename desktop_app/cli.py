"""Command line: `gui` (the default), `process`, `live` (cli_live.py), `models`, `self-test` and `bench`.

Exit codes for `process`: 0 every input succeeded, 1 some failed (one line each, the batch goes on),
2 usage errors (unknown effect or model, missing background file, nothing to process); 130 after Ctrl+C and
143 after SIGTERM (unfinished outputs are removed either way). Failures are logged, with tracebacks for
unexpected ones, to `locallens.log` in the app's data folder.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from desktop_app import APP_NAME, __version__, paths
from desktop_app.cli_live import add_live_parser, run_live
from desktop_app.cli_models import segmenter_or_exit
from desktop_app.core import memory
from desktop_app.core.params import QUALITIES, EffectParams
from desktop_app.core.progress import ProgressBar

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT, 128 + SIGTERM
LOG_NAME = "locallens.log"
_BACKGROUND_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


class UsageError(Exception):
    """A mistake in the command line: reported with exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwinds like Ctrl+C, so every temp file is removed on the way out."""


def builtin_backgrounds() -> dict[str, Path]:
    """The bundled backgrounds by name (`bokeh` for assets/backgrounds/bokeh.jpg)."""
    folder = paths.assets_dir() / "backgrounds"
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _BACKGROUND_EXTENSIONS and p.is_file())
    except OSError:
        return {}
    return {p.stem.lower(): p for p in files}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locallens", description=f"{APP_NAME} {__version__}: on-device background effects. "
        "Nothing leaves this computer.",
        epilog="With no command the window opens: locallens [--camera FILE] [--quit-after N] "
        "[--virtual-camera] [--device auto|cpu|gpu]. --camera plays a video or image file as the camera.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("--camera", type=Path, help="play a video or image file as the camera")
    gui.add_argument("--quit-after", type=int, metavar="N", help="exit 0 after N processed frames")
    gui.add_argument("--virtual-camera", action="store_true", help="start with the virtual camera on")
    _device_arg(gui)

    proc = sub.add_parser("process", help="apply an effect to images, folders or videos")
    proc.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add_effect_arguments(proc, live=False)
    proc.add_argument("--out", type=Path, default=Path("locallens-output"), metavar="DIR",
                      help="output folder (default: locallens-output); outputs are never read back in as input")
    proc.add_argument("--format", choices=("png", "jpg", "webp", "webm"), default=None,
                      help="image outputs' format (default png); videos are H.264 MP4 with their sound unless "
                      "png is given (each video becomes a folder of lossless full-size PNG frames) or webm "
                      "(VP9 WebM: remove keeps the transparency; sound as Opus; images stay PNG)")
    proc.add_argument("--quality", choices=QUALITIES, default="best",
                      help="photos and videos: best (default; slower: photos' people looked at up close, and "
                      "the edge around every person decided by the picture's colours, hair included) or fast "
                      "(the per-frame path)")
    proc.add_argument("--model", default="auto",
                      help="bundled model id (see `models`), or auto: landscape for wide images, else general")
    proc.add_argument("--workers", type=_positive, default=None, metavar="N",
                      help="photos processed side by side, each worker with its own copy of the models "
                      "(default at quality best: one per CPU core, at most 4; at fast: 1, one after another)")
    _device_arg(proc)

    add_live_parser(sub)
    sub.add_parser("models", help="list the bundled models and execution providers")
    test = sub.add_parser("self-test", help="check every bundled model and effect on the sample")
    _device_arg(test)
    bench = sub.add_parser("bench", help="measure per-stage speed on this machine")
    bench.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    bench.add_argument("--frames", type=int, default=200, help="frames per measurement (median)")
    _device_arg(bench)
    return parser


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def _device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="where the model runs (auto: GPU if one works, else CPU)")


def main(argv: Sequence[str] | None = None) -> int:
    memory.configure_allocator()  # before any thread or frame exists: see desktop_app/core/memory.py
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help", "--version")):
        args_list.insert(0, "gui")
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command in (None, "gui"):
        return run_gui(args)  # Qt handles its own signals
    try:
        with _sigterm_unwinds():
            if args.command == "process":
                return run_process(args)
            if args.command == "models":
                return run_models()
            if args.command == "live":
                return run_live(args)
            if args.command == "self-test":
                from desktop_app.selftest import run_self_test

                return run_self_test(args.device)
            from desktop_app.benchmark import run_benchmark

            return run_benchmark(args.frames, args.json, args.device)
    except UsageError as exc:
        from desktop_app.core.batch import printable

        parser.exit(EXIT_USAGE, printable(f"{parser.prog}: error: {exc}") + "\n")
    except KeyboardInterrupt as exc:
        end_bar = "\n" if sys.stderr.isatty() else ""  # a progress bar may be mid-line
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"{end_bar}{what}: unfinished outputs were removed", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated in the main thread (once; a second one is ignored)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def on_term(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # cleanup must not be cut short by a second one
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_gui(args: argparse.Namespace) -> int:
    try:
        import onnxruntime  # noqa: F401  # before PySide6: DLL search order on Windows

        from desktop_app.ui.app import run_app
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in ("PySide6", "shiboken6"):
            build_parser().print_help()
            print(f"\nThe window is not available: {missing} is not installed; the commands above work "
                  "without it.", file=sys.stderr)
        else:  # a broken install, not a headless build: never a silent exit
            print(f"error: the window could not start: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return run_app(camera=args.camera, quit_after=args.quit_after, device=args.device,
                   virtual_camera=args.virtual_camera)


def parse_color(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    value = text.lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise UsageError(f"--color wants RRGGBB hex, like 00b140, not {text!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def resolve_background(text: str | None) -> Path:
    """An existing image file, else a built-in background by name (`bokeh`, `bokeh.jpg`); UsageError if neither."""
    builtin = builtin_backgrounds()
    names = ", ".join(builtin) or "none bundled"
    if text is None:
        raise UsageError(f"--effect replace needs --background IMG (a file, or a built-in one: {names})")
    path = Path(text)
    if path.is_file():
        return path
    by_name = builtin.get(Path(text).stem.lower()) if Path(text).name == text else None
    if by_name is not None:
        return by_name
    raise UsageError(f"background image not found: {text} (built-in backgrounds: {names})")


def check_model_id(model_id: str) -> None:
    """UsageError for an id the manifest does not list (`auto` is always known)."""
    from desktop_app.core.models import SEGMENTATION, load_manifest
    from desktop_app.core.segmenter import AUTO

    if model_id == AUTO:
        return
    # a broken manifest raises ManifestError: exit 1, not a usage error; detectors are not models to choose
    ids = [spec.id for spec in load_manifest().of_kind(SEGMENTATION)]
    if model_id not in ids:
        raise UsageError(f"unknown model {model_id!r}; known models: {', '.join([AUTO, *ids])}")


def add_effect_arguments(parser: argparse.ArgumentParser, live: bool) -> None:
    """`--effect` and each declared effect parameter's flag (`effects.registry`), for `process` and `live`."""
    from desktop_app.core.effects.registry import cli_arguments

    names = ", ".join(builtin_backgrounds()) or "none bundled"
    for flag, kwargs in cli_arguments(live=live, backgrounds=names):
        parser.add_argument(flag, **kwargs)


def params_from_args(args: argparse.Namespace) -> EffectParams:
    """The declared parameters' flags (the effects' and the faces stage's) as validated `EffectParams`; an image
    is resolved only for an effect that takes it, a colour parsed (RRGGBB)."""
    from desktop_app.core.effects.registry import declared_params, spec_for

    spec = spec_for(args.effect)
    if not spec.needs_model and getattr(args, "faces", None) is None:
        raise UsageError(f"--effect {args.effect} changes nothing by itself: add --faces blur|pixelate|box "
                         "(or choose another effect)")
    values: dict[str, object] = {"effect": args.effect, "quality": args.quality}
    for param in declared_params(stages=True):
        raw = getattr(args, param.field, None)
        if param.kind == "image":
            if spec.takes(param.field):
                values[param.field] = resolve_background(raw)
        elif param.kind == "color":
            values[param.field] = parse_color(raw)
        elif raw is not None:
            values[param.field] = raw
    params = EffectParams(**values)  # type: ignore[arg-type]
    try:
        params.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return params


def run_process(args: argparse.Namespace) -> int:
    from desktop_app.core.models import ManifestError

    params = params_from_args(args)
    try:
        check_model_id(args.model)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    handler, log_path = _open_log()
    try:
        return _process(args, params, log_path)
    finally:
        from desktop_app.core.notify import remove_file_log

        remove_file_log(handler)


def _open_log() -> tuple[logging.Handler | None, Path | None]:
    """Log to the app's log file (the GUI's too); (handler, path), or (None, None) if it cannot be opened."""
    from desktop_app.core.notify import setup_file_log
    from desktop_app.core.settings import data_dir

    path = data_dir() / LOG_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return setup_file_log(str(path)), path
    except OSError:
        return None, None


def output_formats(fmt: str | None) -> tuple[str, str]:
    """(images' format, videos' format) for `--format`: unset gives png and mp4; an explicit png makes each
    video a PNG sequence; jpg and webp are for images only (videos stay MP4, with a note); webm is for videos
    only (VP9 WebM, transparent for remove; images stay PNG)."""
    if fmt == "webm":
        return "png", "webm"
    return (fmt or "png"), ("png" if fmt == "png" else "mp4")


def _process(args: argparse.Namespace, params: EffectParams, log_path: Path | None) -> int:
    from desktop_app.core.batch import Batch, plan, printable
    from desktop_app.core.batch_pipeline import batch_pipeline, spares
    from desktop_app.core.batch_workers import default_workers
    from desktop_app.core.notify import log

    jobs, failures = plan(args.paths, args.out)
    if not jobs and not failures:
        raise UsageError("nothing to process: no images or videos in " + ", ".join(map(str, args.paths)))
    if params.background is not None:  # set only for an effect that takes an image (params_from_args)
        from desktop_app.core.imageio import ImageReadError, read_image

        try:
            read_image(params.background)
        except ImageReadError as exc:
            raise UsageError(f"background image cannot be used: {exc}") from exc
    segmenter = segmenter_or_exit(args.model, args.device, log_path, detector=params.quality == "best",
                                   params=params)
    if segmenter is None:
        return EXIT_FAILED
    bar = ProgressBar(sys.stderr)
    started = time.perf_counter()
    image_format, video_format = output_formats(args.format)
    workers = args.workers or default_workers(params.quality)
    batch = Batch(batch_pipeline(segmenter, params), params, image_format, progress=bar.update,
                  video_format=video_format, frame_progress=bar.frame, workers=workers,
                  spare=spares(segmenter, params))
    try:
        report = batch.run(jobs)
    finally:
        bar.finish()
    report.outcomes[:0] = failures
    for outcome in report.failed:
        log.warning("failed: %s", outcome.error)
        print(f"error: {printable(outcome.error or '')}", file=sys.stderr)
    for outcome in report.succeeded:
        if args.format in ("jpg", "webp") and outcome.output is not None and outcome.output.suffix == ".mp4":
            outcome.notes.append(f"--format {args.format} is for images: the video was saved as MP4 "
                                 "(--format png writes a PNG sequence)")
        for note in outcome.notes:
            if note.startswith("MP4 has no transparency"):
                note += " (--format webm keeps it)"
            print(printable(f"note: {outcome.source.name}: {note}"), file=sys.stderr)
    total = len(report.outcomes)
    faces = f" + faces {params.faces}" if params.faces else ""
    print(printable(f"{len(report.succeeded)} of {total} inputs processed ({params.effect}{faces}, "
                    f"{params.quality} quality for photos, {segmenter.provider.removesuffix('ExecutionProvider')}) in "
                    f"{time.perf_counter() - started:.1f} s; {len(report.failed)} failed. Outputs: {args.out}"))
    if segmenter.fallback_reason:
        print(f"note: {segmenter.fallback_reason}", file=sys.stderr)
    if report.failed and log_path is not None:
        print(f"note: details are in the log: {log_path}", file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def run_models() -> int:
    from desktop_app.core.engine import available_providers
    from desktop_app.core.models import ManifestError, describe

    try:
        rows = describe()
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    headers = list(rows[0].keys()) if rows else []
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("\nexecution providers available: " + ", ".join(available_providers()))
    bad = [r for r in rows if r.get("sha256") != "ok"]
    return EXIT_FAILED if bad else EXIT_OK
