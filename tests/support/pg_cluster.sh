#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests (Debian's postgresql 15 binaries), on a free
# loopback port, with a database `pit` that user `postgres` reaches without a password.
#
#   tests/support/pg_cluster.sh start DIR    # initdb + start + createdb; prints the libpq URL
#   tests/support/pg_cluster.sh down DIR     # stops the server, keeps its data and port
#   tests/support/pg_cluster.sh up DIR       # starts it again on the same port
#   tests/support/pg_cluster.sh destroy DIR  # stops it (if running) and removes DIR
#
# initdb runs once per PostgreSQL version and user: its data directory is kept as a template
# ($TMPDIR/pit-pg-template-<version>-<uid>, or PIT_POSTGRES_TEMPLATE) and copied.
# DIR must not exist before `start` (its parent must). The URL is also written to DIR/url.
# Speed over safety: fsync and synchronous_commit are off (a crash loses the cluster, and
# a test never keeps one). initdb and postgres refuse to run as root: as root (CI) the
# cluster belongs to the `postgres` user created by the package, and is run as it.
# Exit 77 (CTest's skip code) when the binaries are missing.
set -euo pipefail

cmd=${1:?usage: pg_cluster.sh start|down|up|destroy DIR}
dir=${2:?usage: pg_cluster.sh start|down|up|destroy DIR}
bin=${PIT_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}

if [[ ! -x $bin/initdb ]]; then
  echo "pg_cluster: no PostgreSQL binaries in $bin (scripts/deps.sh installs postgresql)" >&2
  exit 77
fi

as_owner=()
if [[ $(id -u) -eq 0 ]]; then as_owner=(runuser -u postgres --); fi

server_start() {
  local port
  port=$(cat "$dir/port")
  # -w: returns once the server accepts connections (or fails, with the log to show why).
  if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -w -t 20 -l "$dir/server.log" \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
    cat "$dir/server.log" >&2 || true
    return 1
  fi
}

server_stop() {
  if [[ -f $dir/data/postmaster.pid ]]; then
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m "${1:-fast}" -w -t 20 stop >/dev/null || true
  fi
}

case $cmd in
  start)
    mkdir "$dir"
    if ((${#as_owner[@]})); then chown postgres "$dir"; fi
    chmod 700 "$dir"
    # initdb is most of a start (2 s, far more on a loaded machine): its result is kept once
    # per PostgreSQL version and user as a template, and each cluster starts as a copy.
    version=$("$bin/postgres" --version | awk '{print $3}')
    template=${PIT_POSTGRES_TEMPLATE:-${TMPDIR:-/tmp}/pit-pg-template-$version-$(id -u)}
    if [[ ! -f $template/PG_VERSION ]]; then
      building=$(mktemp -d "$template.XXXXXX")
      chmod 755 "$building"
      if ((${#as_owner[@]})); then chown postgres "$building"; fi
      "${as_owner[@]}" "$bin/initdb" -D "$building/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
        >"$building/initdb.log" 2>&1 || { cat "$building/initdb.log" >&2; rm -rf "$building"; exit 1; }
      # The database `pit` too, in single-user mode (no server, no port).
      echo "CREATE DATABASE pit" | "${as_owner[@]}" "$bin/postgres" --single -D "$building/data" -c fsync=off postgres \
        >"$building/single.log" 2>&1 || { cat "$building/single.log" >&2; rm -rf "$building"; exit 1; }
      # Several tests may build it at once: the first rename wins, the others' go.
      mv -T "$building/data" "$template" 2>/dev/null || true
      rm -rf "$building"
    fi
    cp -a "$template" "$dir/data"
    # A free loopback port below the ephemeral range, reserved against the other tests
    # (tests/support/children.py says why).
    PYTHONPATH="$(dirname "$0")" python3 -c 'from children import free_ports; print(free_ports(1)[0])' >"$dir/port"
    server_start
    port=$(cat "$dir/port")
    url="host=127.0.0.1 port=$port dbname=pit user=postgres connect_timeout=5"
    echo "$url" >"$dir/url"
    echo "$url"
    ;;
  down) server_stop fast ;;
  up) server_start ;;
  destroy)
    if [[ -d $dir ]]; then
      server_stop immediate
      rm -rf "$dir"
    fi
    ;;
  *)
    echo "pg_cluster: unknown command $cmd" >&2
    exit 2
    ;;
esac
