"""`locallens live --virtual-camera`: the live effect for call apps without a window, until Ctrl+C.

The camera (or `--camera FILE`, a video or image played as one) goes through a LiveSession with the chosen
effect into the virtual camera. One status line says where the picture goes; a notice (a failing camera or
backend) is printed as it comes. Exit codes: 0 after Ctrl+C, 1 when the virtual camera cannot start or stops
(the reason is printed), 2 usage errors, 143 after SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop_app.core.sinks import FrameSink

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TERMINATED = 0, 1, 2, 143
FPS = 30.0  # the camera rate asked for; the session follows the source's own rate when it differs


def add_live_parser(sub: Any) -> None:
    """The `live` command on the CLI's subparsers (the effect options: `cli.add_effect_arguments`)."""
    from desktop_app.cli import add_effect_arguments

    live = sub.add_parser("live", help="run the live effect without a window (--virtual-camera: for call apps)")
    live.add_argument("--virtual-camera", action="store_true",
                      help="send the processed picture to the virtual camera (OBS / Unity Capture / v4l2loopback)")
    live.add_argument("--camera", type=Path, metavar="FILE", help="play a video or image file as the camera")
    live.add_argument("--camera-name", metavar="NAME", help="the camera to use (default: the first one)")
    live.add_argument("--resolution", default="1280x720", metavar="WxH", help="camera size (default 1280x720)")
    add_effect_arguments(live, live=True)
    live.add_argument("--quality", choices=("auto", "fast", "best"), default="auto",
                      help="auto (default): best while this computer keeps up with the camera, else fast; best holds "
                           "the edges steadier for about 15%% more CPU a frame; fast keeps 30 fps on slower machines")
    live.add_argument("--model", default="auto", help="bundled model id (see `models`)")
    live.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                      help="where the model runs (auto: GPU if one works, else CPU)")


def parse_resolution(text: str) -> tuple[int, int]:
    from desktop_app.cli import UsageError

    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 16 or int(height) < 16:
        raise UsageError(f"--resolution {text!r}: expected WIDTHxHEIGHT, e.g. 1280x720")
    return int(width), int(height)


def run_live(args: argparse.Namespace) -> int:
    """Run until Ctrl+C (0), SIGTERM (143) or the virtual camera stopping (1)."""
    from desktop_app.cli import Terminated, UsageError, _open_log, check_model_id
    from desktop_app.cli_models import segmenter_or_exit
    from desktop_app.core.batch import printable
    from desktop_app.core.notify import notifier, remove_file_log

    if not args.virtual_camera:
        raise UsageError("live needs an output: --virtual-camera (the window is `locallens gui`)")
    if args.camera is not None and not args.camera.exists():
        raise UsageError(f"--camera {args.camera}: no such file")
    size = parse_resolution(args.resolution)
    params = _params(args)
    check_model_id(args.model)
    handler, log_path = _open_log()
    unsubscribe = notifier.subscribe(lambda n: print(printable(f"{n.severity.value}: {n.message}"), file=sys.stderr))
    try:
        segmenter = segmenter_or_exit(args.model, args.device, log_path, params=params, live=True)
        if segmenter is None:
            return EXIT_FAILED
        try:
            return _run(args, params, segmenter, size)
        except Terminated:
            return EXIT_TERMINATED
    finally:
        unsubscribe()
        remove_file_log(handler)


def _params(args: argparse.Namespace) -> Any:
    from desktop_app.cli import params_from_args

    live_quality = getattr(args, "quality", "auto")
    args.quality = "fast"  # the photos' setting: live frames take the per-frame path
    return params_from_args(args).with_(live_quality=live_quality)


def _run(args: argparse.Namespace, params: Any, segmenter: Any, size: tuple[int, int]) -> int:
    from desktop_app.core.batch import printable
    from desktop_app.core.live import LiveSession
    from desktop_app.core.sinks import SinkError
    from desktop_app.core.virtualcam import VirtualCamera

    cam = VirtualCamera.from_environment()
    try:
        cam.open(size, FPS)  # before the session: a missing driver is said at once, before the camera light
    except SinkError as exc:
        print(printable(f"error: {exc}"), file=sys.stderr)
        return EXIT_FAILED
    session = LiveSession(_source_factory(args, size), params, demo_factory=None, fps=FPS)
    stopped = threading.Event()

    def on_removed(sink: FrameSink) -> None:
        if sink is cam:
            stopped.set()

    session.events.sink_removed.connect(on_removed)
    session.set_segmenter(segmenter)
    session.add_sink(cam)
    session.start()
    try:  # from start() on: whatever ends the run (Ctrl+C even before the loop), the session's threads are joined
        source = args.camera.name if args.camera else (args.camera_name or "the first camera")
        faces = f" + faces {params.faces}" if params.faces else ""
        print(printable(f"Virtual camera on: {cam.opened_device} ({cam.opened_backend}), {size[0]}x{size[1]} at "
                        f"{FPS:g} fps, {params.effect}{faces} on {source}. Pick it in your call app; Ctrl+C stops."),
              flush=True)
        while not stopped.wait(0.5):  # a short wait keeps Ctrl+C responsive everywhere
            pass
    except KeyboardInterrupt as exc:
        from desktop_app.cli import Terminated

        if isinstance(exc, Terminated):
            raise
        return EXIT_OK
    finally:
        session.stop()
        session.remove_sink(cam)
    print(printable(f"error: Virtual camera stopped: {cam.failure or 'unknown reason.'}"), file=sys.stderr)
    return EXIT_FAILED


def _source_factory(args: argparse.Namespace, size: tuple[int, int]) -> Any:
    from desktop_app.core.sources import camera_factory, open_fake_camera

    if args.camera is not None:
        path = args.camera
        return lambda: open_fake_camera(path, size=size)
    return camera_factory(args.camera_name, size)
