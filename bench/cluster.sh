#!/bin/bash
# Several hosts on one Redis (bench/cluster_bench.lua): CPU per turn with 3
# hosts against 1 (phases alternate), and Redis commands per turn.
#   bash bench/cluster.sh        (after a build: cmake --build build)
# BENCH_TURNS (600 chat turns + 600 webhooks a phase), BENCH_PHASES (4).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RPORT="${BENCH_CLUSTER_REDIS_PORT:-16397}"
FPORT="${BENCH_CLUSTER_FAKE_PORT:-19161}"
rm -rf var/bench-cluster && mkdir -p var/bench-cluster
tools/redis.sh start bench-cluster "$RPORT" >/dev/null
python3 tests/fakes/telegram.py --port "$FPORT" > var/bench-cluster/fake.out 2>&1 &
fake=$!
trap 'kill $fake 2>/dev/null; tools/redis.sh stop bench-cluster >/dev/null 2>&1 || true' EXIT
for _ in $(seq 600); do grep -q READY var/bench-cluster/fake.out 2>/dev/null && break; sleep 0.1; done
BENCH_FAKE_URL="http://127.0.0.1:$FPORT" BENCH_REDIS_PORT="$RPORT" REDIS_URL="redis://127.0.0.1:$RPORT" FLOWHOST_LUA_PATH="tests/support/?.lua" \
  FLOWHOST_BIN="$ROOT/build/flowhost" build/flowhost test bench/cluster_bench.lua 2>&1 | grep -v '^{"ts"'
