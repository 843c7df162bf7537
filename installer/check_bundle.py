"""Checks of the built Linux folder (dist/LocalLens) that the frozen smoke runs: `python installer/check_bundle.py`.

1. Every GPL-named library (libx264, libx265...) in the folder is a code-free stub: small, marked, and without the
   encoders' banner strings ("x264 - core", "x265 (build"), and so is every other stubbed file.
2. Every auditwheel-renamed library (name-<8 hex>.so...) that an ELF file of the folder needs is in the folder.
3. The app's executable contains no pyvirtualcam module; locallens-vcam (when built) contains it.
4. PyAV as bundled (its stripped modules and the stubbed av.libs, with PyAV's Python sources from this venv) imports,
   encodes a clip with OpenH264 + AAC and reads it back, and the stubbed encoders fail cleanly instead of running.
5. With `--clip OUT.mp4 --source IN.mp4`: OUT has an h264 video stream and an audio stream whose durations match
   IN's (within 0.25 s); the `process` output of the frozen app.
Prints one line per check; exits 1 on the first failure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import stub_libs  # noqa: E402

W21_PENDING = re.compile(r"cv2\.VideoWriter\(")  # the old mp4v writer in desktop_app/core/videoio.py
GPL_BANNERS = (b"x264 - core", b"x265 (build", b"H.265/HEVC codec", b"H.264/MPEG-4 AVC codec")
RENAMED = re.compile(r"-[0-9a-f]{8}\.so")


def fail(message: str) -> None:
    print(f"check_bundle: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def check_stubs(folder: Path) -> None:
    gpl = re.compile(r"(lib)?(x264|x265|xvidcore|postproc|fdk-aac)[-.\w]*\.(so|dll|dylib)", re.I)
    files = sorted({p.resolve() for p in folder.rglob("*") if p.is_file()})  # symlinked folders count once
    stubs = [p for p in files if stub_libs.is_stub(p)]
    named = [p for p in files if gpl.fullmatch(p.name.split(".so")[0] + ".so")]
    for path in named:
        if path not in stubs:
            fail(f"{path} is a GPL library, not a stub")
    for path in stubs:
        data = path.read_bytes()
        if any(b in data for b in GPL_BANNERS) or len(data) > stub_libs.MAX_STUB_BYTES:
            fail(f"{path} carries code of the original library")
    if not named:
        fail("no libx264/libx265 stub found: did the spec's stub step run?")
    print(f"check_bundle: {len(stubs)} stubs, none with encoder code: "
          + ", ".join(f"{p.name} {p.stat().st_size} B" for p in sorted(stubs)))


def check_needed(folder: Path) -> None:
    present = {p.name for p in folder.rglob("*")}
    for path in elf_files(folder):
        for lib in stub_libs.needed(path):
            if RENAMED.search(lib) and lib not in present:
                fail(f"{path.relative_to(folder)} needs {lib}, which is not in the folder")
    print("check_bundle: every bundled library's renamed dependencies are present")


def _modules(exe: Path) -> set[str]:
    from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader

    carchive = CArchiveReader(str(exe))
    names: set[str] = set()
    for name in carchive.toc:
        if name.endswith(".pyz") or name == "PYZ-00.pyz" or carchive.toc[name][-1] == "z":
            pyz = carchive.open_embedded_archive(name)
            if isinstance(pyz, ZlibArchiveReader):
                names |= set(pyz.toc)
    return names


def check_programs(folder: Path) -> None:
    app = _modules(folder / "LocalLens")
    if any(m == "pyvirtualcam" or m.startswith("pyvirtualcam.") for m in app):
        fail("the LocalLens executable contains pyvirtualcam (GPL-2.0): it belongs in locallens-vcam only")
    if "av" not in app:
        fail("the LocalLens executable has no PyAV")
    helper = folder / "locallens-vcam"
    if (ROOT / "desktop_app" / "vcam_helper" / "__main__.py").is_file():
        if not helper.is_file():
            fail("locallens-vcam was not built")
        mods = _modules(helper)
        if "pyvirtualcam" not in mods or any(m.startswith(("desktop_app.core", "PySide6", "cv2", "av")) for m in mods):
            fail(f"locallens-vcam's modules are wrong: {sorted(m for m in mods if '.' not in m)}")
        print(f"check_bundle: LocalLens has no pyvirtualcam ({len(app)} modules); locallens-vcam has it")
    else:
        print("check_bundle: LocalLens has no pyvirtualcam; locallens-vcam PENDING (desktop_app/vcam_helper missing)")


AV_PROBE = r"""
import io, sys, av, numpy as np
assert av.__file__.startswith(sys.argv[1]), av.__file__
buf = io.BytesIO()
with av.open(buf, "w", format="mp4") as out:
    v = out.add_stream("libopenh264", rate=25); v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    a = out.add_stream("aac", rate=48000)
    for i in range(25):
        for p in v.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 9, np.uint8), format="rgb24")):
            out.mux(p)
    for p in v.encode():
        out.mux(p)
    samples = np.zeros((1, 1024), np.float32)
    for i in range(47):
        f = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono"); f.sample_rate = 48000; f.pts = i * 1024
        for p in a.encode(f):
            out.mux(p)
    for p in a.encode():
        out.mux(p)
buf.seek(0)
with av.open(buf) as inp:
    kinds = sorted((s.type, s.codec_context.name) for s in inp.streams)
    frames = sum(1 for _ in inp.decode(video=0))
assert kinds == [("audio", "aac"), ("video", "h264")] and frames == 25, (kinds, frames)
for name in ("libx264", "libx265", "libaom-av1", "libsvtav1", "libvorbis", "libmp3lame", "libwebp"):
    try:
        with av.open(io.BytesIO(), "w", format="matroska") as out:
            s = out.add_stream(name, rate=48000 if name in ("libvorbis", "libmp3lame") else 25)
            if s.type == "video":
                s.width, s.height, s.pix_fmt = 64, 48, "yuv420p" if name != "libwebp" else "yuv420p"
                list(s.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")))
            else:
                f = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.float32), format="fltp", layout="mono")
                f.sample_rate = 48000
                list(s.encode(f))
    except (av.error.FFmpegError, ValueError, MemoryError) as exc:
        continue
    raise SystemExit(f"{name} encoded a frame: it is not a stub")
print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}: OpenH264+AAC clip of {frames} frames; "
      "libx264/libx265/libaom/SVT-AV1/libvorbis/LAME/WebP refuse to open")
"""


def check_av(folder: Path) -> None:
    import av

    internal = folder / "_internal"
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / "av"
        shutil.copytree(Path(av.__file__).parent, pkg, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        for so in (internal / "av").rglob("*.so"):
            dest = pkg / so.relative_to(internal / "av")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(so, dest)
        os.symlink(internal / "av.libs", Path(tmp) / "av.libs")
        env = dict(os.environ, PYTHONPATH=tmp, PYTHONNOUSERSITE="1")
        done = subprocess.run([sys.executable, "-c", AV_PROBE, tmp], env=env, capture_output=True,
                              text=True, cwd=tmp)
    if done.returncode != 0:
        fail(f"bundled PyAV: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    print(f"check_bundle: bundled {done.stdout.strip()}")


def check_clip(clip: Path, source: Path) -> None:
    import av

    def streams(path: Path) -> dict[str, tuple[str, float]]:
        with av.open(str(path)) as container:
            found = {}
            for s in container.streams:
                if s.type in ("video", "audio") and s.type not in found:
                    duration = float(s.duration * s.time_base) if s.duration else float(container.duration or 0) / 1e6
                    found[s.type] = (s.codec_context.name, duration)
            return found

    got, want = streams(clip), streams(source)
    if "audio" not in want:
        fail(f"{source.name} has no audio stream")
    if W21_PENDING.search((ROOT / "desktop_app" / "core" / "videoio.py").read_text(encoding="utf-8")):
        # PENDING: until W21's H.264 + audio writer is merged, desktop_app writes MPEG-4 Part 2 without sound with
        # cv2.VideoWriter. Then this check is strict by itself (no switch to flip).
        print(f"check_bundle: PENDING (W21): {clip.name} is {got}: videoio.py still writes with cv2.VideoWriter")
        return
    if got.get("video", ("",))[0] != "h264":
        fail(f"{clip.name}: video stream is {got.get('video')}, not h264 (pending W21's H.264 output?)")
    if "audio" not in got:
        fail(f"{clip.name} has no audio stream (the source's sound was dropped)")
    for kind in ("video", "audio"):
        if abs(got[kind][1] - want["video"][1]) > 0.25:
            fail(f"{clip.name}: {kind} lasts {got[kind][1]:.2f} s, the source {want['video'][1]:.2f} s")
    print(f"check_bundle: {clip.name}: {got}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--folder", type=Path, default=ROOT / "dist" / "LocalLens")
    parser.add_argument("--clip", type=Path, help="the frozen `process` output to check")
    parser.add_argument("--source", type=Path, help="the clip it was made from")
    args = parser.parse_args(argv)
    if args.clip:
        check_clip(args.clip, args.source)
        return 0
    check_stubs(args.folder)
    check_needed(args.folder)
    check_programs(args.folder)
    check_av(args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
