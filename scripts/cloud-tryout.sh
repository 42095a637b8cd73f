#!/usr/bin/env bash
# Cloud mode on this machine: S3 (SeaweedFS), the Rekognition stand-in, llama.cpp's server and
# a temporary PostgreSQL on 127.0.0.1, with BOOK pointed at them until Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
exec .venv/bin/python -m tests.support.loopback "$@"
