"""Refresh assets/licenses/: the licence texts of everything the frozen app bundles, and index.json listing them.

Run from the repo root in the app's own venv (the packages it reads are the ones PyInstaller bundles):

    .venv/bin/python tools/collect_licenses.py

Texts come from the installed packages (dist-info licence files, onnxruntime's ThirdPartyNotices.txt, the Python
runtime's LICENSE.txt). Standard texts that a wheel names but does not ship (LGPL-3.0 and GPL-3.0 for Qt,
libheif and libde265) come from /usr/share/common-licenses (Debian/Ubuntu, package base-files); where that folder
is missing the copy already in assets/licenses/ is kept. Components for other platforms (Windows: onnxruntime-directml,
pygrabber) are listed under "not_collected" when their package is not installed here. Output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import sysconfig
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "licenses"
COMMON = Path("/usr/share/common-licenses")
MAX_TOTAL_BYTES = 1_000_000


@dataclass
class Component:
    id: str
    name: str
    license: str  # SPDX expression
    # "dist:<distribution>:<licence file name regex>", "pkg:<distribution>:<path>", "common:<name>", "python"
    sources: list[str]
    version_of: str | None = None  # distribution whose version is reported; None: `version` as given
    version: str = ""
    note: str = ""
    platform: str | None = None  # "win32": bundled only in Windows builds
    extra: dict[str, str] = field(default_factory=dict)
    program: str = "LocalLens"  # the executable that contains it; "locallens-vcam" for the GPL-2.0 helper


QT_NOTE = (
    "LocalLens uses Qt {version} through PySide6 {version} (the Qt for Python bindings, with Shiboken6) under the "
    "LGPL-3.0, as shared libraries, unmodified. In the installed app they are the PySide6 and shiboken6 folders "
    "inside the app's _internal folder (Linux and Windows: _internal/PySide6/, with the Qt libraries under "
    "_internal/PySide6/Qt/lib/ on Linux and as _internal/PySide6/Qt6*.dll on Windows; macOS: "
    "LocalLens.app/Contents/Frameworks/PySide6/Qt/lib/). You may replace them with your own build of the same "
    "version (modified or not): build Qt {version} and PySide6 {version} from their sources (Qt: qt.io; PySide6: "
    "the PySide6 source distribution on PyPI) and copy your libraries over the bundled ones with the same names. "
    "The licence texts below are the LGPL-3.0 and the GPL-3.0 it builds on."
)

# Standard text for the libraries of PyAV's wheel that ship (dav1d, libvpx, Opus, Speex: BSD; libdrm: MIT).
AV_LIB_TEXTS = ["common:BSD"]
# (file name prefix in av.libs, project, SPDX as used here). libx264/libx265/libaom/libSvtAv1Enc are stubbed.
AV_LIBS: list[tuple[str, str, str]] = [
    ("libdav1d", "dav1d", "BSD-2-Clause"), ("libvpx", "libvpx", "BSD-3-Clause"), ("libopus", "Opus", "BSD-3-Clause"),
    ("libvorbis", "libvorbis", "BSD-3-Clause"), ("libvorbisenc", "libvorbisenc", "BSD-3-Clause"),
    ("libogg", "libogg", "BSD-3-Clause"), ("libspeex", "Speex", "BSD-3-Clause"),
    ("libwebp", "libwebp", "BSD-3-Clause"), ("libwebpmux", "libwebpmux", "BSD-3-Clause"),
    ("libsharpyuv", "libsharpyuv", "BSD-3-Clause"), ("libmp3lame", "LAME", "LGPL-2.0-or-later"),
    ("libopencore-amrnb", "opencore-amr (nb)", "Apache-2.0"), ("libopencore-amrwb", "opencore-amr (wb)", "Apache-2.0"),
    ("libvpl", "oneVPL dispatcher", "MIT"), ("libdrm", "libdrm", "MIT"), ("libxcb", "libxcb", "MIT"),
    ("libxcb-shape", "libxcb-shape", "MIT"), ("libxcb-shm", "libxcb-shm", "MIT"),
    ("libxcb-xfixes", "libxcb-xfixes", "MIT"), ("libXau", "libXau", "MIT"), ("libasound", "ALSA", "LGPL-2.1-or-later"),
    ("libgnutls", "GnuTLS", "LGPL-2.1-or-later"), ("libnettle", "Nettle", "LGPL-3.0-or-later"),
    ("libhogweed", "Nettle (hogweed)", "LGPL-3.0-or-later"), ("libgmp", "GMP", "LGPL-3.0-or-later"),
    ("libunistring", "libunistring", "LGPL-3.0-or-later"),
]
AV_STUBBED = (
    "libx264", "libx265", "libaom", "libSvtAv1Enc", "libvorbis", "libvorbisenc", "libogg", "libmp3lame", "libwebp",
    "libwebpmux", "libsharpyuv", "libopencore-amrnb", "libopencore-amrwb", "libgnutls", "libnettle", "libhogweed",
    "libgmp", "libunistring", "libavdevice", "libvpl", "libasound", "libxcb", "libxcb-shape", "libxcb-shm",
    "libxcb-xfixes", "libXau",
)

COMPONENTS: list[Component] = [
    Component("locallens", "LocalLens", "Apache-2.0", ["common:Apache-2.0"], version_of="locallens",
              note="LocalLens itself."),
    Component("python", "Python", "PSF-2.0", ["python"],
              version=".".join(str(n) for n in sys.version_info[:3]),
              note="The Python runtime and standard library, frozen into the app by PyInstaller."),
    Component("pyside6", "Qt / PySide6 / Shiboken6", "LGPL-3.0-only", ["common:LGPL-3", "common:GPL-3"],
              version_of="pyside6-essentials", note=QT_NOTE),
    Component("onnxruntime", "ONNX Runtime", "MIT",
              ["pkg:onnxruntime:onnxruntime/LICENSE", "pkg:onnxruntime:onnxruntime/ThirdPartyNotices.txt"],
              version_of="onnxruntime", note="Runs the segmentation models. ThirdPartyNotices.txt lists the "
              "libraries compiled into it."),
    Component("onnxruntime-directml", "ONNX Runtime (DirectML build) and DirectML.dll", "MIT",
              ["pkg:onnxruntime-directml:onnxruntime/LICENSE",
               "pkg:onnxruntime-directml:onnxruntime/ThirdPartyNotices.txt"],
              version_of="onnxruntime-directml", platform="win32",
              note="Windows builds use the DirectML build of ONNX Runtime, which ships Microsoft's DirectML.dll."),
    Component("opencv", "OpenCV (opencv-python-headless)", "Apache-2.0 AND MIT",
              ["dist:opencv-python-headless:LICENSE\\.txt", "dist:opencv-python-headless:LICENSE-3RD-PARTY\\.txt"],
              version_of="opencv-python-headless",
              note="Video and camera input/output, resizing. OpenCV is Apache-2.0; the opencv-python packaging is "
              "MIT. The wheel's LICENSE-3RD-PARTY.txt covers the libraries it bundles (FFmpeg, listed separately, "
              "libvpx, aom, libavif, libpng, OpenSSL...). The Linux wheel also bundles OpenBLAS with the GCC "
              "runtime (libgfortran, libquadmath), whose licence texts are in NumPy's entry, and libdrm (MIT)."),
    Component("ffmpeg", "FFmpeg (bundled in OpenCV)", "LGPL-2.1-or-later",
              ["dist:opencv-python-headless:LICENSE\\.txt", "dist:opencv-python-headless:LICENSE-3RD-PARTY\\.txt"],
              note="opencv-python-headless bundles FFmpeg's shared libraries{ffmpeg}, built under the LGPL (see "
              "\"FFmpeg is redistributed within all opencv-python packages\" in the text); they are loaded "
              "unmodified from the app's opencv_python_headless.libs folder (Linux) or cv2 folder and can be "
              "replaced by your own build of the same versions. Sources: ffmpeg.org and the opencv-python "
              "project. Once LocalLens reads and writes every video file with PyAV, the build replaces these "
              "libraries by code-free stubs (tools/stub_libs.py) and they no longer ship."),
    Component("numpy", "NumPy", "BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", ["dist:numpy:.*"],
              version_of="numpy", note="Arrays. LICENSE.txt includes the bundled OpenBLAS and GCC runtime licences."),
    Component("pillow", "Pillow", "MIT-CMU", ["dist:pillow:LICENSE"], version_of="pillow",
              note="Image files. The licence file includes those of the libraries the wheel bundles (libjpeg, "
              "libwebp, libtiff, libpng, zlib, FreeType, HarfBuzz, Little CMS, OpenJPEG, zstd, brotli, xz...)."),
    Component("pi-heif", "pi-heif", "BSD-3-Clause", ["dist:pi-heif:LICENSE\\.txt",
                                                     "dist:pi-heif:LICENSES_bundled\\.txt"],
              version_of="pi-heif",
              note="Reads HEIC/HEIF photos (it has no encoder). Its source code is BSD-3-Clause; its binary wheels, "
              "as bundled here, are LGPL-3.0 as a whole because they include libheif and libde265 (see "
              "LICENSES_bundled.txt in the text; the versions it names are older than the libraries the wheel "
              "actually ships, listed in their own entries). Source: github.com/bigcat88/pillow_heif."),
    Component("libheif", "libheif (bundled in pi-heif)", "LGPL-3.0-or-later", ["common:LGPL-3", "common:GPL-3"],
              note="HEIF container reader. A shared library, unmodified, loaded from the app's pi_heif.libs folder "
              "(inside _internal); you may replace it with your own build of the same version ({version}), modified "
              "or not, by copying it over the bundled file with the same name. "
              "Source: github.com/strukturag/libheif (tag v{version})."),
    Component("libde265", "libde265 (bundled in pi-heif)", "LGPL-3.0-or-later", ["common:LGPL-3", "common:GPL-3"],
              note="HEVC decoder used by libheif. A shared library, unmodified, loaded from the app's pi_heif.libs "
              "folder (inside _internal); you may replace it with your own build of the same version ({version}), "
              "modified or not, by copying it over the bundled file with the same name. "
              "Source: github.com/strukturag/libde265 (tag v{version})."),
    Component("platformdirs", "platformdirs", "MIT", ["dist:platformdirs:LICENSE"], version_of="platformdirs",
              note="Finds the settings and log folders."),
    Component("av", "PyAV", "BSD-3-Clause", ["dist:av:LICENSE\\.txt", "dist:av:AUTHORS\\.rst"], version_of="av",
              note="Reads and writes video files with their sound (Python bindings to FFmpeg, listed next). "
              "Source: github.com/PyAV-Org/PyAV (tag v{version})."),
    Component("ffmpeg-av", "FFmpeg (bundled in PyAV)", "LGPL-3.0-or-later", ["common:LGPL-3", "common:GPL-3"],
              note="FFmpeg {av_ffmpeg} as PyAV's wheel ships it{av_ffmpeg_libs}, built with --enable-version3, so "
              "these libraries are under the LGPL-3.0-or-later (libavcodec reports \"LGPL version 3 or later\"). "
              "They are unmodified shared libraries in the app's _internal/av.libs folder; you may replace each "
              "with your own build of FFmpeg {av_ffmpeg}, modified or not, by copying it over the file with the same "
              "name. The wheel also names libx264 and libx265 (GPL-2.0): they are NOT shipped; code-free stand-ins "
              "of the same name take their place (tools/stub_libs.py), so the H.264 encoder is OpenH264. The AV1 "
              "encoders libaom and SVT-AV1 are replaced the same way (never used). Source: ffmpeg.org (release "
              "{av_ffmpeg}) and github.com/PyAV-Org/pyav-ffmpeg (the build scripts of PyAV's wheels)."),
    Component("openh264", "OpenH264 (bundled in PyAV)", "BSD-2-Clause", AV_LIB_TEXTS,
              note="Cisco's H.264 encoder and decoder {openh264}, the only H.264 encoder in the app "
              "(_internal/av.libs). Source: github.com/cisco/openh264 (tag v{openh264}). H.264 is covered by "
              "patents: Cisco pays the MPEG LA licence only for the binaries Cisco itself distributes from "
              "ciscobinary.openh264.org. This copy comes from PyAV's wheel, not from Cisco, so that patent licence "
              "does NOT cover it; see docs/licensing.md (a release decision)."),
    Component("av-libs", "Other libraries bundled in PyAV", "BSD-2-Clause AND BSD-3-Clause AND MIT", AV_LIB_TEXTS,
              note="Shared libraries PyAV's wheel ships in _internal/av.libs, unmodified: {av_libs}. The others in "
              "the wheel (x264, x265, libaom, SVT-AV1, libvorbis, LAME, WebP, opencore-amr, GnuTLS with nettle, "
              "hogweed, GMP and libunistring, libavdevice with ALSA and xcb, oneVPL) are replaced by code-free stubs "
              "and not shipped. The texts below are the standard licences; the projects' own copyright lines are a "
              "release TODO (docs/licensing.md)."),
    Component("pyvirtualcam", "pyvirtualcam", "GPL-2.0-only", ["dist:pyvirtualcam:LICENSE"],
              version_of="pyvirtualcam", program="locallens-vcam",
              note="The virtual camera (OBS Virtual Camera / Unity Capture on Windows, OBS on macOS, v4l2loopback on "
              "Linux). GPL-2.0 (it carries OBS code), so it lives only in the separate helper program "
              "locallens-vcam next to the app, which talks to LocalLens through a pipe (two programs, not one "
              "combined work). locallens-vcam as a whole is conveyed under the GPL-2.0: our helper code is "
              "Apache-2.0 OR GPL-2.0-or-later. Source: pyvirtualcam has no source package on PyPI; its source is "
              "github.com/letmaik/pyvirtualcam, tag v{version}, and the helper's source is desktop_app/vcam_helper "
              "in LocalLens's source archive. Written offer: for three years after we distribute this version, "
              "anyone may ask the LocalLens maintainers for the complete corresponding source code of "
              "locallens-vcam (pyvirtualcam v{version}, the helper, and the build scripts) on a physical medium for "
              "no more than the cost of copying it; each release should carry that source archive."),
    Component("pygrabber", "pygrabber", "MIT", ["dist:pygrabber:LICENSE.*"], version_of="pygrabber",
              platform="win32", note="Windows builds: camera names from DirectShow."),
]


class Missing(Exception):
    """A source this machine does not have."""


def _dist(name: str) -> metadata.Distribution:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise Missing(f"{name} is not installed") from None


def _read_source(spec: str, previous: dict[str, str]) -> tuple[str, str]:
    """(title, text) for one source spec."""
    kind, _, rest = spec.partition(":")
    if kind == "python":
        path = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
        if not path.is_file():
            raise Missing(f"{path} not found")
        return "Python LICENSE.txt", path.read_text(encoding="utf-8")
    if kind == "common":
        path = COMMON / rest
        if path.is_file():
            return rest, path.read_text(encoding="utf-8")
        if spec in previous:
            return rest, previous[spec]
        raise Missing(f"{path} not found and no earlier copy")
    dist_name, _, pattern = rest.partition(":")
    dist = _dist(dist_name)
    if kind == "pkg":
        path = Path(str(dist.locate_file(pattern)))
        if not path.is_file():
            raise Missing(f"{pattern} not in {dist_name}")
        return f"{dist_name}: {pattern}", path.read_text(encoding="utf-8")
    if kind == "dist":
        found = []
        for file in dist.files or []:
            parts = file.parts
            if ".dist-info" not in parts[0] or not re.fullmatch(pattern, file.name) or file.name in (
                    "RECORD", "WHEEL", "METADATA", "INSTALLER", "REQUESTED", "top_level.txt", "direct_url.json",
                    "entry_points.txt", "zip-safe") or "sboms" in parts:
                continue
            found.append(file)
        if not found:
            raise Missing(f"no licence file matching {pattern!r} in {dist_name}")
        found.sort(key=lambda f: (len(f.parts), str(f)))  # the top-level LICENSE first
        texts = [f"----- {'/'.join(f.parts[1:])} -----\n{f.read_text(encoding='utf-8')}" for f in found]
        return f"{dist_name}: " + ", ".join(f.name for f in found[:3]) + (" ..." if len(found) > 3 else ""), \
            "\n".join(texts)
    raise ValueError(f"unknown source {spec!r}")


def _heif_versions() -> dict[str, str]:
    """libheif and libde265 versions as the libraries inside pi-heif report them (LICENSES_bundled.txt is stale)."""
    try:
        _dist("pi-heif")
        import pi_heif
    except (Missing, ImportError):
        return {}
    info = pi_heif.libheif_info()
    found = {"libheif": str(info.get("libheif", ""))}
    for text in (info.get("decoders") or {}).values():
        if match := re.search(r"libde265\b.*?(\d+\.\d+(?:\.\d+)?)", str(text)):
            found["libde265"] = match[1]
    return {k: v for k, v in found.items() if v}


def _bundled_versions() -> dict[str, str]:
    """Versions of libraries inside wheels: libheif/libde265 from pi-heif, FFmpeg's from OpenCV's file names."""
    found = _heif_versions()
    try:
        cv = _dist("opencv-python-headless")
        names = "avcodec|avformat|avutil|avdevice|avfilter|swscale|swresample"
        ffmpeg = re.compile(rf"lib({names})-[0-9a-f]+\.so\.([\d.]+)")
        libs = sorted({m.group(1, 2) for f in cv.files or [] if (m := ffmpeg.fullmatch(f.name))})
        if libs:
            found["ffmpeg_libs"] = " (" + ", ".join(f"lib{n} {v}" for n, v in libs) + ")"
            found["ffmpeg"] = next((f"libavcodec {v}" for n, v in libs if n == "avcodec"), "")
    except Missing:
        pass
    try:
        av = _dist("av")
        lib = re.compile(r"(lib[\w-]+?)-[0-9a-f]{8}\.so\.?([\d.]*)")
        shipped = {m[1]: m[2] for f in av.files or [] if f.parts[0] == "av.libs" and (m := lib.fullmatch(f.name))}
        ff = ("avcodec", "avformat", "avutil", "avfilter", "swscale", "swresample")  # avdevice: stubbed
        found["av_ffmpeg_libs"] = " (" + ", ".join(f"lib{n} {shipped[f'lib{n}']}" for n in ff
                                                  if f"lib{n}" in shipped) + ")"
        found["openh264"] = shipped.get("libopenh264", "")
        kept = {spdx for prefix, _, spdx in AV_LIBS if prefix in shipped and prefix not in AV_STUBBED}
        if not kept <= {"BSD-2-Clause", "BSD-3-Clause", "MIT"}:
            raise SystemExit(f"av-libs: a shipped library is {kept}: update its licence expression and texts")
        found["av_libs"] = "; ".join(f"{name} ({prefix}.so.{shipped[prefix]}, {spdx})" for prefix, name, spdx in AV_LIBS
                                    if prefix in shipped and prefix not in AV_STUBBED)
        unknown = sorted(set(shipped) - {p for p, _, _ in AV_LIBS} - set(AV_STUBBED) - {"libopenh264"}
                         - {f"lib{n}" for n in ff} - {"libavdevice"})
        if unknown:
            raise SystemExit(f"PyAV's wheel ships libraries with no licence entry here: {unknown}: add them to AV_LIBS")
        import av as _av

        found["av_ffmpeg"] = str(_av.ffmpeg_version_info)
        found["ffmpeg-av"] = found["av_ffmpeg"]
        found["av-libs"] = f"as in PyAV {av.version}"
    except (Missing, ImportError):
        pass
    return found


def _previous_common(out: Path) -> dict[str, str]:
    """Standard texts from the current output, keyed by source spec, for machines without common-licenses."""
    try:
        index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    previous: dict[str, str] = {}
    for entry in index.get("components", []):
        text = (out / entry["file"]).read_text(encoding="utf-8") if (out / entry["file"]).is_file() else ""
        for part in re.split(r"\n(?=={8} )", text):
            head = re.match(r"======== (\S+) ========\n", part)
            if head and f"common:{head[1]}" in entry.get("sources", []):
                previous[f"common:{head[1]}"] = part[head.end():]
    return previous


def collect(out: Path = OUT) -> dict[str, object]:
    previous = _previous_common(out)
    versions = _bundled_versions()
    entries: list[dict[str, object]] = []
    skipped: list[dict[str, str]] = []
    texts: dict[str, str] = {}
    users: dict[tuple[str, ...], list[str]] = {}
    for comp in COMPONENTS:
        key = tuple(comp.sources)
        try:
            version = comp.version or (_dist(comp.version_of).version if comp.version_of else
                                       versions.get(comp.id, ""))
            if key not in users:  # components with the same sources share one file, named after the first
                parts = []
                for spec in comp.sources:
                    title, text = _read_source(spec, previous)
                    parts.append(f"======== {spec.partition(':')[2] if spec.startswith('common:') else title} "
                                 f"========\n{text.strip()}\n")
                texts[f"{comp.id}.txt"] = "\n".join(parts)
                users[key] = [comp.id]
            else:
                users[key].append(comp.id)
        except Missing as exc:
            skipped.append({"id": comp.id, "name": comp.name, "license": comp.license,
                            "platform": comp.platform or "all", "reason": str(exc)})
            continue
        fields = {"ffmpeg": versions.get("ffmpeg_libs", ""), **{k: versions.get(k, "") for k in (
            "av_ffmpeg", "av_ffmpeg_libs", "openh264", "av_libs")}}
        entry: dict[str, object] = {
            "id": comp.id, "name": comp.name, "version": version, "license": comp.license,
            "file": f"{users[key][0]}.txt", "note": comp.note.format(version=version, **fields),
            "distribution": comp.version_of, "sources": comp.sources, "platform": comp.platform or "all"}
        if comp.program != "LocalLens":
            entry["program"] = comp.program
        entries.append(entry)
    names = {e["id"]: e["name"] for e in entries}
    for ids in users.values():
        file = f"{ids[0]}.txt"
        texts[file] = f"Licence texts for: {', '.join(str(names[i]) for i in ids)}\n\n{texts[file]}"
    total = sum(len(t.encode("utf-8")) for t in texts.values())
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"licence texts total {total} bytes, over {MAX_TOTAL_BYTES}")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        if old.name not in texts:
            old.unlink()
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8", newline="\n")
    index = {"generated_by": "tools/collect_licenses.py", "components": entries, "not_collected": skipped}
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8", newline="\n")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: assets/licenses)")
    args = parser.parse_args(argv)
    index = collect(args.out)
    files = {e["file"] for e in index["components"]}  # type: ignore[index,union-attr]
    total = sum((args.out / f).stat().st_size for f in files)
    print(f"{len(index['components'])} components, {total / 1000:.0f} kB of licence texts in {args.out}")  # type: ignore[arg-type]
    for skipped in index["not_collected"]:  # type: ignore[union-attr]
        print(f"not collected: {skipped['name']} ({skipped['reason']})")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
