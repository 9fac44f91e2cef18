#!/bin/bash
# Car-service happy path benchmark: flowhost serving the carwash tenant
# (rules only, Redis with AOF on, fsync every second) driven by N
# concurrent conversations from a second flowhost process.
#   bash bench/carwash.sh            (after a build: cmake --build build)
# Env: CARWASH_BENCH_SECONDS (20), CARWASH_BENCH_SETS ("64 1000"),
#      BENCH_CARWASH_PORT (18400), BENCH_CARWASH_REDIS_PORT (16393)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RPORT="${BENCH_CARWASH_REDIS_PORT:-16393}"
PORT="${BENCH_CARWASH_PORT:-18400}"
rm -rf var/bench-carwash
tools/redis.sh start bench-carwash "$RPORT" >/dev/null
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  tools/redis.sh stop bench-carwash >/dev/null 2>&1 || true
}
trap cleanup EXIT
export REDIS_URL="redis://127.0.0.1:$RPORT"
echo "redis: appendonly $(redis-cli -p "$RPORT" config get appendonly | tail -1), appendfsync $(redis-cli -p "$RPORT" config get appendfsync | tail -1)"
# the driver names its own conversation ids (the tenant's API key), runs
# from one address and books far past a customer's per-minute limit
export CARWASH_API_KEY="bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CARWASH_BOOKINGS_PER_MINUTE=0 FLOWHOST_MAX_CONNECTIONS_PER_IP=0 \
CARWASH_BAYS=${CARWASH_BAYS:-40} FLOWHOST_LISTEN="127.0.0.1:$PORT" FLOWHOST_WORKERS=2 FLOWHOST_LOG_LEVEL=warn \
  build/flowhost serve --config config/flowhost.lua > var/bench-carwash/host.log 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
for n in ${CARWASH_BENCH_SETS:-64 1000}; do
  CARWASH_BENCH_URL="http://127.0.0.1:$PORT" CARWASH_BENCH_CONVERSATIONS=$n \
    build/flowhost test bench/carwash_bench.lua | grep -E "carwash happy path|success|fail|error" || true
done
