#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster, started from the installed
# binaries and removed when the command ends. DATABASE_URL points the command at it.
#   scripts/with-postgres.sh .venv/bin/pytest
set -euo pipefail

pgbin=${MANDAT_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL binaries not found (apt-get install postgresql)" >&2; exit 1; }

dir=$(mktemp -d /tmp/mandat-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: the cluster belongs to the postgres system user.
  chown postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
  "${as_owner[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${as_owner[@]}" "$pgbin/initdb" -D "$dir/data" -U mandat --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_owner[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start -o \
  "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
"${as_owner[@]}" "$pgbin/createdb" -h "$dir" -p "$port" -U mandat mandat

export DATABASE_URL="postgres://mandat@127.0.0.1:$port/mandat"
export MANDAT_PG_SOCKET_DIR="$dir"
"$@"
