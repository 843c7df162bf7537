#!/usr/bin/env bash
# Create .venvs/mediapipe: MediaPipe's own runtime (mediapipe==0.10.14, which pins protobuf<5),
# kept apart from the app venv. mediapipe brings its own opencv-contrib-python: never add a second OpenCV
# package to this venv (uninstalling one of two breaks cv2). Used by tools/reference_masks.py and by
# benchmarks that compare against MediaPipe. Idempotent: re-running only re-checks the packages.
#   usage: bash tools/make_mediapipe_venv.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venvs/mediapipe"
PY="${PYTHON:-python3.11}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "mediapipe==0.10.14" "numpy<2" "pillow"
"$VENV/bin/python" -c "import mediapipe, numpy; print('mediapipe', mediapipe.__version__, 'numpy', numpy.__version__)"
