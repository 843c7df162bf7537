"""Build LocalLens for this platform with one command: `python installer/build.py`.

1. PyInstaller runs `installer/locallens.spec` into `dist/LocalLens/` (one folder; `dist/LocalLens.app` on macOS).
2. The platform artefact is packed next to it:
   Linux    `dist/LocalLens-<version>-linux-x86_64.tar.gz` (with `install.sh` and the `.desktop` file;
            an AppImage too when `appimagetool` is on PATH)
   macOS    `dist/LocalLens-<version>-macos-<arch>.dmg` via `installer/macos/make_dmg.sh` (hdiutil)
   Windows  `dist/LocalLens-Setup-<version>.exe` via Inno Setup's `iscc` (if installed) and a portable
            `dist/LocalLens-<version>-windows-x64.zip`
   Before packing, every licence text listed in assets/licenses/index.json must be in the folder.
3. Sizes (folder, archive, what each dependency costs) are printed and written to `dist/build-info.json`.

Never touches the network: PyInstaller and the packers work on files already on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
SPEC = INSTALLER / "locallens.spec"
APP = "LocalLens"
BUDGET_MB = 150  # the compressed archive should stay at or under this
# gzip -9 saved 0.5% over -6 on this bundle and took twice as long: -6 is the default.

# Where each file of the frozen folder comes from, first match wins (paths relative to the folder, "/").
GROUPS: list[tuple[str, re.Pattern[str]]] = [
    ("models", re.compile(r"(^|/)_internal/models/|^models/")),
    ("assets", re.compile(r"(^|/)_internal/assets/|^assets/")),
    ("OpenCV", re.compile(r"(^|/)(cv2|opencv_python\w*\.libs)/")),
    ("PyAV / FFmpeg", re.compile(r"(^|/)av(\.libs)?/")),
    ("pyvirtualcam", re.compile(r"(^|/)pyvirtualcam/|^locallens-vcam(\.exe)?$")),
    ("PySide6 / Qt", re.compile(r"(^|/)(PySide6|shiboken6)/|libQt6|Qt6\w*\.dll|libicu|libpyside|libshiboken|"
                                r"Qt\w+\.framework|pyside6|shiboken6", re.I)),
    ("onnxruntime", re.compile(r"(^|/)onnxruntime/|onnxruntime|DirectML", re.I)),
    ("numpy", re.compile(r"(^|/)numpy(\.libs)?/|libscipy_openblas")),
    ("pi-heif", re.compile(r"(^|/)(pi_heif(\.libs)?/|_pi_heif\.)")),
    ("Pillow", re.compile(r"(^|/)(PIL|pillow\.libs)/")),
    ("Python runtime", re.compile(r"libpython|python3\d*\.dll|Python\.framework|base_library\.zip|lib-dynload/|"
                                  r"^_internal/[^/]+\.pyd$|^[^/]+$|/Python$|/MacOS/", re.I)),
    # Shared libraries PyInstaller copies from the build machine (X11/xcb, fontconfig, glib, VC++ runtime...)
    ("system libraries", re.compile(r"^_internal/[^/]+\.(so[.\d]*|dll|dylib)$", re.I)),
]


def group_of(rel: str) -> str:
    """The dependency a file of the frozen folder belongs to (see GROUPS), or 'other'."""
    for name, pattern in GROUPS:
        if pattern.search(rel):
            return name
    return "other"


def version() -> str:
    text = (ROOT / "desktop_app" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("desktop_app/__init__.py has no __version__")
    return match[1]


def arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(machine, machine)


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def walk_files(folder: Path) -> Iterator[Path]:
    """Every regular file and symlink under `folder`, sorted, symlinks not followed."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]):
            yield Path(dirpath) / name


def folder_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in walk_files(folder) if not p.is_symlink())


def dependency_sizes(folder: Path) -> dict[str, int]:
    """Bytes on disk per dependency group inside the frozen folder (symlinks count nothing)."""
    sizes: dict[str, int] = {}
    for path in walk_files(folder):
        if path.is_symlink():
            continue
        rel = path.relative_to(folder).as_posix()
        key = group_of(rel)
        sizes[key] = sizes.get(key, 0) + path.lstat().st_size
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


# GPL-only libraries (HEVC/H.264 encoders mostly) must never ship: their licence would reach the whole Apache-2.0
# installer. pillow-heif's wheel brought libx265 in; pi-heif reads HEIC without it. av's wheel names libx264 and
# libx265 as DT_NEEDED of libavcodec: on Linux the spec replaces them by code-free stubs (tools/stub_libs.py),
# which pass; Windows and macOS have no stub step yet, so such a bundle is refused rather than shipped.
GPL_ONLY_FILES = re.compile(r"(^|/)(lib)?(x264|x265|xvidcore|postproc|fdk-aac)[-.\w]*\.(so|dll|dylib)(\.[\d.]+)?$",
                            re.I)
# The one program allowed to carry a GPL component: the virtual-camera helper (mere aggregation, VCAM_DESIGN.md).
GPL_PROGRAM = "locallens-vcam"


def _stub_libs():  # type: ignore[no-untyped-def]
    """tools/stub_libs.py as a module (build.py runs from a checkout; tools/ is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("stub_libs", ROOT / "tools" / "stub_libs.py")
    assert spec and spec.loader
    module = sys.modules.setdefault("stub_libs", importlib.util.module_from_spec(spec))
    if not hasattr(module, "is_stub"):
        spec.loader.exec_module(module)
    return module


def gpl_only(license_expr: str) -> bool:
    """True when an SPDX expression names a GPL or AGPL licence (the LGPL is fine: replaceable shared libraries)."""
    return any(token.upper().startswith(("GPL", "AGPL")) for token in re.findall(r"[\w.+-]+", license_expr))


def license_problems(folder: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the licence texts in the frozen folder: every indexed text must be there.

    An error too for a GPL-only component in the index or a GPL-only library file in the folder.

    A warning when an indexed version differs from the package installed here (rerun tools/collect_licenses.py).
    """
    from importlib import metadata

    base = folder / "_internal" / "assets" / "licenses"
    try:
        index = json.loads((base / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{base / 'index.json'}: {exc}"], []
    errors: list[str] = []
    warnings: list[str] = []
    for entry in index.get("components", []):
        path = base / entry["file"]
        if not path.is_file() or path.stat().st_size == 0:
            errors.append(f"{path} is missing or empty ({entry['name']})")
        if gpl_only(str(entry.get("license", ""))) and entry.get("program") != GPL_PROGRAM:
            errors.append(f"{entry['name']} is {entry['license']}: a GPL-only component must not ship")
        dist = entry.get("distribution")
        if dist:
            try:
                installed = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
            if installed != entry.get("version"):
                warnings.append(f"{entry['name']}: licence index says {entry.get('version')}, {installed} is "
                                "installed: run tools/collect_licenses.py")
    is_stub = _stub_libs().is_stub
    gpl_files = [f"{p.relative_to(folder).as_posix()} is a GPL-only library: it must not ship"
                 for p in walk_files(folder) if GPL_ONLY_FILES.search(p.relative_to(folder).as_posix())
                 and not is_stub(p)]
    if gpl_files and not sys.platform.startswith("linux"):
        gpl_files.append(f"no stub step for {sys.platform} yet: PyAV's libx264/libx265 must be replaced by stub "
                         "DLLs/dylibs before this bundle can ship (docs/licensing.md, 'Windows and macOS')")
    errors += gpl_files
    for item in index.get("not_collected", []):
        if item.get("platform") == sys.platform:
            warnings.append(f"{item.get('name')} is bundled on {sys.platform} but its licence text was not "
                            "collected: run tools/collect_licenses.py on this machine")
    return errors, warnings


def run(cmd: list[str], **kwargs: object) -> None:
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def run_pyinstaller(clean: bool) -> float:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(ROOT / "dist"), "--workpath", str(ROOT / "build"), str(SPEC)]
    if clean:
        cmd.insert(3, "--clean")
    env = dict(os.environ, PYTHONHASHSEED="0")  # steadier output between builds
    run(cmd, cwd=ROOT, env=env)
    return time.perf_counter() - started


class CountingWriter:
    """A write-only file that counts bytes, so the archive's compressed bytes can be split per dependency."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.count = fh, 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()

    def tell(self) -> int:
        return self.count


def make_tarball(folder: Path, out: Path, level: int) -> dict[str, int]:
    """Pack `folder` as `<folder.name>/...` into a .tar.gz; returns compressed bytes per dependency group.

    Members go in group order so each group's share of the gzip stream is measured as a whole.
    """
    members = [p for p in walk_files(folder)]
    members.sort(key=lambda p: (group_of(p.relative_to(folder).as_posix()), p.as_posix()))
    compressed: dict[str, int] = {}
    tmp = out.with_suffix(".part")
    with open(tmp, "wb") as raw:
        counter = CountingWriter(raw)
        with tarfile.open(fileobj=counter, mode="w:gz", compresslevel=level,  # type: ignore[call-overload]
                          format=tarfile.PAX_FORMAT) as tar:
            def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                return info

            tar.add(folder, arcname=folder.name, recursive=False, filter=normalise)
            for path in members:
                rel = path.relative_to(folder).as_posix()
                before = counter.count
                tar.add(path, arcname=f"{folder.name}/{rel}", recursive=False, filter=normalise)
                key = group_of(rel)
                compressed[key] = compressed.get(key, 0) + counter.count - before
    tmp.replace(out)
    return compressed


# PyAV's Cython modules carry 30 MB of DWARF and an auditwheel RPATH; `strip --strip-debug` keeps them loading
# (checked by the frozen smoke: av imports and encodes), unlike numpy's patched libraries.
STRIP_ANYWAY = re.compile(r"(^|/)_internal/av/.+\.so$")


def strip_debug_info(folder: Path) -> int:
    """Remove DWARF debug sections from ELF files that carry them and were not patched by auditwheel.

    PyInstaller's `strip=True` strips everything and broke numpy ("ELF load command address/offset not
    page-aligned": patchelf-ed wheel libraries do not survive `strip`). Here files whose RPATH/RUNPATH has
    `$ORIGIN` (auditwheel's mark) or that sit in a `*.libs/` folder are left alone; the rest (in practice the
    Python runtime: libpython and lib-dynload, ~20 MB of DWARF) lose only their debug sections
    (`--strip-debug` keeps the symbol tables). Returns the bytes saved.
    """
    strip, readelf = shutil.which("strip"), shutil.which("readelf")
    if not (strip and readelf):
        print("strip: skipped (binutils' strip/readelf not installed)")
        return 0
    saved = 0
    for path in walk_files(folder):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or not STRIP_ANYWAY.search(rel):
            continue
        sections = subprocess.run([readelf, "-S", "-W", str(path)], capture_output=True, text=True).stdout
        if ".debug_info" in sections:
            before = path.stat().st_size
            subprocess.run([strip, "--strip-debug", "--preserve-dates", str(path)], check=True)
            saved += before - path.stat().st_size
    print(f"strip: removed {mb(saved)} of debug info from PyAV's modules")
    for path in walk_files(folder):
        if path.is_symlink() or ".libs/" in path.as_posix() or STRIP_ANYWAY.search(path.relative_to(folder).as_posix()):
            continue
        with open(path, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        sections = subprocess.run([readelf, "-S", "-W", str(path)], capture_output=True, text=True).stdout
        if ".debug_info" not in sections:
            continue
        dynamic = subprocess.run([readelf, "-d", str(path)], capture_output=True, text=True).stdout
        if "$ORIGIN" in dynamic:  # auditwheel/delocate rewrote it with patchelf: leave it alone
            continue
        before = path.stat().st_size
        subprocess.run([strip, "--strip-debug", "--preserve-dates", str(path)], check=True)
        saved += before - path.stat().st_size
    print(f"strip: removed {mb(saved)} of debug info")
    return saved


def add_linux_extras(folder: Path) -> None:
    """The desktop entry, icon and installer script travel inside the folder (and so the tarball)."""
    shutil.copy2(INSTALLER / "linux" / "locallens.desktop", folder / "locallens.desktop")
    shutil.copy2(ROOT / "assets" / "icons" / "locallens.png", folder / "locallens.png")
    shutil.copy2(INSTALLER / "linux" / "install.sh", folder / "install.sh")
    (folder / "install.sh").chmod(0o755)


def make_appimage(folder: Path, out: Path) -> Path | None:
    """An AppImage when `appimagetool` is installed; None (and a message) otherwise."""
    tool = shutil.which("appimagetool")
    if not tool:
        print("AppImage: skipped (appimagetool is not installed; it is in neither Debian, PyPI nor npm)")
        return None
    appdir = folder.parent / f"{APP}.AppDir"
    shutil.rmtree(appdir, ignore_errors=True)
    shutil.copytree(folder, appdir / "usr" / "lib" / APP, symlinks=True)
    (appdir / "AppRun").write_text(f'#!/bin/sh\nexec "$(dirname "$(readlink -f "$0")")/usr/lib/{APP}/{APP}" "$@"\n')
    (appdir / "AppRun").chmod(0o755)
    desktop = (INSTALLER / "linux" / "locallens.desktop").read_text().replace("Exec=LocalLens", "Exec=AppRun")
    (appdir / "locallens.desktop").write_text(desktop)
    shutil.copy2(ROOT / "assets" / "icons" / "locallens.png", appdir / "locallens.png")
    run([tool, str(appdir), str(out)], env=dict(os.environ, ARCH="x86_64"))
    return out


def build_linux(folder: Path, ver: str, level: int, strip: bool) -> tuple[list[Path], dict[str, int]]:
    if strip:
        strip_debug_info(folder)
    add_linux_extras(folder)
    tarball = folder.parent / f"{APP}-{ver}-linux-{arch()}.tar.gz"
    started = time.perf_counter()
    compressed = make_tarball(folder, tarball, level)
    print(f"tarball: {tarball.name} in {time.perf_counter() - started:.1f} s")
    artefacts = [tarball]
    image = make_appimage(folder, folder.parent / f"{APP}-{ver}-{arch()}.AppImage")
    if image:
        artefacts.append(image)
    return artefacts, compressed


def build_macos(ver: str) -> list[Path]:
    app = ROOT / "dist" / f"{APP}.app"
    if not app.is_dir():
        raise SystemExit(f"{app} was not built: the spec's BUNDLE step did not run")
    dmg = ROOT / "dist" / f"{APP}-{ver}-macos-{arch()}.dmg"
    run(["bash", str(INSTALLER / "macos" / "make_dmg.sh"), str(app), str(dmg), ver])
    return [dmg]


def find_iscc() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").is_file():
            return str(Path(base) / "Inno Setup 6" / "ISCC.exe")
    return None


def build_windows(folder: Path, ver: str) -> list[Path]:
    artefacts = []
    portable = folder.parent / f"{APP}-{ver}-windows-x64.zip"
    with zipfile.ZipFile(portable, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in walk_files(folder):
            zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    artefacts.append(portable)
    report_vc_runtime(folder)
    iss = INSTALLER / "windows" / "LocalLens.iss"
    iscc = find_iscc()
    if iss.is_file() and iscc:
        run([iscc, f"/DAppVersion={ver}", f"/DAppSourceDir={folder}", f"/O{folder.parent}", str(iss)])
        artefacts.append(folder.parent / f"{APP}-Setup-{ver}.exe")
    else:
        print("Windows installer: skipped (Inno Setup's iscc not found; `choco install innosetup`)")
    return artefacts


def report_vc_runtime(folder: Path) -> None:
    """Print the version of each app-local VC++ runtime DLL (onnxruntime needs a recent one)."""
    dlls = sorted(p for p in folder.rglob("*.dll") if re.match(r"(vcruntime|msvcp|concrt)140", p.name, re.I))
    for dll in dlls:
        out = subprocess.run(["powershell", "-NoProfile", "-Command", f"(Get-Item '{dll}').VersionInfo.FileVersion"],
                             capture_output=True, text=True, check=False)
        print(f"  VC++ runtime {dll.relative_to(folder)}: {out.stdout.strip() or '?'}")


def print_table(title: str, rows: dict[str, int], total: int, extra: Callable[[str], str] | None = None) -> None:
    print(title)
    for name, size in rows.items():
        print(f"  {name:<16}{mb(size):>10}  {size / total:6.1%}" + (f"  {extra(name)}" if extra else ""))
    print(f"  {'total':<16}{mb(total):>10}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skip-pyinstaller", action="store_true", help="pack the existing dist/LocalLens again")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument("--no-strip", action="store_true", help="keep debug info in the Python runtime (Linux)")
    parser.add_argument("--gzip-level", type=int, default=6, help="tar.gz compression level (Linux)")
    args = parser.parse_args(argv)

    ver = version()
    folder = ROOT / "dist" / APP
    build_s = 0.0
    if not args.skip_pyinstaller:
        build_s = run_pyinstaller(args.clean)
        print(f"PyInstaller: {build_s:.1f} s")
    if not folder.is_dir():
        raise SystemExit(f"{folder} is missing: run without --skip-pyinstaller")
    license_errors, license_warnings = license_problems(folder)
    for warning in license_warnings:
        print(f"warning: {warning}")
    if license_errors:
        raise SystemExit("the licences are not in order:\n  " + "\n  ".join(license_errors))

    compressed: dict[str, int] = {}
    started = time.perf_counter()
    if sys.platform.startswith("linux"):
        artefacts, compressed = build_linux(folder, ver, args.gzip_level, not args.no_strip)
    elif sys.platform == "darwin":
        artefacts = build_macos(ver)
    elif sys.platform == "win32":
        artefacts = build_windows(folder, ver)
    else:
        raise SystemExit(f"no artefact recipe for {sys.platform}")
    pack_s = time.perf_counter() - started

    total = folder_bytes(folder)
    deps = dependency_sizes(folder)
    print()
    print_table(f"{folder.relative_to(ROOT)}: {mb(total)} on disk", deps, total,
                (lambda k: f"{mb(compressed.get(k, 0)):>9} compressed") if compressed else None)
    archive = artefacts[0]
    archive_bytes = archive.stat().st_size
    verdict = "within" if archive_bytes <= BUDGET_MB * 1e6 else "OVER"
    print(f"\n{archive.relative_to(ROOT)}: {mb(archive_bytes)} ({verdict} the {BUDGET_MB} MB budget)")
    for extra in artefacts[1:]:
        print(f"{extra.relative_to(ROOT)}: {mb(extra.stat().st_size)}")

    info = {
        "app": APP, "version": ver, "platform": sys.platform, "arch": arch(),
        "python": platform.python_version(), "pyinstaller": _pyinstaller_version(),
        "commit": _git_commit(), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pyinstaller_seconds": round(build_s, 1), "pack_seconds": round(pack_s, 1),
        "folder": str(folder.relative_to(ROOT)), "folder_bytes": total,
        "artefacts": [{"file": str(p.relative_to(ROOT)), "bytes": p.stat().st_size} for p in artefacts],
        "budget_bytes": int(BUDGET_MB * 1e6), "within_budget": archive_bytes <= BUDGET_MB * 1e6,
        "dependencies": {k: {"bytes": v, "compressed_bytes": compressed.get(k)} for k, v in deps.items()},
        "stubs": {p.relative_to(folder).as_posix(): p.stat().st_size for p in walk_files(folder)
                  if not p.is_symlink() and _stub_libs().is_stub(p)},
    }
    (ROOT / "dist" / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
    print("wrote dist/build-info.json")
    return 0


def _pyinstaller_version() -> str:
    try:
        import PyInstaller

        return PyInstaller.__version__
    except ImportError:
        return "?"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return out.stdout.strip() or None


if __name__ == "__main__":
    sys.exit(main())
