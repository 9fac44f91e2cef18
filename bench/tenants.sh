#!/bin/bash
# 1,000 tenants on one host: start-up time, RSS, and the time from a file
# write to the new version serving.
#   bash bench/tenants.sh        (after a build: cmake --build build)
# Env: BENCH_TENANTS (1000), BENCH_TENANTS_PORT (18500),
#      BENCH_TENANTS_REDIS_PORT (16395), BENCH_RELOADS (40)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${BENCH_TENANTS:-1000}"
PORT="${BENCH_TENANTS_PORT:-18500}"
RPORT="${BENCH_TENANTS_REDIS_PORT:-16395}"
DIR="var/bench-tenants"
rm -rf "$DIR" && mkdir -p "$DIR/tenants" "$DIR/flows"
# the shops are copies of carwash, which reads CARWASH_* variables: a
# tenant may read only its own (SHOP0001_*) unless the platform allows more
printf 'return { languages = { "en" }, limits = { cpu_ms = 100 }, env_allow = { "CARWASH_*" } }\n' > "$DIR/tenants/_platform.lua"
for i in $(seq -w 1 "$N"); do
  cp config/tenants/carwash.lua "$DIR/tenants/shop$i.lua"
  mkdir -p "$DIR/flows/shop$i"
  cp flows/carwash/*.lua "$DIR/flows/shop$i/"
done
tools/redis.sh start bench-tenants "$RPORT" >/dev/null
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  tools/redis.sh stop bench-tenants >/dev/null 2>&1 || true
}
trap cleanup EXIT
export REDIS_URL="redis://127.0.0.1:$RPORT"
t0=$(date +%s.%N)
FLOWHOST_ADMIN_TOKEN=bench FLOWHOST_TENANTS_DIR="$DIR/tenants" FLOWHOST_FLOWS_DIR="$DIR/flows" \
  FLOWHOST_LISTEN="127.0.0.1:$PORT" FLOWHOST_WORKERS=2 FLOWHOST_LOG_LEVEL=warn \
  FLOWHOST_MAX_CONNECTIONS_PER_IP=0 build/flowhost serve --config config/flowhost.lua > "$DIR/host.log" 2>&1 &
pid=$!
BENCH_TENANTS_URL="http://127.0.0.1:$PORT" BENCH_TENANTS_DIR="$DIR" BENCH_TENANTS_PID="$pid" \
  BENCH_TENANTS_T0="$t0" BENCH_TENANTS_N="$N" BENCH_RELOADS="${BENCH_RELOADS:-40}" \
  build/flowhost test bench/tenants_bench.lua | grep -E "tenants|reload|success|fail|rror" || true
