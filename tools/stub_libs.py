"""Generate stand-in shared libraries (Linux ELF) for bundled libraries the app must not ship or never calls.

A wheel's library (say av.libs/libx264-0b814221.so.165, GPL-2.0) is listed as DT_NEEDED by another one
(libavcodec), so it cannot just be deleted: the loader would refuse libavcodec. The stub has the same SONAME
and defines every symbol the importers take from it (read with `nm -D --undefined-only --with-symbol-versions`,
symbol versions kept through a linker version script). Functions return 0 / NULL, or the error value listed in
ERROR_RETURNS so that the caller fails cleanly (FFmpeg then reports "cannot open encoder"); data symbols get the
size and kind (read-only or writable) they have in the original library, zero-filled. The stub carries a marker
string (STUB_MARK) and none of the original's code: `is_stub()` checks both, and installer/build.py refuses a
bundle whose GPL-named libraries are not stubs.

    python tools/stub_libs.py ORIGINAL.so OUT.so --importer LIB_THAT_NEEDS_IT.so [--importer ...]

Needs gcc and binutils (nm, readelf); Windows and macOS builds cannot use it (see docs/licensing.md).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

STUB_MARK = b"LOCALLENS-STUB"
MAX_STUB_BYTES = 256_000  # a stub is code-free: a few kB of symbol tables and zero-filled data

# Functions whose 0 would mean "success" to the caller and walk it into a half-made encoder: return an error.
ERROR_RETURNS: dict[str, int] = {
    "x264_param_default_preset": -1,  # FFmpeg: "Error setting preset/tune" -> EINVAL
    "x264_param_apply_profile": -1,
    "aom_codec_enc_init_ver": 1,  # AOM_CODEC_ERROR
    "aom_codec_dec_init_ver": 1,
    "aom_codec_enc_config_default": 1,
    "svt_av1_enc_init_handle": -2147479552,  # EB_ErrorInsufficientResources (0x80001000)
    "svt_av1_enc_init": -2147479552,
    "vorbis_encode_init": -131, "vorbis_encode_init_vbr": -131, "vorbis_encode_setup_managed": -131,  # OV_EINVAL
    "vorbis_encode_setup_vbr": -131, "vorbis_encode_setup_init": -131, "vorbis_synthesis_headerin": -133,
    "vorbis_synthesis_init": -1,
    # OpenCV's FFmpeg (cv2.VideoCapture / VideoWriter on a file): fail to open instead of using a NULL context.
    "avformat_open_input": -1,
    "avformat_alloc_output_context2": -1,
    "avformat_find_stream_info": -1,
    "avcodec_open2": -1,
    "avio_open": -1,
    "avformat_write_header": -1,
}

# Libraries whose every function must never run in a LocalLens build (no error value could stand for a matrix
# product): the stub writes one line to stderr and aborts, so a call is a loud crash, never a wrong picture.
ABORT_SONAMES = re.compile(r"^libopenblas")
# Functions whose caller writes into the result before it checks anything: return a zero-filled scratch block
# (OpenCV sets `ic->interrupt_callback` on avformat_alloc_context()'s result, then avformat_open_input fails).
SCRATCH_RETURNS = frozenset({"avformat_alloc_context"})
# Functions whose caller turns the result into a string at once (PyAV's library_meta at import): return "".
STRING_SUFFIXES = ("_configuration", "_license", "version_str")
SCRATCH_BYTES = 65536


@dataclass
class Symbol:
    name: str
    version: str = ""  # "" when the importer asked for no symbol version
    kind: str = "func"  # "func", "rodata" or "data"
    size: int = 0


@dataclass
class StubPlan:
    soname: str
    symbols: list[Symbol] = field(default_factory=list)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"stub_libs: {name} is not installed (Debian: binutils / gcc)")
    return found


def soname(path: Path) -> str:
    """The DT_SONAME of an ELF library, or its file name when it has none."""
    out = subprocess.run([_tool("readelf"), "-d", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return match[1] if match else path.name


def needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of an ELF file."""
    out = subprocess.run([_tool("readelf"), "-d", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _nm(path: Path, *flags: str) -> list[str]:
    return subprocess.run([_tool("nm"), "-D", "--with-symbol-versions", *flags, str(path)], capture_output=True,
                          text=True, check=True).stdout.splitlines()


def defined_symbols(path: Path) -> dict[str, tuple[str, int, str]]:
    """name -> (nm type letter, size, version) for the dynamic symbols a library defines."""
    found: dict[str, tuple[str, int, str]] = {}
    for line in _nm(path, "-S", "--defined-only"):
        parts = line.split()
        if len(parts) == 4:
            _addr, size, letter, sym = parts
        elif len(parts) == 3:
            _addr, letter, sym = parts
            size = "0"
        else:
            continue
        name, _, version = sym.partition("@")
        found[name] = (letter, int(size, 16), version.lstrip("@"))
    return found


def undefined_symbols(path: Path) -> dict[str, str]:
    """name -> version ("" when unversioned) of the dynamic symbols an ELF file imports."""
    found: dict[str, str] = {}
    for line in _nm(path, "--undefined-only"):
        parts = line.split()
        if len(parts) >= 2 and parts[-2] in ("U", "w"):
            name, _, version = parts[-1].partition("@")
            found[name] = version.lstrip("@")
    return found


def plan(original: Path, importers: list[Path]) -> StubPlan:
    """What the stub must define: every symbol an importer takes that the original defines."""
    defined = defined_symbols(original)
    wanted: dict[str, Symbol] = {}
    for importer in importers:
        for name, version in undefined_symbols(importer).items():
            if name not in defined or name in wanted:
                continue
            letter, size, def_version = defined[name]
            kind = "func" if letter in "TtWiI" else ("rodata" if letter in "Rr" else "data")
            wanted[name] = Symbol(name, version or def_version, kind, size if kind != "func" else 0)
    return StubPlan(soname(original), sorted(wanted.values(), key=lambda s: s.name))


def c_source(stub: StubPlan) -> str:
    """The stub's C file: one marker, functions that do nothing, zero-filled data of the original's size."""
    lines = [f"/* Generated by tools/stub_libs.py: a code-free stand-in for {stub.soname}. */",
             f'__attribute__((used)) const char locallens_stub_mark[] = "{STUB_MARK.decode()}: {stub.soname} '
             'contains none of the original library";']
    abort_all = bool(ABORT_SONAMES.search(stub.soname))
    if abort_all:
        lines += ["extern long write(int fd, const void *buf, unsigned long count);", "extern void abort(void);",
                  "static void locallens_stub_abort(const char *text, unsigned long length) {",
                  "    write(2, text, length);", "    abort();", "}"]
    if any(sym.name in SCRATCH_RETURNS for sym in stub.symbols):
        lines.append(f"static unsigned char locallens_scratch[{SCRATCH_BYTES}] __attribute__((aligned(64)));")
    for sym in stub.symbols:
        if sym.name in SCRATCH_RETURNS:
            lines.append(f"void *{sym.name}(void) {{ return locallens_scratch; }}")
        elif sym.kind == "func" and abort_all:
            text = f"LocalLens: {sym.name} was called, but this build left {stub.soname} out (tools/stub_libs.py)\\n"
            lines.append(f'long {sym.name}(void) {{ locallens_stub_abort("{text}", {len(text) - 1}UL); return 0L; }}')
        elif sym.kind == "func" and sym.name.endswith(STRING_SUFFIXES):
            lines.append(f'const char *{sym.name}(void) {{ return ""; }}')
        elif sym.kind == "func":
            value = ERROR_RETURNS.get(sym.name, 0)
            lines.append(f"long {sym.name}(void) {{ return {value}L; }}")
        else:
            qualifier = "const " if sym.kind == "rodata" else ""
            lines.append(f"{qualifier}unsigned char {sym.name}[{max(sym.size, 1)}] __attribute__((aligned(32))) "
                         "= {0};")
    return "\n".join(lines) + "\n"


def version_script(stub: StubPlan) -> str | None:
    """A linker version script when any symbol is versioned; unversioned ones join the first node."""
    nodes: dict[str, list[str]] = {}
    for sym in stub.symbols:
        if sym.version:
            nodes.setdefault(sym.version, []).append(sym.name)
    if not nodes:
        return None
    first = next(iter(nodes))
    nodes[first] += [s.name for s in stub.symbols if not s.version]
    nodes[first].append("locallens_stub_mark")
    return "".join(f"{v} {{ global: {'; '.join(names)}; }};\n" for v, names in nodes.items())


def build(original: Path, out: Path, importers: list[Path]) -> StubPlan:
    """Compile the stub for `original` to `out`; raises SystemExit when it does not define what is needed."""
    stub = plan(original, importers)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "stub.c"
        src.write_text(c_source(stub), encoding="utf-8")
        cmd = [_tool("gcc"), "-shared", "-fPIC", "-O1", "-s", "-fno-builtin", "-Wno-builtin-declaration-mismatch",
               f"-Wl,-soname,{stub.soname}", "-o", str(out), str(src)]
        script = version_script(stub)
        if script:
            (Path(tmp) / "stub.map").write_text(script, encoding="utf-8")
            cmd.append(f"-Wl,--version-script={Path(tmp) / 'stub.map'}")
        subprocess.run(cmd, check=True)
    have = defined_symbols(out)
    missing = [s.name for s in stub.symbols if s.name not in have or (s.version and have[s.name][2] != s.version)]
    if missing:
        raise SystemExit(f"stub_libs: {out.name} lacks {missing[:5]}")
    if not is_stub(out):
        raise SystemExit(f"stub_libs: {out.name} is not a valid stub ({out.stat().st_size} bytes)")
    return stub


def is_stub(path: Path) -> bool:
    """True for a file this tool made: small and marked (so it carries none of the original's code)."""
    try:
        size = path.stat().st_size
        return size <= MAX_STUB_BYTES and STUB_MARK in path.read_bytes()
    except OSError:
        return False


# (pattern on the bundle destination, why). The stub replaces the file under the same name.
AV_STUBS: list[tuple[str, str]] = [
    (r"(^|/)av\.libs/libx26[45]-[^/]*\.so[.\d]*$", "GPL-2.0 H.264/HEVC encoder: must not ship (H.264 uses OpenH264)"),
    (r"(^|/)av\.libs/lib(aom|SvtAv1Enc)-[^/]*\.so[.\d]*$", "AV1 encoders LocalLens never picks (dav1d decodes AV1)"),
    (r"(^|/)av\.libs/lib(mp3lame|webp|webpmux|opencore-amrnb|opencore-amrwb)-[^/]*\.so[.\d]*$",
     "encoders LocalLens never picks; FFmpeg's own decoders read MP3, WebP and AMR (init returns NULL/0: clean error)"),
    (r"(^|/)av\.libs/lib(vorbis|vorbisenc|ogg)-[^/]*\.so[.\d]*$",
     "libvorbis wrapper (encoder, and a decoder FFmpeg's own vorbis decoder precedes); setup calls return errors"),
    (r"(^|/)av\.libs/libgnutls-[^/]*\.so[.\d]*$", "TLS for https:// inputs: LocalLens opens local files only"),
    (r"(^|/)av\.libs/libavdevice-[^/]*\.so[.\d]*$",
     "capture devices (x11grab, ALSA, V4L2) through FFmpeg: the camera is read with OpenCV"),
    (r"(^|/)av\.libs/libvpl-[^/]*\.so[.\d]*$", "Intel QSV dispatcher: LocalLens uses no hardware codec"),
]
OPENCV_STUBS: list[tuple[str, str]] = [
    (r"(^|/)opencv_python_headless\.libs/lib(avcodec|avformat|avutil|swscale|avif)-[^/]*\.so[.\d]*$",
     "OpenCV's FFmpeg/AVIF: PyAV reads and writes every video file, Pillow every image"),
]
# OpenCV's OpenBLAS (39 MB) serves only cv2's gemm/solve/SVD/QR/Cholesky (cblas_?gemm, ?gesv, ?gesdd, ?geqrf,
# ?potrf): none of the cv2 functions desktop_app calls (CV2_BLAS_FREE) reach them. numpy keeps its own OpenBLAS.
OPENCV_BLAS_STUBS: list[tuple[str, str]] = [
    (r"(^|/)opencv_python_headless\.libs/libopenblasp?-[^/]*\.so[.\d]*$",
     "OpenCV's BLAS/LAPACK: only cv2's gemm/solve/SVD use it, which desktop_app never calls (a call aborts)"),
]
# The cv2 functions desktop_app may call with OpenCV's BLAS stubbed: each reviewed to run no BLAS/LAPACK (image
# filters, colour conversion, geometry lookups, drawing, labelling, codecs). Add one only after checking its
# OpenCV source path; anything else (solve, gemm, SVDecomp, invert, PCA, fitEllipse, getPerspectiveTransform,
# findHomography, dnn, ...) keeps the real library in the bundle (cv2_blas_users).
CV2_BLAS_FREE = frozenset({
    "resize", "multiply", "cvtColor", "merge", "split", "remap", "copyMakeBorder", "boxFilter", "inRange",
    "getTextSize", "copyTo", "convertMaps", "connectedComponentsWithStats", "connectedComponents", "add",
    "subtract", "absdiff", "flip", "dilate", "erode", "convertScaleAbs", "bitwise_not", "bitwise_and",
    "bitwise_or", "stackBlur", "setNumThreads", "getNumThreads", "sepFilter2D", "putText", "imwrite", "imencode",
    "imdecode", "imread", "getStructuringElement", "findNonZero", "fillConvexPoly", "fillPoly", "ellipse",
    "rectangle", "circle", "line", "countNonZero", "boundingRect", "addWeighted", "divide", "GaussianBlur", "blur",
    "medianBlur", "VideoCapture", "threshold", "morphologyEx", "pyrDown", "pyrUp", "transpose", "rotate", "LUT",
    "max", "min", "warpAffine", "getRotationMatrix2D", "setUseOptimized",
    # W39b (core/specks.py): contour tracing, polygon sums and drawing (imgproc contours*.cpp, shapedescr.cpp,
    # drawing.cpp), no BLAS/LAPACK.
    "findContours", "contourArea", "arcLength", "drawContours",
    # Session 19 (core/plate.py): comparison and running averages (core arithm, imgproc accum.cpp), corners
    # (featureselect.cpp: the 2x2 minimum eigenvalue in closed form) and pyramidal Lucas-Kanade (video
    # lkpyramid.cpp: 2x2 systems in closed form). Run with OpenCV's BLAS stubbed (LD_PRELOAD of the aborting stub,
    # which a 400x400 cv2.gemm does trip): tests/test_plate.py and a 120-frame clip, no call.
    "compare", "accumulateWeighted", "goodFeaturesToTrack", "calcOpticalFlowPyrLK",
})
CV2_CALL = re.compile(r"\bcv2\.([A-Za-z_][A-Za-z0-9_]*)\s*\(")
# Folders of auditwheel-renamed libraries, reachable only through DT_NEEDED: one nothing needs any more can go.
PRUNABLE = re.compile(r"(^|/)(av|opencv_python_headless)\.libs/[^/]+$|^libmvec\.so\.1$")  # glibc's: x265, libvorbis
# cv2 touching a video FILE (FFmpeg): a camera index with an explicit V4L2/DirectShow/AVFoundation backend is fine.
CV2_FILE_VIDEO = re.compile(r"cv2\.VideoWriter\b|cv2\.CAP_FFMPEG\b|cv2\.VideoCapture\(\s*(str\(|os\.fspath|f[\"']|"
                            r"[\"']|[\w.]*(path|file|video)\w*\s*[,)])", re.I)


def cv2_file_video_users(package: Path) -> list[str]:
    """Source files under `package` that still open a video file with OpenCV (so its FFmpeg must stay)."""
    return sorted(str(py.relative_to(package.parent).as_posix()) for py in package.rglob("*.py")
                  if CV2_FILE_VIDEO.search(py.read_text(encoding="utf-8", errors="replace")))


def cv2_blas_users(package: Path) -> dict[str, list[str]]:
    """cv2 functions called under `package` that are not in CV2_BLAS_FREE -> the files calling them (so OpenCV's
    BLAS must stay in the bundle)."""
    found: dict[str, list[str]] = {}
    for py in sorted(package.rglob("*.py")):
        for name in CV2_CALL.findall(py.read_text(encoding="utf-8", errors="replace")):
            if name not in CV2_BLAS_FREE:
                files = found.setdefault(name, [])
                rel = py.relative_to(package.parent).as_posix()
                if rel not in files:
                    files.append(rel)
    return found


def stub_bundle(binaries: list[tuple[str, str, str]], rules: list[tuple[str, str]],
                workdir: Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """PyInstaller's (dest, src, kind) binaries with each file a rule names replaced by its stub (built in
    `workdir`), then the auditwheel libraries nothing needs any more removed. Returns (binaries, report lines)."""
    patterns = [(re.compile(pattern), why) for pattern, why in rules]
    sources = {dest.replace("\\", "/"): Path(src) for dest, src, _ in binaries}
    elf = {dest: src for dest, src in sources.items() if _is_elf(src)}
    needs = {dest: needed(src) for dest, src in elf.items()}
    out: list[tuple[str, str, str]] = []
    report: list[str] = []
    stubbed: set[str] = set()
    for dest, src, kind in binaries:
        key = dest.replace("\\", "/")
        why = next((w for p, w in patterns if p.search(key)), None)
        if why is None or key not in elf:
            out.append((dest, src, kind))
            continue
        name = Path(key).name
        importers = [elf[d] for d, libs in needs.items() if name in libs]
        stub_path = workdir / name
        build(Path(src), stub_path, importers or [Path(src)])
        report.append(f"stub {key} ({Path(src).stat().st_size / 1e6:.1f} MB -> {stub_path.stat().st_size} bytes): "
                      f"{why}")
        out.append((dest, str(stub_path), kind))
        stubbed.add(key)
    while True:  # drop what only the replaced originals needed, until nothing more goes
        live = {k.replace("\\", "/"): Path(s) for k, s, _ in out}
        wanted = {lib for k, s in live.items() if k not in stubbed and _is_elf(s) for lib in needed(s)}
        wanted |= {lib for k, s in live.items() if k in stubbed for lib in needed(s)}
        gone = [k for k in live if PRUNABLE.search(k) and k not in stubbed and Path(k).name not in wanted]
        if not gone:
            break
        for key in gone:
            report.append(f"drop {key} ({live[key].stat().st_size / 1e6:.1f} MB): nothing in the bundle needs it")
        out = [e for e in out if e[0].replace("\\", "/") not in gone]
    return out, report


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("original", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--importer", type=Path, action="append", required=True)
    args = parser.parse_args(argv)
    stub = build(args.original, args.out, args.importer)
    print(f"{args.out}: {len(stub.symbols)} symbols, {args.out.stat().st_size} bytes, SONAME {stub.soname}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
