"""The About dialog and the licence texts it shows: every bundled component, each text readable and shipped."""

from __future__ import annotations

import json
import re
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest
from conftest import REPO

from desktop_app import __version__
from desktop_app.ui.about import AboutDialog, about_text, load_license_index

LICENSES = REPO / "assets" / "licenses"
# What the frozen app bundles on every platform (see installer/locallens.spec): each needs an entry.
EXPECTED = {"locallens", "python", "pyside6", "onnxruntime", "opencv", "ffmpeg", "numpy", "pillow", "pi-heif",
            "libheif", "libde265", "platformdirs", "av", "ffmpeg-av", "openh264", "av-libs", "pyvirtualcam"}
# The one program allowed a GPL component: the separate virtual-camera helper (notes in docs/licensing.md).
GPL_PROGRAM = "locallens-vcam"


def _index() -> dict:
    return json.loads((LICENSES / "index.json").read_text(encoding="utf-8"))


def test_the_index_lists_every_bundled_component_with_a_non_empty_text() -> None:
    index = _index()
    ids = {e["id"] for e in index["components"]}
    assert ids >= EXPECTED
    for entry in index["components"]:
        assert entry["license"] and entry["version"] and entry["name"]
        path = LICENSES / entry["file"]
        assert path.is_file() and path.stat().st_size > 500, entry["file"]
    files = {p.name for p in LICENSES.iterdir()} - {"index.json"}
    assert files == {e["file"] for e in index["components"]}  # no stray text that nothing lists
    total = sum(p.stat().st_size for p in LICENSES.iterdir())
    assert total < 1_000_000


def test_the_texts_are_the_real_licences() -> None:
    entries = {e["id"]: e for e in _index()["components"]}

    def text(component: str) -> str:
        return (LICENSES / entries[component]["file"]).read_text(encoding="utf-8")

    assert "GNU LESSER GENERAL PUBLIC LICENSE" in text("pyside6") and "Version 3" in text("pyside6")
    assert "GNU GENERAL PUBLIC LICENSE" in text("pyside6")  # the LGPL-3.0 builds on the GPL-3.0 text
    for lib in ("libheif", "libde265"):  # LGPL-3.0 and the GPL-3.0 it builds on, as for Qt
        assert "GNU LESSER GENERAL PUBLIC LICENSE" in text(lib) and "Version 3" in text(lib)
    assert "FFmpeg is redistributed within all opencv-python packages" in text("ffmpeg")
    assert "Apache License" in text("opencv")
    assert "MIT License" in text("onnxruntime") and "THIRD PARTY" in text("onnxruntime").upper()
    assert "PYTHON SOFTWARE FOUNDATION LICENSE" in text("python")
    assert "Redistribution and use in source and binary forms" in text("pi-heif")  # BSD-3-Clause
    assert "LGPLv3" in text("pi-heif") and "x265" not in text("pi-heif")  # the wheel's own statement
    for lib in ("libheif", "libde265"):
        for words in ("unmodified", "pi_heif.libs", "replace it with your own build of the same version",
                      f"strukturag/{lib} (tag v{entries[lib]['version']})"):
            assert words in entries[lib]["note"], (lib, words)
    note = entries["pyside6"]["note"]
    for words in ("LGPL-3.0", "unmodified", "_internal/PySide6", "replace them with your own build of the same "
                  "version", "qt.io", "PyPI"):
        assert words in note


# GPL-only (not LGPL) licence ids and the GPL encoder libraries that wheels have bundled: none may ship, or the
# whole Apache-2.0 installer falls under the GPL (pillow-heif's wheel bundled libx265, hence pi-heif).
GPL_ID = re.compile(r"(?<![\w-])A?GPL-", re.I)
GPL_LIBRARY = re.compile(r"x264|x265|xvid|libpostproc|fdk-aac", re.I)


def test_no_gpl_only_component_is_in_the_licence_index() -> None:
    """...except pyvirtualcam, which only the separate locallens-vcam program contains."""
    index = _index()
    gpl = [e["id"] for e in index["components"] if GPL_ID.search(e["license"])]
    assert gpl == ["pyvirtualcam"]
    for entry in index["components"] + index["not_collected"]:
        if entry.get("program") == GPL_PROGRAM:
            continue
        assert not GPL_ID.search(entry["license"]), f"{entry['name']} is {entry['license']}"
        assert not GPL_LIBRARY.search(" ".join([entry["id"], entry["name"], entry.get("file", "")])), entry["name"]
    assert not any(GPL_LIBRARY.search(p.name) for p in LICENSES.iterdir())


def test_the_gpl_check_sees_what_pillow_heif_brought() -> None:
    """The patterns above, against the entry the licence index had with pillow-heif."""
    assert GPL_ID.search("GPL-2.0-only") and GPL_ID.search("MIT AND GPL-3.0-or-later") and GPL_ID.search("AGPL-3.0")
    assert not GPL_ID.search("LGPL-3.0-only") and not GPL_ID.search("LGPL-2.1-or-later")
    assert GPL_LIBRARY.search("x265 (bundled in pillow-heif)") and not GPL_LIBRARY.search("libde265")


@pytest.mark.parametrize("component", ["pyside6", "opencv"])
def test_indexed_versions_are_the_pinned_ones(component: str) -> None:
    """The exactly pinned packages (pyproject.toml); ranges may resolve differently elsewhere: build.py warns."""
    entry = next(e for e in _index()["components"] if e["id"] == component)
    assert entry["version"] == metadata.version(entry["distribution"]), "rerun tools/collect_licenses.py"


def test_collect_licenses_reproduces_the_committed_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import collect_licenses
    finally:
        sys.path.remove(str(REPO / "tools"))
    out = tmp_path / "licenses"
    shutil.copytree(LICENSES, out)
    monkeypatch.setattr(collect_licenses, "COMMON", tmp_path / "no-common-licenses")  # keeps the earlier copies
    old = _index()
    new = collect_licenses.collect(out)
    assert [e["id"] for e in new["components"]] == [e["id"] for e in old["components"]]
    assert new["not_collected"] == old["not_collected"]
    changed = set()  # another Python or package version here: that entry's text may differ, the rest may not
    for before, after in zip(old["components"], new["components"], strict=True):
        if before["version"] != after["version"]:
            changed.add(before["file"])
            continue
        assert before == after
    for path in LICENSES.iterdir():
        if path.name not in changed and path.name != "index.json":
            assert (out / path.name).read_bytes() == path.read_bytes(), path.name


def test_about_text_names_every_component_the_models_and_the_assets() -> None:
    text = about_text(REPO / "models")
    assert text.startswith(f"LocalLens {__version__}")
    assert "license Apache-2.0" in text and "Apache License" in text  # the model licence text itself
    for entry in _index()["components"]:
        assert f"{entry['name']} {entry['version']} — {entry['license']}" in text
    for item in _index()["not_collected"]:
        assert item["name"] in text
    assert "public domain or CC0" in text
    lgpl = next(line for line in text.splitlines() if line.startswith("Under the LGPL:"))
    for words in ("Qt", "FFmpeg", "libheif", "libde265", "unmodified shared libraries", "replace"):
        assert words in lgpl
    assert "HEIC photos are read with libheif and libde265 under the LGPL-3.0" in text


def test_about_survives_a_missing_index(tmp_path: Path) -> None:
    text = about_text(REPO / "models", licenses=tmp_path / "nowhere")
    assert "The licence list could not be read" in text
    entries, skipped, problem = load_license_index(tmp_path)
    assert (entries, skipped) == ([], []) and problem


def test_the_dialog_lets_the_user_read_each_licence(qtbot) -> None:
    dialog = AboutDialog(models=REPO / "models", assets=REPO / "assets")
    qtbot.addWidget(dialog)
    dialog.show()
    assert f"LocalLens {__version__}" in dialog.browser.toPlainText()
    labels = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    for entry in _index()["components"]:
        assert f"{entry['name']} — {entry['license']}" in labels
        dialog.show_key(f"component:{entry['id']}")
        shown = dialog.browser.toPlainText()
        assert shown.startswith(f"{entry['name']} {entry['version']}\nLicence: {entry['license']}")
        assert (LICENSES / entry["file"]).read_text(encoding="utf-8")[:200].strip() in shown
    dialog.show_key("assets")
    assert "samples/astronaut.jpg" in dialog.browser.toPlainText()
    dialog.show_key("model:LICENSES/mediapipe-Apache-2.0.txt")
    assert "Apache License" in dialog.browser.toPlainText()


def test_the_new_video_components_say_what_each_licence_asks() -> None:
    """PyAV, its LGPL-3.0 FFmpeg, OpenH264 (with the patent caveat) and pyvirtualcam's GPL-2.0 obligations."""
    entries = {e["id"]: e for e in _index()["components"]}

    def text(component: str) -> str:
        return (LICENSES / entries[component]["file"]).read_text(encoding="utf-8")

    assert entries["av"]["license"] == "BSD-3-Clause" and "Redistribution and use" in text("av")
    assert entries["av"]["version"] == metadata.version("av")
    ffmpeg = entries["ffmpeg-av"]
    assert ffmpeg["license"] == "LGPL-3.0-or-later" and "GNU LESSER GENERAL PUBLIC LICENSE" in text("ffmpeg-av")
    for words in ("--enable-version3", "_internal/av.libs", "copying it over the file with the same name",
                  "NOT shipped", "libx264", "ffmpeg.org", "libavcodec 62."):
        assert words in ffmpeg["note"], words
    openh264 = entries["openh264"]
    assert openh264["license"] == "BSD-2-Clause" and "Redistribution and use" in text("openh264")
    for words in ("only for the binaries Cisco itself distributes", "does NOT cover it", "cisco/openh264 (tag v"):
        assert words in openh264["note"], words
    libs = entries["av-libs"]["note"]
    for lib in ("dav1d", "libvpx", "Opus", "Speex", "libdrm"):
        assert f"{lib} (lib" in libs, lib
    for stubbed in ("libx264", "libx265", "libaom", "libSvtAv1Enc", "libmp3lame", "libgnutls", "libavdevice",
                    "libvorbis"):
        assert f"({stubbed}.so" not in libs  # replaced by stubs: not shipped, so not listed as shipped
    vcam = entries["pyvirtualcam"]
    assert vcam["license"] == "GPL-2.0-only" and vcam["program"] == GPL_PROGRAM
    assert "GNU GENERAL PUBLIC LICENSE" in text("pyvirtualcam") and "Version 2" in text("pyvirtualcam")
    for words in ("letmaik/pyvirtualcam, tag v0.15.0", "no source package on PyPI", "Written offer",
                  "separate helper program locallens-vcam"):
        assert words in vcam["note"], words
    assert [e["id"] for e in _index()["components"] if e.get("program")] == ["pyvirtualcam"]


def test_about_says_the_gpl_helper_is_a_separate_program() -> None:
    text = about_text(REPO / "models")
    assert "pyvirtualcam 0.15.0 — GPL-2.0-only (only in locallens-vcam)" in text
    assert "locallens-vcam is a separate program" in text and "written offer" in text
    assert "GPL encoders (x264, x265) are not included" in text and "not this copy" in text
