#!/usr/bin/env bash
# The Redis backup and restore drill of docs/deploy.md, on two private
# redis-servers under var/redis-drill (never a live one):
#   tools/redis-drill.sh [PORT_A] [PORT_B]     (default 23381 23382)
# A (the "production" copy: AOF everysec + RDB) takes N bookings-like keys,
# is backed up (BGSAVE, then a copy of dump.rdb and of appendonlydir/), and
# both copies are restored into B the way docs/deploy.md says. Prints the
# key counts; exits 1 if a restore lost a key. Also shows the trap: an RDB
# dropped into a server started with appendonly yes comes up empty.
set -euo pipefail
A=${1:-23381} B=${2:-23382} N=${N:-2000}
DIR="$(pwd)/var/redis-drill"
rm -rf "$DIR"; mkdir -p "$DIR"/{live,backup,rdb,aof,trap}
pids=()
start() { # dir port appendonly
  redis-server --port "$2" --bind 127.0.0.1 --dir "$1" --daemonize yes --pidfile "$1/redis.pid" \
    --logfile "$1/redis.log" --appendonly "$3" --appendfsync everysec --save "900 1" >/dev/null
  for _ in $(seq 1 50); do redis-cli -p "$2" ping >/dev/null 2>&1 && [ -s "$1/redis.pid" ] && break; sleep 0.1; done
  pids+=("$(cat "$1/redis.pid")")
}
stop() { local p; p=$(cat "$1/redis.pid"); kill "$p"; for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; }
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
count() { redis-cli -p "$1" dbsize; }

start "$DIR/live" "$A" yes
for i in $(seq 1 "$N"); do echo "SET bk:{drill}:b:$i booking-$i"; done | redis-cli -p "$A" >/dev/null
# backup: a fresh snapshot, then copy it and the AOF folder
before=$(redis-cli -p "$A" lastsave)
redis-cli -p "$A" bgsave >/dev/null
until [ "$(redis-cli -p "$A" lastsave)" != "$before" ]; do sleep 0.1; done
cp "$DIR/live/dump.rdb" "$DIR/backup/" && cp -r "$DIR/live/appendonlydir" "$DIR/backup/"
echo "live: $(count "$A") keys, backed up"

# restore 1: the RDB, loaded with AOF off, then AOF switched on (it is written from memory)
cp "$DIR/backup/dump.rdb" "$DIR/rdb/"
start "$DIR/rdb" "$B" no
redis-cli -p "$B" config set appendonly yes >/dev/null
until redis-cli -p "$B" info persistence | grep -q "aof_rewrite_in_progress:0"; do sleep 0.1; done
sleep 1
stop "$DIR/rdb"; start "$DIR/rdb" "$B" yes
rdb=$(count "$B"); stop "$DIR/rdb"
echo "restore from dump.rdb (AOF off, then on): $rdb keys"

# restore 2: the AOF folder as it is
cp -r "$DIR/backup/appendonlydir" "$DIR/aof/"
start "$DIR/aof" "$B" yes
aof=$(count "$B"); stop "$DIR/aof"
echo "restore from appendonlydir/: $aof keys"

# the trap: dump.rdb into a server started with appendonly yes
cp "$DIR/backup/dump.rdb" "$DIR/trap/"
start "$DIR/trap" "$B" yes
trapped=$(count "$B"); stop "$DIR/trap"
echo "the trap (dump.rdb, started with appendonly yes): $trapped keys"

[ "$rdb" = "$N" ] && [ "$aof" = "$N" ] || { echo "FAILED: a restore lost keys" >&2; exit 1; }
echo "drill passed"
