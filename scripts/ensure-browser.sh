#!/usr/bin/env bash
# Make sure Debian's chromium and the Noto CJK fonts are installed for the Playwright tests.
#
# Installs them with apt-get when running as root or with passwordless sudo. Otherwise
# it fails with instructions, unless YIWANG_SKIP_BROWSER=1, which skips the browser
# tests altogether (`make test` then deselects tests marked `browser`).
set -euo pipefail

CHROMIUM="/usr/bin/chromium"
PACKAGES=(chromium fonts-noto-cjk)

log() { printf 'ensure-browser: %s\n' "$*" >&2; }

if [ "${YIWANG_SKIP_BROWSER:-0}" = "1" ]; then
    log "YIWANG_SKIP_BROWSER=1: browser tests are skipped"
    exit 0
fi

fonts_installed() {
    if command -v dpkg-query >/dev/null 2>&1; then
        dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed"
    else
        command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi "Noto Sans CJK"
    fi
}

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
fonts_installed || missing+=(fonts-noto-cjk)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
else
    cat >&2 <<MSG
ensure-browser: missing: ${missing[*]}
  The browser tests drive Debian's chromium ($CHROMIUM) and need fonts-noto-cjk
  to render Chinese. Install them once:

      sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}

  or run without the browser tests:

      YIWANG_SKIP_BROWSER=1 make test
MSG
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    log "missing ${missing[*]} and no apt-get on this machine; install them by hand" \
        "or set YIWANG_SKIP_BROWSER=1"
    exit 1
fi

log "installing ${PACKAGES[*]} with apt-get"
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    "${PACKAGES[@]}" </dev/null

if [ ! -x "$CHROMIUM" ]; then
    log "apt-get finished but $CHROMIUM is still missing"
    exit 1
fi
log "installed: $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
