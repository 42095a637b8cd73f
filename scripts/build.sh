#!/usr/bin/env bash
# Builds the one-folder bundle with PyInstaller (build.spec): dist/mixbook-desktop/, holding the
# `mixbook-desktop` executable, the models and everything they load. Set-up runs first.
#   scripts/build.sh [--dist DIR] [--work DIR]
# Copy the folder anywhere and run `mixbook-desktop/mixbook-desktop demo` there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$root/dist"
work="$root/build"
while [ $# -gt 0 ]; do
    case "$1" in
        --dist) dist="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        *) echo "usage: scripts/build.sh [--dist DIR] [--work DIR]" >&2; exit 2 ;;
    esac
done
bash "$root/scripts/setup.sh"
cd "$root"
# --clean: a bundle is built from what is installed now, never from an older build's cache.
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
    --distpath "$dist" --workpath "$work" build.spec
bundle="$dist/mixbook-desktop"
"$bundle/mixbook-desktop" --version
echo "build: $bundle ($(du -sh "$bundle" | cut -f1))"
