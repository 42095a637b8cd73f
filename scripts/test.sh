#!/usr/bin/env bash
# Sets everything up, then runs the linters, the type checker and the test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root"
.venv/bin/ruff check mixbook_desktop tests bench
.venv/bin/ruff format --check mixbook_desktop tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
