"""tools/stub_libs.py: a stub keeps the importer loading, defines what it imports (versions too), runs no code."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import stub_libs

sys.path.remove(str(REPO / "tools"))

pytestmark = pytest.mark.skipif(not (sys.platform.startswith("linux") and shutil.which("gcc") and shutil.which("nm")),
                                reason="ELF stubs: Linux with gcc and binutils")

ORIGINAL = """
const char banner[] = "x264 - core 165 - the real encoder";
const int levels[42] = {1, 2, 3};
int counter[8];
int encoder_open(int x) { return x * 7 + banner[0]; }
int param_default_preset(void) { return 0; }
"""
IMPORTER = """
extern const int levels[42];
extern int counter[8];
int encoder_open(int x);
int param_default_preset(void);
int use(void) { return encoder_open(3) + levels[0] + counter[0]; }
int preset(void) { return param_default_preset(); }
"""


def _lib(tmp: Path, name: str, source: str, *extra: str) -> Path:
    (tmp / f"{name}.c").write_text(source)
    out = tmp / f"{name}.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(tmp / f"{name}.c"), *extra], check=True)
    return out


def test_stub_defines_what_the_importer_needs_with_versions_and_no_code(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "v.map").write_text("LIBX_1 { global: encoder_open; levels; counter; param_default_preset; "
                                    "local: *; };\n")
    orig_dir = tmp_path / "orig"
    orig_dir.mkdir()
    name = f"libx264-{os.getpid():08x}"  # a SONAME no other library loaded in this process has
    original = _lib(orig_dir, name, ORIGINAL, f"-Wl,-soname,{name}.so.165",
                    f"-Wl,--version-script={tmp_path / 'v.map'}")
    importer = _lib(tmp_path, "libuser", IMPORTER, f"-L{orig_dir}", f"-l:{name}.so",
                    f"-Wl,-rpath,{tmp_path / 'stubs'}")
    assert stub_libs.undefined_symbols(importer)["encoder_open"] == "LIBX_1"
    monkeypatch.setitem(stub_libs.ERROR_RETURNS, "param_default_preset", -1)
    stub = tmp_path / "stubs" / f"{name}.so.165"  # the importer's DT_NEEDED is the SONAME
    made = stub_libs.build(original, stub, [importer])
    assert made.soname == f"{name}.so.165" and stub_libs.soname(stub) == made.soname
    kinds = {s.name: (s.kind, s.size, s.version) for s in made.symbols}
    assert kinds == {"encoder_open": ("func", 0, "LIBX_1"), "param_default_preset": ("func", 0, "LIBX_1"),
                     "levels": ("rodata", 168, "LIBX_1"), "counter": ("data", 32, "LIBX_1")}
    assert "banner" not in kinds  # the importer never asked for it
    data = stub.read_bytes()
    assert b"x264 - core" not in data and stub_libs.is_stub(stub) and not stub_libs.is_stub(original)
    ctypes.CDLL(str(stub))  # registers the SONAME, whatever the rpath handling of this toolchain
    lib = ctypes.CDLL(str(importer))  # loads against the stub, versions resolved
    assert lib.use() == 0 and lib.preset() == -1  # no code ran: zeros, and the error the caller expects


def test_stub_bundle_replaces_then_prunes_what_only_the_original_needed(tmp_path: Path) -> None:
    libs = tmp_path / "site" / "av.libs"
    libs.mkdir(parents=True)
    dep = _lib(libs, "libdep-0000aaaa", "int dep(void) { return 1; }", "-Wl,-soname,libdep-0000aaaa.so")
    _lib(libs, "libx265-3fd9b07c", "int dep(void); int x265_api_get_215(void) { return dep(); }",
         "-Wl,-soname,libx265-3fd9b07c.so", f"-L{libs}", "-l:libdep-0000aaaa.so")
    codec = _lib(libs, "libavcodec-e57b519c",
                 "int x265_api_get_215(void); int open(void) { return x265_api_get_215(); }",
                 "-Wl,-soname,libavcodec-e57b519c.so", f"-L{libs}", "-l:libx265-3fd9b07c.so")
    core = _lib(tmp_path / "site", "_core", "int open(void); int go(void) { return open(); }", f"-L{libs}",
                "-l:libavcodec-e57b519c.so")
    binaries = [(f"av.libs/{p.name}", str(p), "BINARY") for p in (codec, libs / "libx265-3fd9b07c.so", dep)]
    binaries.append(("libkeep.so", str(dep), "BINARY"))  # outside a .libs folder: never pruned
    binaries.append(("av/_core.so", str(core), "EXTENSION"))
    out, report = stub_libs.stub_bundle(binaries, stub_libs.AV_STUBS, tmp_path / "stubs")
    dests = {d: s for d, s, _ in out}
    assert set(dests) == {"av.libs/libavcodec-e57b519c.so", "av.libs/libx265-3fd9b07c.so", "libkeep.so",
                          "av/_core.so"}
    assert stub_libs.is_stub(Path(dests["av.libs/libx265-3fd9b07c.so"]))
    assert any(line.startswith("stub av.libs/libx265") for line in report)
    assert any(line.startswith("drop av.libs/libdep-0000aaaa.so") for line in report)


def test_opencv_ffmpeg_stays_while_desktop_app_reads_video_files_with_cv2(tmp_path: Path) -> None:
    pkg = tmp_path / "desktop_app"
    pkg.mkdir()
    (pkg / "camera.py").write_text("cap = cv2.VideoCapture(self.index, camera_backend())\n")
    assert stub_libs.cv2_file_video_users(pkg) == []
    for line in ("cv2.VideoCapture(str(self.path))", "cv2.VideoCapture(path, cv2.CAP_ANY)",
                 "w = cv2.VideoWriter(tmp, fourcc, fps, size)", "cv2.VideoCapture(p, cv2.CAP_FFMPEG)",
                 'cv2.VideoCapture("walk.mp4")'):
        (pkg / "video.py").write_text(line + "\n")
        assert stub_libs.cv2_file_video_users(pkg) == ["desktop_app/video.py"], line
