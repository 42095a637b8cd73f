#!/usr/bin/env bash
# Sets everything up, then builds the demo book from the bundled photos.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
exec "$root/.venv/bin/mixbook-desktop" demo "$@"
