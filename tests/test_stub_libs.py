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


BLAS = """
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc) { c[0] = alpha * a[0] * b[0]; }
"""
BLAS_USER = """
void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
float product(void) { float a = 2, b = 3, c = 0; cblas_sgemm(0, 0, 0, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1);
                      return c; }
"""


def test_a_blas_stub_aborts_with_a_message_instead_of_returning_a_wrong_product(tmp_path: Path) -> None:
    orig_dir = tmp_path / "orig"
    orig_dir.mkdir()
    name = f"libopenblasp-r0-{os.getpid():08x}.so"
    original = _lib(orig_dir, name[:-3], BLAS, f"-Wl,-soname,{name}")
    importer = _lib(tmp_path, "libcv", BLAS_USER, f"-L{orig_dir}", f"-l:{name[:-3]}.so")
    stub = tmp_path / "stubs" / name
    stub_libs.build(original, stub, [importer])
    assert stub_libs.is_stub(stub)
    script = (f"import ctypes; ctypes.CDLL({str(stub)!r}); lib = ctypes.CDLL({str(importer)!r}); "
              "lib.product.restype = ctypes.c_float; print(lib.product())")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "6.0" not in run.stdout and "0.0" not in run.stdout  # no value came back
    assert f"LocalLens: cblas_sgemm was called, but this build left {name} out" in run.stderr


def test_opencv_blas_stays_once_desktop_app_calls_a_cv2_function_not_reviewed_as_blas_free(tmp_path: Path) -> None:
    pkg = tmp_path / "desktop_app"
    pkg.mkdir()
    (pkg / "filters.py").write_text("out = cv2.resize(img, size)\nblur = cv2.GaussianBlur(out, (5, 5), 0)\n")
    assert stub_libs.cv2_blas_users(pkg) == {}
    (pkg / "solve.py").write_text("x = cv2.solve(a, b)\ny = cv2.gemm(a, b, 1, None, 0)\n")
    assert stub_libs.cv2_blas_users(pkg) == {"solve": ["desktop_app/solve.py"], "gemm": ["desktop_app/solve.py"]}


def test_the_app_calls_only_cv2_functions_reviewed_as_blas_free_so_the_bundle_leaves_opencvs_blas_out() -> None:
    # A new cv2 call fails here first: check in OpenCV's source that it reaches no BLAS/LAPACK (then add it to
    # CV2_BLAS_FREE), or accept the 39 MB back in the installer (the spec keeps the library by itself).
    assert stub_libs.cv2_blas_users(REPO / "desktop_app") == {}
