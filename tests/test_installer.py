"""Installer files that would silently break a build, checked without building (fast, no PyInstaller run)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import plistlib
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "installer"
SPEC = INSTALLER / "locallens.spec"
WORKFLOW = REPO / ".github" / "workflows" / "build.yml"
VERSION = re.search(r'__version__\s*=\s*"([^"]+)"', (REPO / "desktop_app" / "__init__.py").read_text())[1]  # type: ignore[index]


class Recorder:
    """Stands in for one PyInstaller build step (Analysis, EXE, ...) and keeps its arguments."""

    def __init__(self, kind: str, calls: list[Recorder], *args: Any, **kwargs: Any) -> None:
        self.kind, self.args, self.kwargs = kind, args, kwargs
        self.binaries: list[tuple[str, str, str]] = [
            (f"{dest}/{Path(src).name}", src, "BINARY") for src, dest in kwargs.get("binaries", [])]
        self.datas: list[tuple[str, str, str]] = []
        self.scripts: list[Any] = []
        self.pure: list[Any] = []
        calls.append(self)


def _stub_module(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def run_spec(monkeypatch: pytest.MonkeyPatch, platform: str, tmp_path: Path) -> list[Recorder]:
    """Execute the spec as PyInstaller would, with recording stand-ins; returns the build steps it made."""
    calls: list[Recorder] = []
    dlls = ["onnxruntime_providers_shared.dll", "DirectML.dll"] if platform == "win32" else ["libonnxruntime.so"]
    hooks = _stub_module(
        "PyInstaller.utils.hooks",
        collect_dynamic_libs=lambda pkg: [(f"/site/{pkg}/capi/{n}", f"{pkg}/capi") for n in dlls],
        collect_submodules=lambda pkg: [pkg, f"{pkg}.cli", f"{pkg}.ui.app"],
    )

    class _Any:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.args, self.kwargs = args, kwargs

    versioninfo = _stub_module("PyInstaller.utils.win32.versioninfo", **{
        n: _Any for n in ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct",
                          "VarFileInfo", "VarStruct")})
    win32 = _stub_module("PyInstaller.utils.win32", versioninfo=versioninfo)
    for name, module in {"PyInstaller": _stub_module("PyInstaller"), "PyInstaller.utils": _stub_module("x"),
                         "PyInstaller.utils.hooks": hooks, "PyInstaller.utils.win32": win32,
                         "PyInstaller.utils.win32.versioninfo": versioninfo}.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "platform", platform)
    system32 = tmp_path / "System32"
    system32.mkdir()
    for dll in ("vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll", "msvcp140_1.dll"):
        (system32 / dll).write_bytes(b"MZ")
    monkeypatch.setenv("SystemRoot", str(tmp_path))

    def step(kind: str) -> Any:
        return lambda *args, **kwargs: Recorder(kind, calls, *args, **kwargs)

    env = {"SPECPATH": str(INSTALLER), "__file__": str(SPEC), "__name__": "__main__",
           **{kind: step(kind) for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}}
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), env)
    return calls


def _steps(calls: list[Recorder], kind: str) -> list[Recorder]:
    return [c for c in calls if c.kind == kind]


def test_spec_bundles_models_and_assets_one_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = run_spec(monkeypatch, "linux", tmp_path)
    analysis = _steps(calls, "Analysis")[0]  # the app's; [1] is locallens-vcam's
    datas = analysis.kwargs["datas"]
    dests = {dest for _, dest in datas}
    assert "models" in dests and "assets" in dests
    assert (str(REPO / "assets"), "assets") in datas
    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    bundled = {Path(src).name for src, _ in datas}
    for model in manifest["models"]:
        for variant in model["variants"]:
            assert variant["file"] in bundled
    excludes = set(analysis.kwargs["excludes"])
    assert {"tkinter", "unittest", "pydoc", "PySide6.QtWebEngineCore", "PySide6.QtQml"} <= excludes
    assert "desktop_app.cli" in analysis.kwargs["hiddenimports"]
    exes = _steps(calls, "EXE")
    helper = ["locallens-vcam"] if (REPO / "desktop_app" / "vcam_helper" / "__main__.py").is_file() else []
    assert [e.kwargs["name"] for e in exes] == ["LocalLens", *helper]
    for exe in exes:  # one-folder, never stripped (strip broke numpy), never UPX-packed
        assert exe.kwargs["exclude_binaries"] is True
        assert exe.kwargs["strip"] is False and exe.kwargs["upx"] is False
    (collect,) = _steps(calls, "COLLECT")
    assert collect.kwargs["name"] == "LocalLens" and collect.kwargs["strip"] is False
    assert not _steps(calls, "BUNDLE")


def test_spec_windows_has_windowed_and_console_exes_and_vc_runtime(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    calls = run_spec(monkeypatch, "win32", tmp_path)
    exes = {e.kwargs["name"]: e.kwargs for e in _steps(calls, "EXE")}
    assert exes["LocalLens"]["console"] is False
    assert exes["LocalLens-cli"]["console"] is True
    assert exes["LocalLens"]["icon"].endswith("locallens.ico")
    analysis = _steps(calls, "Analysis")[0]  # the app's; [1] is locallens-vcam's
    names = {Path(dest).name.lower() for dest, *_ in analysis.binaries}
    assert {"onnxruntime_providers_shared.dll", "directml.dll", "vcruntime140.dll", "msvcp140.dll"} <= names


def test_spec_macos_bundle_has_camera_usage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = run_spec(monkeypatch, "darwin", tmp_path)
    (bundle,) = _steps(calls, "BUNDLE")
    info = bundle.kwargs["info_plist"]
    assert info["NSCameraUsageDescription"]
    assert info["CFBundleShortVersionString"] == VERSION
    assert bundle.kwargs["name"] == "LocalLens.app"
    assert bundle.kwargs["icon"].endswith("locallens.icns")


def test_every_manifest_file_exists() -> None:
    models = REPO / "models"
    manifest = json.loads((models / "manifest.json").read_text())
    for model in manifest["models"]:
        for variant in model["variants"]:
            path = models / variant["file"]
            assert path.is_file(), f"{path} listed in the manifest is missing"
            assert path.stat().st_size == variant["bytes"], f"{path} size differs from the manifest"
        if model.get("license_file"):
            assert (models / model["license_file"]).is_file()


def test_icons_exist() -> None:
    for name in ("locallens.png", "locallens.ico", "locallens.icns"):
        assert (REPO / "assets" / "icons" / name).stat().st_size > 1000


def test_info_plist() -> None:
    with open(INSTALLER / "macos" / "Info.plist", "rb") as fh:
        info = plistlib.load(fh)
    assert len(info["NSCameraUsageDescription"]) > 20
    assert info["NSHighResolutionCapable"] is True
    assert re.fullmatch(r"\d+\.\d+", info["LSMinimumSystemVersion"])


def test_desktop_file() -> None:
    desktop = INSTALLER / "linux" / "locallens.desktop"
    text = desktop.read_text()
    assert "\nExec=LocalLens" in text and "\nIcon=locallens" in text
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate not installed (Debian: desktop-file-utils)")
    result = subprocess.run([tool, str(desktop)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX shell script")
def test_install_sh_points_the_menu_entry_at_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "Local Lens & co"
    folder.mkdir()
    for src in (INSTALLER / "linux" / "install.sh", INSTALLER / "linux" / "locallens.desktop",
                REPO / "assets" / "icons" / "locallens.png"):
        shutil.copy2(src, folder / src.name)
    (folder / "LocalLens").write_text("#!/bin/sh\n")
    (folder / "LocalLens").chmod(0o755)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "share"))
    subprocess.run(["sh", str(folder / "install.sh")], check=True, env=env, capture_output=True)
    entry = (tmp_path / "share" / "applications" / "locallens.desktop").read_text()
    assert f'Exec="{folder}/LocalLens" %F' in entry
    assert (tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / "locallens.png").is_file()


def _load_workflow(text: str) -> dict[str, Any] | None:
    try:
        import yaml
    except ImportError:
        return None
    return yaml.safe_load(text)


def test_workflow_parses_and_pins_actions() -> None:
    text = WORKFLOW.read_text()
    assert "\t" not in text
    data = _load_workflow(text)
    if data is not None:
        steps = data["jobs"]["build"]["steps"]
        uses = [s["uses"] for s in steps if "uses" in s]
        oses = {m["os"] for m in data["jobs"]["build"]["strategy"]["matrix"]["include"]}
        assert any(o.startswith("windows") for o in oses) and any(o.startswith("macos") for o in oses)
    else:  # PyYAML is not in the venv: read the `uses:` lines directly
        uses = re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)", text, re.M)
    assert len(uses) >= 3
    for ref in uses:
        version = ref.partition("@")[2]
        assert re.fullmatch(r"[0-9a-f]{40}|v\d+\.\d+\.\d+", version), f"{ref} is not pinned to a SHA or exact tag"
    assert 'python-version: "3.11"' in text
    assert 'pip install -e ".[dev]"' in text and "python installer/build.py" in text
    assert "self-test" in text and "--quit-after 60" in text


def test_iss_is_per_user() -> None:
    iss = (INSTALLER / "windows" / "LocalLens.iss").read_text()
    assert re.search(r"^PrivilegesRequired=lowest\s*$", iss, re.M)
    assert "DefaultDirName={localappdata}\\Programs\\" in iss
    assert "OutputBaseFilename={#AppName}-Setup-{#AppVersion}" in iss
    assert (REPO / "assets" / "icons" / "locallens.ico").is_file()


def test_scripts_are_valid_shell() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    for script in ("ci_smoke.sh", "linux/install.sh", "macos/make_dmg.sh"):
        subprocess.run([bash, "-n", str(INSTALLER / script)], check=True)


def test_build_groups_dependencies() -> None:
    spec = importlib.util.spec_from_file_location("locallens_build", INSTALLER / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.version() == VERSION
    assert build.group_of("_internal/cv2/cv2.abi3.so") == "OpenCV"
    assert build.group_of("_internal/opencv_python_headless.libs/libavcodec-1.so.62") == "OpenCV"
    assert build.group_of("_internal/PySide6/Qt/lib/libicudata.so.73") == "PySide6 / Qt"
    assert build.group_of("_internal/onnxruntime/capi/DirectML.dll") == "onnxruntime"
    assert build.group_of("_internal/numpy.libs/libscipy_openblas64_-1.so") == "numpy"
    assert build.group_of("_internal/pi_heif.libs/libheif-7a3e919c.so.1.23.0") == "pi-heif"
    assert build.group_of("_internal/_pi_heif.cpython-311-x86_64-linux-gnu.so") == "pi-heif"
    assert build.group_of("_internal/pi_heif/as_plugin.pyc") == "pi-heif"
    assert build.group_of("_internal/models/manifest.json") == "models"
    assert build.group_of("_internal/libpython3.11.so.1.0") == "Python runtime"
    assert build.group_of("LocalLens") == "Python runtime"
    assert build.group_of("_internal/libX11.so.6") == "system libraries"


def test_spec_ships_every_licence_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = run_spec(monkeypatch, "linux", tmp_path)
    analysis = _steps(calls, "Analysis")[0]  # the app's; [1] is locallens-vcam's
    index = json.loads((REPO / "assets" / "licenses" / "index.json").read_text(encoding="utf-8"))
    for entry in index["components"]:
        src = REPO / "assets" / "licenses" / entry["file"]
        shipped = [(Path(dest) / src.relative_to(folder)).as_posix() for folder, dest in analysis.kwargs["datas"]
                   if src.is_relative_to(folder)]
        assert shipped == [f"assets/licenses/{entry['file']}"]  # once, where desktop_app.ui.about looks for it
    spec = SPEC.read_text(encoding="utf-8")
    assert "run tools/collect_licenses.py" in spec  # a missing text stops the build


def _load_build() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("locallens_build", INSTALLER / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


def test_build_refuses_a_folder_without_the_licence_texts(tmp_path: Path) -> None:
    build = _load_build()
    folder = tmp_path / "LocalLens"
    shutil.copytree(REPO / "assets" / "licenses", folder / "_internal" / "assets" / "licenses")
    errors, warnings = build.license_problems(folder)
    assert errors == [] and warnings == []
    (folder / "_internal" / "assets" / "licenses" / "pyside6.txt").unlink()
    errors, _ = build.license_problems(folder)
    assert len(errors) >= 1 and all("pyside6.txt is missing" in e for e in errors)
    shutil.rmtree(folder / "_internal" / "assets" / "licenses")
    errors, _ = build.license_problems(folder)
    assert errors and "index.json" in errors[0]


def test_build_refuses_gpl_only_components_and_libraries(tmp_path: Path) -> None:
    """A GPL-only entry in the licence index or a GPL encoder library in the folder stops the build (x265 came
    in with pillow-heif once); the LGPL libraries and look-alike names do not."""
    build = _load_build()
    folder = tmp_path / "LocalLens"
    licenses = folder / "_internal" / "assets" / "licenses"
    shutil.copytree(REPO / "assets" / "licenses", licenses)
    for ok in ("_internal/pi_heif.libs/libheif-7a3e919c.so.1.23.0", "_internal/pi_heif.libs/libde265-1.so.0.2.0",
               "_internal/cv2/postproc.py", "_internal/opencv_python_headless.libs/libavcodec-c42.so.62.28.101"):
        (folder / ok).parent.mkdir(parents=True, exist_ok=True)
        (folder / ok).write_bytes(b"\0")
    assert build.license_problems(folder) == ([], [])

    index = json.loads((licenses / "index.json").read_text(encoding="utf-8"))
    index["components"].append({"id": "x265", "name": "x265", "version": "4.1", "license": "GPL-2.0-only",
                                "file": "pyside6.txt", "distribution": None})
    (licenses / "index.json").write_text(json.dumps(index), encoding="utf-8")
    errors, _ = build.license_problems(folder)
    assert errors == ["x265 is GPL-2.0-only: a GPL-only component must not ship"]

    shutil.copy2(REPO / "assets" / "licenses" / "index.json", licenses / "index.json")
    for bad in ("_internal/pillow_heif.libs/libx265-1.so.217", "_internal/libx264.164.dylib", "_internal/x265.dll"):
        (folder / bad).parent.mkdir(parents=True, exist_ok=True)
        (folder / bad).write_bytes(b"\0")
    errors, _ = build.license_problems(folder)
    assert sorted(errors) == [f"{bad} is a GPL-only library: it must not ship" for bad in (
        "_internal/libx264.164.dylib", "_internal/pillow_heif.libs/libx265-1.so.217", "_internal/x265.dll")]
    assert build.gpl_only("MIT AND GPL-3.0-or-later") and not build.gpl_only("LGPL-3.0-or-later")


def _runtime_distributions() -> set[str]:
    """locallens and every distribution its runtime requirements pull in on this machine (what PyInstaller sees)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = ["locallens"]
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in seen:
            continue
        seen.add(key)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def _gpl_distributions(dists: set[str]) -> set[str]:
    """Distributions whose metadata declares a GPL (not LGPL) licence."""
    from importlib import metadata

    found = set()
    for name in dists:
        meta = metadata.distribution(name).metadata
        declared = " ".join([meta.get("License-Expression") or "", *(meta.get_all("Classifier") or [])])
        if re.search(r"(?<![\w-])A?GPL-|(?<!Lesser )General Public License", declared):
            found.add(name)
    return found


def test_nothing_gpl_reaches_the_main_program_of_the_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The runtime dependencies do carry GPL code: av's wheel has libx264/libx265 and pyvirtualcam is GPL-2.0.
    Each GPL library file must be one the spec replaces by a code-free stub (tools/stub_libs.py), and the one GPL
    distribution, pyvirtualcam, is kept out of the app's module graph and recorded as belonging to locallens-vcam."""
    from importlib import metadata

    build = _load_build()
    stub_libs = build._stub_libs()
    dists = _runtime_distributions()
    assert {"pi-heif", "pillow", "numpy", "pyside6-essentials", "av"} <= dists and "pillow-heif" not in dists
    gpl_files = [(name, file.as_posix()) for name in sorted(dists) for file in metadata.distribution(name).files or []
                 if build.GPL_ONLY_FILES.search(file.as_posix())]
    assert {f for _, f in gpl_files} >= {f for _, f in gpl_files if "x264" in f} and gpl_files  # av brings them
    rules = [re.compile(pattern) for pattern, _ in stub_libs.AV_STUBS]
    unstubbed = [f"{name}: {file}" for name, file in gpl_files if not any(r.search(file) for r in rules)]
    assert unstubbed == []

    assert _gpl_distributions(dists) == {"pyvirtualcam"}
    calls = run_spec(monkeypatch, "linux", tmp_path)
    assert "pyvirtualcam" in _steps(calls, "Analysis")[0].kwargs["excludes"]
    index = json.loads((REPO / "assets" / "licenses" / "index.json").read_text(encoding="utf-8"))
    (vcam,) = [e for e in index["components"] if e["id"] == "pyvirtualcam"]
    assert vcam["program"] == build.GPL_PROGRAM == "locallens-vcam"


def test_spec_builds_locallens_vcam_from_its_own_analysis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With the helper's script present, a second Analysis (stdlib, numpy, pyvirtualcam only) and console EXE."""
    script = REPO / "desktop_app" / "vcam_helper" / "__main__.py"
    real_is_file = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda self: self == script or real_is_file(self))
    calls = run_spec(monkeypatch, "linux", tmp_path)
    app, helper = _steps(calls, "Analysis")
    assert app.args[0] == [str(REPO / "main.py")] and helper.args[0] == [str(script)]
    assert "pyvirtualcam" in app.kwargs["excludes"] and "pyvirtualcam" in helper.kwargs["hiddenimports"]
    assert not any(m.startswith("desktop_app.vcam_helper") for m in app.kwargs["hiddenimports"])
    assert {"desktop_app", "PySide6", "cv2", "onnxruntime", "av"} <= set(helper.kwargs["excludes"])
    assert "pyvirtualcam" not in helper.kwargs["excludes"]
    exes = {e.kwargs["name"]: e for e in _steps(calls, "EXE")}
    assert exes["locallens-vcam"].kwargs["console"] is True
    assert exes["locallens-vcam"].args[0].args[0] is helper.pure  # its own PYZ, not the app's
    assert exes["LocalLens"].args[0].args[0] is app.pure
    (collect,) = _steps(calls, "COLLECT")
    assert helper.binaries in collect.args and exes["locallens-vcam"] in collect.args


def test_build_accepts_stubs_and_the_helpers_gpl_entry(tmp_path: Path) -> None:
    """A file named libx264 passes only when it is a marked, code-free stub; a GPL index entry only for the helper."""
    build = _load_build()
    folder = tmp_path / "LocalLens"
    licenses = folder / "_internal" / "assets" / "licenses"
    shutil.copytree(REPO / "assets" / "licenses", licenses)
    lib = folder / "_internal" / "av.libs" / "libx264-0b814221.so.165"
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"\x7fELF" + b"\0" * 100 + build._stub_libs().STUB_MARK)
    assert build.license_problems(folder)[0] == []
    lib.write_bytes(b"\x7fELF" + b"\0" * 100 + b"x264 - core 165")  # the real library: refused
    assert build.license_problems(folder)[0] == [f"{lib.relative_to(folder).as_posix()} is a GPL-only library: "
                                                 "it must not ship"]
    lib.write_bytes(build._stub_libs().STUB_MARK + b"\0" * 300_000)  # marked but big: code came along
    assert build.license_problems(folder)[0] != []
    lib.unlink()
    index = json.loads((licenses / "index.json").read_text(encoding="utf-8"))
    (vcam,) = [e for e in index["components"] if e["id"] == "pyvirtualcam"]
    del vcam["program"]
    (licenses / "index.json").write_text(json.dumps(index), encoding="utf-8")
    assert build.license_problems(folder)[0] == [f"{vcam['name']} is GPL-2.0-only: a GPL-only component must not ship"]


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_build_refuses_a_windows_or_macos_bundle_with_pyavs_gpl_encoders(tmp_path: Path, platform: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No stub step there yet: a folder with av.libs' libx264/libx265 is refused, saying why."""
    build = _load_build()
    folder = tmp_path / "LocalLens"
    shutil.copytree(REPO / "assets" / "licenses", folder / "_internal" / "assets" / "licenses")
    name = "libx264-164-0b814221.dll" if platform == "win32" else "libx265.215.dylib"
    lib = folder / "_internal" / "av.libs" / name
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"MZ" + b"\0" * 64)
    monkeypatch.setattr(sys, "platform", platform)
    errors, _ = build.license_problems(folder)
    assert errors[0] == f"_internal/av.libs/{name} is a GPL-only library: it must not ship"
    assert errors[1].startswith(f"no stub step for {platform} yet") and len(errors) == 2


def test_strip_reaches_pyavs_modules_only() -> None:
    build = _load_build()
    assert build.STRIP_ANYWAY.search("_internal/av/video/frame.cpython-311-x86_64-linux-gnu.so")
    assert not build.STRIP_ANYWAY.search("_internal/av.libs/libavcodec-e57b519c.so.62.11.100")
    assert not build.STRIP_ANYWAY.search("_internal/numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so")
    assert build.group_of("_internal/av.libs/libavcodec-e57b519c.so.62.11.100") == "PyAV / FFmpeg"
    assert build.group_of("_internal/av/video/frame.cpython-311-x86_64-linux-gnu.so") == "PyAV / FFmpeg"
    assert build.group_of("locallens-vcam") == "pyvirtualcam"
    assert build.group_of("_internal/pyvirtualcam/_native_linux_v4l2loopback.so") == "pyvirtualcam"


def test_smoke_checks_the_bundle_and_a_clip_with_sound() -> None:
    smoke = (INSTALLER / "ci_smoke.sh").read_text(encoding="utf-8")
    assert "installer/check_bundle.py" in smoke and '--clip "$out_clip" --source "$clip"' in smoke
    assert 'add_stream("aac"' in smoke and '"$app" process "$clip"' in smoke
    check = (INSTALLER / "check_bundle.py").read_text(encoding="utf-8")
    for words in ('!= "h264"', '"audio" not in got', "x264 - core", "locallens-vcam", "libopenh264"):
        assert words in check, words


def test_clip_check_is_strict_once_videoio_stops_using_cv2_writer(tmp_path: Path) -> None:
    """The h264 + audio assertion is pending only while desktop_app/core/videoio.py writes with cv2.VideoWriter."""
    spec = importlib.util.spec_from_file_location("check_bundle", INSTALLER / "check_bundle.py")
    assert spec and spec.loader
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    assert check.W21_PENDING.search("self._writer = cv2.VideoWriter(\n")
    assert not check.W21_PENDING.search("stream = container.add_stream('libopenh264', rate=fps)")
    import av
    import numpy as np

    def clip(path: Path, audio: bool) -> Path:
        with av.open(str(path), "w") as out:
            v = out.add_stream("libopenh264", rate=10)
            v.width, v.height, v.pix_fmt = 32, 32, "yuv420p"
            a = out.add_stream("aac", rate=8000) if audio else None
            for _ in range(10):
                for p in v.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                    out.mux(p)
            for p in v.encode():
                out.mux(p)
            if a is not None:
                for i in range(8):
                    f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
                    f.sample_rate, f.pts = 8000, i * 1024
                    for p in a.encode(f):
                        out.mux(p)
                for p in a.encode():
                    out.mux(p)
        return path

    source, silent = clip(tmp_path / "src.mp4", True), clip(tmp_path / "silent.mp4", False)
    check.W21_PENDING = re.compile("never matches (?!)")
    check.check_clip(source, source)  # h264 + audio of the same length: passes
    with pytest.raises(SystemExit):
        check.check_clip(silent, source)  # the sound was dropped


def test_vcam_excludes_leave_what_the_helper_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """locallens-vcam's excluded stdlib packages: numpy, pyvirtualcam and PyInstaller's runtime hooks (pathlib,
    zipfile, inspect) still import without them (excluding urllib, then ipaddress, broke the frozen helper)."""
    calls = run_spec(monkeypatch, "linux", tmp_path)
    if len(_steps(calls, "Analysis")) > 1:
        spec_globals_excludes = _steps(calls, "Analysis")[1].kwargs["excludes"]
    else:  # the helper is not in this tree yet: read the list from the spec's text
        text = SPEC.read_text(encoding="utf-8")
        block = text[text.index("VCAM_EXCLUDES ="):text.index("]", text.index('"asyncio"'))]
        spec_globals_excludes = re.findall(r'"([\w.]+)"', block)
    stdlib = sorted(m for m in spec_globals_excludes if m in sys.stdlib_module_names)
    assert "asyncio" in stdlib
    # ...and whatever the helper's own files import at top level (when the helper is in this tree)
    helper_imports = set()
    for py in (REPO / "desktop_app" / "vcam_helper").glob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                helper_imports |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                helper_imports.add(node.module.split(".")[0])
    helper_imports -= {"desktop_app", "__future__"}
    probe = (
        "import sys\n"  # not importlib.abc: it imports pathlib (and so urllib, ipaddress) itself
        f"blocked = {stdlib!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in blocked: raise ImportError(name)\n"
        f"sys.path[:0] = {[str(Path(np_file).parent.parent) for np_file in [__import__('numpy').__file__]]!r}\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pathlib, zipfile, inspect, pkgutil, json, argparse, numpy, pyvirtualcam\n"
        f"for name in {sorted(helper_imports)!r}: __import__(name)\n"
        "numpy.zeros((2, 2, 3), numpy.uint8).tobytes()\n"
    )
    # -S: no site, so nothing (pathlib, urllib...) is imported before the blocker is in place
    done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-800:]
