#!/usr/bin/env bash
# Screenshot of the real window under Xvfb (a real X server), with the fake camera and an effect applied.
# Needs Debian's xvfb, xauth, xdotool, imagemagick and Qt's xcb libraries (see installer/ci_smoke.sh).
#   bash tools/screenshot.sh [effect] [out.png]      e.g. bash tools/screenshot.sh replace docs/screenshot.png
set -euo pipefail
cd "$(dirname "$0")/.."
effect=${1:-blur}
out=${2:-docs/screenshot.png}
tmp=$(mktemp -d)
trap 'kill ${app:-} ${xvfb:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/config"
cat > "$tmp/config/settings.json" <<JSON
{"schema_version": 1, "effect": {"effect": "$effect", "strength": 70,
 "background": "$(pwd)/assets/backgrounds/bokeh.jpg", "color": null,
 "threshold": 0.5, "feather": 0.3, "smoothing": 0.5}}
JSON
display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1400x860x24 >/dev/null 2>&1 &
xvfb=$!
sleep 1
DISPLAY=$display LOCALLENS_CONFIG_DIR="$tmp/config" LOCALLENS_DATA_DIR="$tmp/data" \
  .venv/bin/python main.py --camera assets/samples/walk.mp4 >"$tmp/app.log" 2>&1 &
app=$!
sleep 8
window=$(DISPLAY=$display xdotool search --sync --onlyvisible --name LocalLens | head -1)
DISPLAY=$display import -window "$window" "$out"
echo "wrote $out"
