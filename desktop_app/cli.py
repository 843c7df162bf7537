"""Command line: `gui` (the default), `process`, `models`, `self-test` and `bench`.

Exit codes for `process`: 0 every input succeeded, 1 some failed (one line each, the batch goes on),
2 usage errors (unknown effect, missing background file, nothing to process).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from desktop_app import APP_NAME, __version__
from desktop_app.core.params import EFFECTS, EffectParams

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in the command line: reported with exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locallens", description=f"{APP_NAME} {__version__}: on-device background effects. "
        "Nothing leaves this computer.",
        epilog="With no command the window opens: locallens [--camera FILE] [--quit-after N] "
        "[--device auto|cpu|gpu]. --camera plays a video or image file as the camera.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("--camera", type=Path, help="play a video or image file as the camera")
    gui.add_argument("--quit-after", type=int, metavar="N", help="exit 0 after N processed frames")
    _device_arg(gui)

    proc = sub.add_parser("process", help="apply an effect to images, folders or videos")
    proc.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    proc.add_argument("--effect", choices=[e for e in EFFECTS if e != "none"], default="blur")
    proc.add_argument("--background", type=Path, metavar="IMG", help="background image for replace")
    proc.add_argument("--strength", type=int, default=50, metavar="N", help="blur strength 1-100")
    proc.add_argument("--color", metavar="RRGGBB", help="remove: solid colour instead of transparency")
    proc.add_argument("--out", type=Path, default=Path("locallens-output"), metavar="DIR")
    proc.add_argument("--format", choices=("png", "jpg", "webp"), default="png")
    proc.add_argument("--model", default="auto",
                      help="bundled model id (see `models`), or auto: landscape for wide images, else general")
    _device_arg(proc)

    sub.add_parser("models", help="list the bundled models and execution providers")
    test = sub.add_parser("self-test", help="check every bundled model and effect on the sample")
    _device_arg(test)
    bench = sub.add_parser("bench", help="measure per-stage speed on this machine")
    bench.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    bench.add_argument("--frames", type=int, default=200, help="frames per measurement (median)")
    _device_arg(bench)
    return parser


def _device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="where the model runs (auto: GPU if one works, else CPU)")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help", "--version")):
        args_list.insert(0, "gui")
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        if args.command == "process":
            return run_process(args)
        if args.command == "models":
            return run_models()
        if args.command == "self-test":
            from desktop_app.selftest import run_self_test

            return run_self_test(args.device)
        if args.command == "bench":
            from desktop_app.benchmark import run_benchmark

            return run_benchmark(args.frames, args.json, args.device)
        return run_gui(args)
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {exc}\n")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def run_gui(args: argparse.Namespace) -> int:
    try:
        import onnxruntime  # noqa: F401  # before PySide6: DLL search order on Windows

        from desktop_app.ui.app import run_app
    except ImportError:
        build_parser().print_help()
        print("\nThe window is not available in this build; use the commands above.", file=sys.stderr)
        return EXIT_OK
    return run_app(camera=args.camera, quit_after=args.quit_after, device=args.device)


def parse_color(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    value = text.lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise UsageError(f"--color wants RRGGBB hex, like 00b140, not {text!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def params_from_args(args: argparse.Namespace) -> EffectParams:
    if args.effect == "replace":
        if args.background is None:
            raise UsageError("--effect replace needs --background IMG")
        if not args.background.is_file():
            raise UsageError(f"background image not found: {args.background}")
    params = EffectParams(effect=args.effect, strength=args.strength, background=args.background,
                          color=parse_color(args.color), smoothing=0.0)
    try:
        params.validate()
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return params


def run_process(args: argparse.Namespace) -> int:
    from desktop_app.core.batch import Batch, plan
    from desktop_app.core.pipeline import Pipeline

    params = params_from_args(args)
    jobs, failures = plan(args.paths, args.out)
    if not jobs and not failures:
        raise UsageError("nothing to process: no images or videos in " + ", ".join(map(str, args.paths)))
    if params.effect == "replace":
        from desktop_app.core.imageio import ImageReadError, read_image

        try:
            read_image(params.background)
        except ImageReadError as exc:
            raise UsageError(f"background image cannot be used: {exc}") from exc
    segmenter = _segmenter_or_exit(args.model, args.device)
    if segmenter is None:
        return EXIT_FAILED
    pipeline = Pipeline(segmenter, params, temporal=True)
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    started = time.perf_counter()
    report = Batch(pipeline, params, args.format, progress=bar.update if bar else None).run(jobs)
    if bar:
        bar.finish()
    report.outcomes[:0] = failures
    for outcome in report.failed:
        print(f"error: {outcome.error}", file=sys.stderr)
    for outcome in report.succeeded:
        for note in outcome.notes:
            print(f"note: {outcome.source.name}: {note}", file=sys.stderr)
    total = len(report.outcomes)
    print(f"{len(report.succeeded)} of {total} inputs processed ({params.effect}, "
          f"{segmenter.provider.removesuffix('ExecutionProvider')}) in {time.perf_counter() - started:.1f} s; "
          f"{len(report.failed)} failed. Outputs: {args.out}")
    if segmenter.fallback_reason:
        print(f"note: {segmenter.fallback_reason}", file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def _segmenter_or_exit(model_id: str, device: str):  # type: ignore[no-untyped-def]
    from desktop_app.core.segmenter import Segmenter

    try:
        return Segmenter(model_id, device=device)
    except Exception as exc:  # a tampered model, an unknown id: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return None


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


class ProgressBar:
    """A one-line progress bar for terminals (never written when output is piped)."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.stream, self.started = stream, time.perf_counter()

    def update(self, done: int, total: int, current: Path) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        name = current.name[-40:]
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name:<40}")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
