#!/usr/bin/env bash
# CI smoke test of the frozen app (Linux): build dist/LocalLens with the project's venv, then run the frozen
# `self-test` and a GUI smoke (`--camera walk.mp4 --quit-after 60`) offscreen with no network, check the bundle
# (installer/check_bundle.py: stubs, libraries, pyvirtualcam only in locallens-vcam, PyAV encodes with OpenH264)
# and process a clip with sound through the frozen `process` (h264 + audio of the source's duration).
# Called by .ci/run after the tests:  bash installer/ci_smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=.venv/bin/python
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t_all=$(now)

# pyinstaller belongs in the dev extra; install the pinned one if this venv predates that.
if ! "$py" -c "import PyInstaller" 2>/dev/null; then
    echo "ci_smoke: PyInstaller missing from .venv: installing pyinstaller==6.22.3"
    .venv/bin/pip install -q "pyinstaller==6.22.3"
fi

t=$(now)
"$py" installer/build.py
build_s=$(elapsed "$t")
app="$root/dist/LocalLens/LocalLens"
[ -x "$app" ] || { echo "ci_smoke: $app was not built" >&2; exit 1; }

# No network for the frozen app: a user+network namespace has only a loopback that is down.
isolate=(unshare -rn)
if ! unshare -rn true 2>/dev/null; then
    echo "ci_smoke: unshare -rn is not permitted here: running WITH network access (the no-network proof is tests/test_offline.py)"
    isolate=()
fi

# Fresh user folders, the frozen app's own data (no LOCALLENS_ROOT), no display needed.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run_frozen() {
    (cd "$scratch" && env -u LOCALLENS_ROOT HOME="$scratch/home" XDG_CONFIG_HOME="$scratch/config" \
        XDG_CACHE_HOME="$scratch/cache" XDG_DATA_HOME="$scratch/data" QT_QPA_PLATFORM=offscreen \
        LOCALLENS_CONFIG_DIR="$scratch/config" LOCALLENS_DATA_DIR="$scratch/data" \
        timeout "$@")
}
mkdir -p "$scratch/home"

t=$(now)
run_frozen 300 "${isolate[@]}" "$app" self-test
selftest_s=$(elapsed "$t")

t=$(now)
gui_log="$scratch/gui.log"
status=0
run_frozen 300 "${isolate[@]}" "$app" --camera "$root/assets/samples/walk.mp4" --quit-after 60 >"$gui_log" 2>&1 || status=$?
gui_s=$(elapsed "$t")
cat "$gui_log"
if grep -q "window is not available in this build" "$gui_log"; then
    echo "ci_smoke: FAILED: the frozen app has no window (desktop_app.ui did not import)" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "ci_smoke: FAILED: GUI smoke exited $status (124 = timed out)" >&2
    exit 1
fi

# The bundle itself: libx264/libx265 (and the unused AV1 encoders) are code-free stubs, no renamed library is
# missing, pyvirtualcam is only in locallens-vcam, and the bundled PyAV encodes with OpenH264.
"$py" installer/check_bundle.py

# The frozen virtual-camera helper (a separate program) runs on its fake backend, driven by the app's own sink
# (the shared-memory ring and the pipe protocol): 3 distinct frames must reach it, then it exits cleanly.
vcam="$root/dist/LocalLens/locallens-vcam"
if [ -e desktop_app/vcam_helper/__main__.py ]; then
    [ -x "$vcam" ] || { echo "ci_smoke: FAILED: $vcam was not built" >&2; exit 1; }
    vcam_out=$(run_frozen 60 "$root/$py" - "$vcam" "$scratch/vcam.jsonl" <<'PY' 2>&1
import json, sys, time
from pathlib import Path
import numpy as np
from desktop_app.core.sinks import SinkFrame
from desktop_app.core.virtualcam import VirtualCamera
helper, record = sys.argv[1], Path(sys.argv[2])
def distinct() -> int:
    return len({json.loads(line)["row"] for line in record.open()}) if record.exists() else 0
cam = VirtualCamera(backend="fake", extra_args=("--record", str(record)), command=[helper])
cam.open((64, 48), 30.0)
print(json.dumps({"ok": cam.is_open, "backend": cam.opened_backend}))
for i in range(3):
    cam.send(SinkFrame(np.full((48, 64, 3), 40 * (i + 1), np.uint8), time.perf_counter(), i))
    deadline = time.monotonic() + 10
    while distinct() <= i and time.monotonic() < deadline:
        time.sleep(0.01)
cam.close()
print("helper exit", cam.helper_returncode)
PY
) || { echo "ci_smoke: FAILED: locallens-vcam: $vcam_out" >&2; exit 1; }
    echo "$vcam_out" | head -1 | grep -q '"ok": *true' || { echo "ci_smoke: FAILED: locallens-vcam said $vcam_out" >&2; exit 1; }
    echo "$vcam_out" | grep -q '^helper exit 0$' || { echo "ci_smoke: FAILED: locallens-vcam: $vcam_out" >&2; exit 1; }
    frames=$("$py" -c "import json,sys; print(len({json.loads(l)['row'] for l in open(sys.argv[1])}))" "$scratch/vcam.jsonl" 2>/dev/null || echo 0)
    [ "$frames" -eq 3 ] || { echo "ci_smoke: FAILED: locallens-vcam recorded $frames distinct frames, not 3" >&2; exit 1; }
    echo "ci_smoke: frozen locallens-vcam (fake backend, shared memory) took 3 distinct frames"
fi

# A short clip WITH SOUND through the frozen `process`: an h264 video stream and an audio stream of the
# source's duration (checked with PyAV from the build venv). Needs W21's H.264 + audio output.
clip="$scratch/tone.mp4"
"$py" - "$clip" <<'PY'
import sys, av, numpy as np
with av.open(sys.argv[1], "w") as out:
    v = out.add_stream("libopenh264", rate=25); v.width, v.height, v.pix_fmt = 320, 240, "yuv420p"
    a = out.add_stream("aac", rate=48000, layout="mono")
    for i in range(50):
        img = np.zeros((240, 320, 3), np.uint8); img[:, : 6 * i + 6] = (200, 120, 40)
        for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")): out.mux(p)
    for p in v.encode(): out.mux(p)
    t = np.arange(48000 * 2) / 48000
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for i in range(0, tone.size, 1024):
        f = av.AudioFrame.from_ndarray(tone[None, i:i + 1024].copy(), format="fltp", layout="mono")
        f.sample_rate, f.pts = 48000, i
        for p in a.encode(f): out.mux(p)
    for p in a.encode(): out.mux(p)
PY
t=$(now)
run_frozen 300 "${isolate[@]}" "$app" process "$clip" --effect blur --out "$scratch/out"
process_s=$(elapsed "$t")
out_clip=$(find "$scratch/out" -name "*.mp4" | head -1)
[ -n "$out_clip" ] || { echo "ci_smoke: FAILED: the frozen process wrote no mp4" >&2; exit 1; }
"$py" installer/check_bundle.py --clip "$out_clip" --source "$clip"

echo "ci_smoke: build ${build_s}s, frozen self-test ${selftest_s}s, frozen GUI 60 frames ${gui_s}s, frozen process ${process_s}s, total $(elapsed "$t_all")s"
# The closing line in the plain form CI reads (every failure above has already exited non-zero).
echo "ci_smoke: 4 passed, 0 failed"
