#!/bin/sh
# Add LocalLens to your application menu (no root needed): installs the .desktop entry and icon for this user,
# pointing at the LocalLens executable in this folder. Run it again after moving the folder.
# `./install.sh --uninstall` removes them again (the folder itself is yours to delete).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps="$data/applications"
icons="$data/icons/hicolor/256x256/apps"
if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$apps/locallens.desktop" "$icons/locallens.png"
    echo "LocalLens removed from the application menu."
    exit 0
fi
if [ ! -x "$here/LocalLens" ]; then
    echo "install.sh: $here/LocalLens not found: run this script from the unpacked LocalLens folder" >&2
    exit 1
fi
mkdir -p "$apps" "$icons"
cp "$here/locallens.png" "$icons/locallens.png"
# Quote the path for the Exec key (spaces are allowed in the folder name).
exec_path=$(printf '%s' "$here/LocalLens" | sed -e 's/["`$\\]/\\&/g')
replacement=$(printf '%s' "$exec_path" | sed -e 's/[\\&|]/\\&/g')  # and for sed's replacement text
sed -e "s|^Exec=.*|Exec=\"$replacement\" %F|" "$here/locallens.desktop" > "$apps/locallens.desktop"
chmod 644 "$apps/locallens.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" >/dev/null 2>&1 || true
echo "LocalLens added to the application menu ($apps/locallens.desktop)."
