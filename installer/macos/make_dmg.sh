#!/usr/bin/env bash
# Pack LocalLens.app into a compressed, drag-to-Applications disk image with hdiutil (macOS only).
# Usage: make_dmg.sh dist/LocalLens.app dist/LocalLens-<version>-macos-<arch>.dmg [version]
# The app is not signed or notarized here: Gatekeeper asks users to right-click > Open the first time.
# To sign: codesign --deep --force --options runtime --sign "Developer ID Application: ..." LocalLens.app
# before running this, then `xcrun notarytool submit <dmg> --wait` and `xcrun stapler staple <dmg>`.
set -euo pipefail
app=${1:?usage: make_dmg.sh APP DMG [VERSION]}
dmg=${2:?usage: make_dmg.sh APP DMG [VERSION]}
version=${3:-}
[ -d "$app" ] || { echo "make_dmg.sh: $app is not a folder" >&2; exit 1; }
command -v hdiutil >/dev/null || { echo "make_dmg.sh: hdiutil not found (macOS only)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# ditto keeps symlinks, permissions and extended attributes inside the bundle.
ditto "$app" "$stage/$(basename "$app")"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "LocalLens${version:+ $version}" -srcfolder "$stage" -fs HFS+ \
    -format UDZO -imagekey zlib-level=9 -ov "$dmg"
hdiutil verify "$dmg"
echo "wrote $dmg ($(du -h "$dmg" | cut -f1))"
