#!/usr/bin/env bash
# CI smoke test of the frozen app (Linux): build dist/LocalLens with the project's venv, then run the frozen
# `self-test` and a GUI smoke (`--camera walk.mp4 --quit-after 60`) offscreen with no network.
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

echo "ci_smoke: build ${build_s}s, frozen self-test ${selftest_s}s, frozen GUI 60 frames ${gui_s}s, total $(elapsed "$t_all")s"
# The closing line in the plain form CI reads (either failure above has already exited non-zero).
echo "ci_smoke: 2 passed, 0 failed"
