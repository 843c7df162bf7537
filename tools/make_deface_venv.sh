#!/usr/bin/env bash
# Create .venvs/deface: the `deface` CLI (deface==1.5.0, MIT) in its own venv, kept apart from the app venv, for
# bench/bench_faces_vs_deface.py (issue #11: LocalLens vs deface side by side). deface runs CenterFace with
# onnxruntime when `onnx` and `onnxruntime` import, else with OpenCV's dnn (slower): both are installed here, the
# same onnxruntime as the app venv, so deface gets its fair, faster backend (it prints "Running on
# CPUExecutionProvider." when it uses onnxruntime; the bench records that line). Every package is pinned to the
# set this resolved to, so a rebuild measures the same code. Idempotent: re-running only re-checks the packages.
#   usage: bash tools/make_deface_venv.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venvs/deface"
PY="${PYTHON:-python3.11}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
  "deface==1.5.0" "onnxruntime==1.32.0" "onnx==1.23.2" \
  "numpy==2.4.6" "opencv-python==5.0.0.93" "scikit-image==0.26.0" "scipy==1.17.1" \
  "ImageIO==2.38.2" "imageio-ffmpeg==0.8.1" "pillow==13.0.0" "tqdm==4.70.1" "protobuf==7.36.2" \
  "flatbuffers==25.12.19" "ml_dtypes==0.7.0" "tifffile==2026.3.3" "networkx==3.6.1" "lazy-loader==0.6" \
  "packaging==26.4" "typing_extensions==4.16.0"
"$VENV/bin/python" - <<'PY'
import deface, numpy, onnxruntime
from deface.centerface import CenterFace
backend = CenterFace().backend
print("deface", deface.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__,
      "backend", backend)
if backend != "onnxrt":
    raise SystemExit("deface would fall back to OpenCV's dnn: onnx/onnxruntime do not import")
PY
