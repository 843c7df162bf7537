"""Screenshot of the real window on the Photos tab with a real photo of a person (README's hero picture).

Run under a real X server (Xvfb), so the window is drawn by the platform plugin users get:

    xvfb-run -a -s "-screen 0 1400x860x24" .venv/bin/python tools/screenshot_photos.py [effect] [photo] [out.png]

Defaults: blur, assets/samples/astronaut.jpg (NASA, public domain), docs/screenshot.png. It waits for the
processed preview (not a fixed sleep), then grabs the window. Settings and log go to a temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    effect = sys.argv[1] if len(sys.argv) > 1 else "blur"
    photo = Path(sys.argv[2] if len(sys.argv) > 2 else REPO / "assets" / "samples" / "astronaut.jpg")
    out = Path(sys.argv[3] if len(sys.argv) > 3 else REPO / "docs" / "screenshot.png")
    scratch = Path(tempfile.mkdtemp(prefix="locallens-shot-"))
    os.environ["LOCALLENS_CONFIG_DIR"] = str(scratch / "config")
    os.environ["LOCALLENS_DATA_DIR"] = str(scratch / "data")

    import onnxruntime  # noqa: F401  # before PySide6, as the app does
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_app.core.params import EffectParams
    from desktop_app.core.settings import Settings, SettingsStore
    from desktop_app.ui.app import configure_application, create_app_window

    store = SettingsStore(scratch / "config")
    settings = Settings()
    settings.effect = EffectParams(effect=effect, strength=70)  # type: ignore[arg-type]
    store.save(settings)
    app = QApplication(sys.argv[:1])
    configure_application(app)
    parts = create_app_window(store=store, demo_factory=None, camera_lister=lambda: [])
    window = parts.window
    window.resize(1400, 860)

    def grab(preview: object) -> None:
        if getattr(preview, "after", None) is None:
            return  # shown before the model was ready; the processed one follows

        def shoot() -> None:
            window.grab().save(str(out))
            print(f"wrote {out}")
            app.quit()

        QTimer.singleShot(300, shoot)  # let the compare view paint the new images

    window.photos.preview_shown.connect(grab)
    window.open_paths([photo])
    QTimer.singleShot(60_000, lambda: app.exit(1))  # never hang a script
    code = app.exec()
    parts.close()
    return int(code)


if __name__ == "__main__":
    raise SystemExit(main())
