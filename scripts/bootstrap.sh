#!/usr/bin/env bash
# Make sure uv is available, then install the locked Python dependencies into .venv.
#
#   scripts/bootstrap.sh             ensure uv, then `uv sync --locked`
#   scripts/bootstrap.sh --print-uv  ensure uv and print its path (nothing else on stdout)
#
# uv is taken from $UV, else .tools/bin/uv, else `uv` on PATH; if none exists it is
# installed (pinned) into .tools/ with the machine's python3 and pip. Python itself is
# never downloaded: uv uses the Python 3.11 already on the machine.
set -euo pipefail

UV_VERSION="0.13.8"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export UV_PYTHON_DOWNLOADS=never

log() { printf 'bootstrap: %s\n' "$*" >&2; }

install_uv() {
    local python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        log "no $python found; install Python 3.11 (Debian: apt-get install python3 python3-venv)"
        exit 1
    fi
    log "installing uv==$UV_VERSION into .tools/ with $python"
    if "$python" -m venv .tools >/dev/null 2>&1 && [ -x .tools/bin/pip ]; then
        .tools/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    else
        # Debian's python3 without python3-venv cannot make a venv with pip in it;
        # install the uv wheel into a plain directory instead.
        log "python3 -m venv is unavailable; falling back to pip install --target"
        rm -rf .tools
        "$python" -m pip install --quiet --disable-pip-version-check \
            --target .tools/pip "uv==$UV_VERSION"
        mkdir -p .tools/bin
        ln -sf ../pip/bin/uv .tools/bin/uv
    fi
    if ! .tools/bin/uv --version >/dev/null 2>&1; then
        log "uv was installed but .tools/bin/uv does not run"
        exit 1
    fi
}

find_uv() {
    if [ -n "${UV:-}" ] && [ -x "$(command -v "$UV" 2>/dev/null)" ]; then
        command -v "$UV"
    elif [ -x .tools/bin/uv ]; then
        echo .tools/bin/uv
    elif command -v uv >/dev/null 2>&1; then
        command -v uv
    else
        install_uv
        echo .tools/bin/uv
    fi
}

uv_bin="$(find_uv)"

case "${1:-}" in
    --print-uv)
        echo "$uv_bin"
        ;;
    "")
        version="$("$uv_bin" --version | awk '{print $2}')"
        if [ "$version" != "$UV_VERSION" ]; then
            log "note: using uv $version from $uv_bin (the pinned version is $UV_VERSION)"
        fi
        "$uv_bin" sync --locked
        # The compiled fast paths, when a C compiler is at hand; without one the Python
        # reference runs instead, identical in every answer, only slower.
        if command -v "${CC:-cc}" >/dev/null 2>&1; then
            "$uv_bin" run --locked python scripts/build_fast.py \
                || log "the compiled fast paths were not built; the Python reference is used"
        else
            log "no C compiler (cc): the compiled fast paths are not built; the Python" \
                "reference is used (Debian: apt-get install gcc libc6-dev zlib1g-dev)"
        fi
        ;;
    *)
        echo "usage: $0 [--print-uv]" >&2
        exit 2
        ;;
esac
