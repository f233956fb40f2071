#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests (Debian's postgresql package, installed by scripts/setup.sh):
#   scripts/pg-test-server.sh start DIR   initdb in DIR, start on a free port of 127.0.0.1; prints the port
#   scripts/pg-test-server.sh stop DIR    stop it (the caller removes DIR)
# Role `eddy`, password `eddy-test` over TCP (scram-sha-256), trust on its Unix socket in DIR; database `eddy`.
# As root, the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail
command=${1:?start or stop}
dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "pg-test-server: no PostgreSQL server installed (scripts/setup.sh installs it)" >&2; exit 1; }
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case $command in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    runuser -u postgres -- test -w "$dir" || { echo "pg-test-server: the postgres user cannot reach $dir (a parent directory is private)" >&2; exit 1; }
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_server bash -c "echo eddy-test > '$dir/password'"
  as_server "$bin/initdb" -D "$dir/data" -U eddy --pwfile="$dir/password" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=50" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  as_server "$bin/createdb" -h "$dir" -p "$port" -U eddy eddy
  echo "$port"
  ;;
stop)
  [ -d "$dir/data" ] && as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  ;;
*)
  echo "pg-test-server: start or stop, not $command" >&2
  exit 2
  ;;
esac
