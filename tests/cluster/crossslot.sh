#!/usr/bin/env bash
# The unit specs (every one that talks to Redis: locks, timers, bookings,
# channels, hand-offs, ledger, ...) against a Redis started with
# --cluster-enabled yes that owns all 16384 slots: it needs no redirection,
# yet refuses a script or command whose keys are on two slots (CROSSSLOT),
# and a script that touches a key of another slot than those it named, as a
# Redis Cluster does. Specs of single-Redis-only code (the moves of older key
# layouts) are tagged #single_redis and left out. docs/redis-keys.md lists
# what was audited.
#   tests/cluster/crossslot.sh [PORT]   (default: CLUSTER_BASE_PORT + 30)
set -uo pipefail
cd "$(dirname "$0")/../.."
port=${1:-$(( ${CLUSTER_BASE_PORT:-16500} + 30 ))}
dir="$(pwd)/var/cl-crossslot"
rm -rf "$dir" && mkdir -p "$dir"
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" \
  --logfile "$dir/redis.log" --save '' --appendonly no --cluster-enabled yes \
  --cluster-config-file "$dir/nodes.conf" >/dev/null || exit 1
stop() { [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null; }
trap stop EXIT
for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" cluster addslotsrange 0 16383 >/dev/null || exit 1
for _ in $(seq 1 50); do
  redis-cli -p "$port" cluster info | grep -q cluster_state:ok && break; sleep 0.1
done
REDIS_URL="redis://127.0.0.1:$port" FLOWHOST_LUA_PATH="tests/support/?.lua" \
  build/flowhost test --exclude-tags=single_redis tests/unit
