#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at the throwaway PostgreSQL server of
# scripts/postgres.sh, e.g. `scripts/with-postgres.sh make test`. The server is started
# if needed, and stopped afterwards unless it was already running before.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 command [args...]" >&2
    exit 2
fi

postgres="$(dirname "${BASH_SOURCE[0]}")/postgres.sh"
was_running=0
if bash "$postgres" status 2>/dev/null; then
    was_running=1
fi
if [ "$was_running" -eq 0 ]; then
    trap 'bash "$postgres" stop' EXIT
fi
bash "$postgres" start >/dev/null
DATABASE_URL="$(bash "$postgres" url)"
export DATABASE_URL
echo "with-postgres: DATABASE_URL=${DATABASE_URL%%:*}://...@${DATABASE_URL#*@}" >&2
"$@"
