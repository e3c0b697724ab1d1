#!/usr/bin/env bash
# Runs a command against a PostgreSQL 15 server of its own (initdb in a temporary folder, a loopback port, trust
# auth), so a bench can measure server settings the machine's shared server does not have. The command gets
# BENCH_DATABASE_URL (the bench's databases are created there). The server and its folder go at the end.
#   bench/pipeline/private-postgres.sh defaults <command…>   PostgreSQL's own defaults
#   bench/pipeline/private-postgres.sh tuned <command…>      bigger buffers and WAL, lz4 WAL compression, no JIT (BENCHMARKS.md, "Write path")
# As root (CI, this machine) the server runs as the postgres OS user, which PostgreSQL requires.
set -euo pipefail
profile=$1
shift
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# Durability stays at its defaults (fsync, full_page_writes, synchronous_commit on): only cost settings change.
case $profile in
  defaults) settings='' ;;
  tuned) settings='-c shared_buffers=1GB -c max_wal_size=8GB -c min_wal_size=1GB -c checkpoint_timeout=15min -c wal_compression=lz4 -c jit=off' ;;
  *) echo "usage: $0 defaults|tuned <command…>" >&2; exit 2 ;;
esac
dir=$(mktemp -d /tmp/sitestream-bench-pg-XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
chmod 700 "$dir"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
cleanup() {
  as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
  -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=100 $settings" start >/dev/null
echo "private PostgreSQL on port $port ($profile):$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size', 'checkpoint_timeout', 'wal_compression', 'jit', 'synchronous_commit')" | sed 's/^/ /')"
BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" "$@"
echo "checkpoints (timed / requested by WAL volume): $(psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'SELECT checkpoints_timed || '"' / '"' || checkpoints_req FROM pg_stat_bgwriter')"
