#!/usr/bin/env bash
# Create .venvs/server for bench/bench_server.py: the app (editable, so the server runs the same desktop_app.core)
# plus the benchmark-only packages of bench/requirements-server.txt (FastAPI, uvicorn, httpx, matplotlib, ...),
# which are never dependencies of the app. With npm on the PATH, also installs bench/server_node (npm ci:
# onnxruntime-node and sharp, from package-lock.json). Idempotent.
#   usage: bash tools/make_server_venv.sh && .venvs/server/bin/python bench/bench_server.py
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/.venvs/server"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet -e "$ROOT" -r "$ROOT/bench/requirements-server.txt"
if command -v npm >/dev/null; then
  (cd "$ROOT/bench/server_node" && npm ci --silent --no-audit --no-fund)
else
  echo "npm not found: the Node server (bench/server_node) will be skipped" >&2
fi
"$VENV/bin/python" -c "import fastapi, uvicorn, httpx; print('fastapi', fastapi.__version__, 'uvicorn', uvicorn.__version__)"
