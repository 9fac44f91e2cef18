#!/bin/bash
# Peer benchmark end to end: flowhost vs nginx + Lua vs Node (see bench/README.md).
#
#   bash bench/run.sh            # or: make bench   (builds first)
#
# 1. setup      ../shared/bench/scripts/setup.sh (apt packages, vendored nginx lua module, npm ci)
# 2. build      build/flowhost if it is missing (make bench builds it anyway)
# 3. compare    ../shared/bench/scripts/compare.sh: /turn at c=64 and c=256 over 10,000
#               conversations and the contention case (100 conversations, c=256), every peer,
#               2 reps of 5 s warm-up + 30 s, then medians and the flowhost/nginx ratio table
# 4. LLM-bound  fake LLM (1 s), 1,000,000 conversation ids: nginx and flowhost at 1,000
#               connections, flowhost (and nginx, for reference) at 2,000 and 5,000
# 5. idle RSS   build/flowhost serve --config config/bench.lua with 2 workers, VmRSS after 2 s
# Everything started is stopped at the end (runner.py stopall; the idle flowhost by its PID).
#
# Env: BENCH_DIR (../shared/bench), BENCH_RUN ($PWD/var/bench-run), TAG (bench-<date-time>),
#      SKIP_SETUP=1, SKIP_COMPARE=1, SKIP_LLM=1, LLM_CONNS ("2000 5000"), plus compare.sh's
#      PEERS, REPS, DUR, WARM. About 11 min (compare) + 6 min (LLM-bound).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BENCH_DIR="${BENCH_DIR:-$ROOT/../shared/bench}"
[ -d "$BENCH_DIR/scripts" ] || { echo "bench/run.sh: no peer benchmark at $BENCH_DIR (set BENCH_DIR)" >&2; exit 1; }
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
export BENCH_RUN="${BENCH_RUN:-$ROOT/var/bench-run}"
mkdir -p "$BENCH_RUN"
export FLOWHOST_ROOT="$ROOT"
TAG="${TAG:-bench-$(date +%Y%m%d-%H%M%S)}"
R=(python3 "$BENCH_DIR/scripts/runner.py")
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

say() { printf '\n== bench: %s\n' "$*"; }
idle_pid=""
cleanup() {
  [ -n "$idle_pid" ] && kill "$idle_pid" 2>/dev/null && wait "$idle_pid" 2>/dev/null || true
  "${R[@]}" stopall >/dev/null 2>&1 || true
}
trap cleanup EXIT

if [ "${SKIP_SETUP:-0}" != 1 ]; then
  say "setup"
  bash "$BENCH_DIR/scripts/setup.sh"
fi

if [ ! -x build/flowhost ]; then
  say "build"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)"
fi

if [ "${SKIP_COMPARE:-0}" != 1 ]; then
  say "compare (tag $TAG)"
  TAG="$TAG" bash "$BENCH_DIR/scripts/compare.sh"
fi

if [ "${SKIP_LLM:-0}" != 1 ]; then
  say "LLM-bound (tag $TAG-llm)"
  "${R[@]}" redis aof
  "${R[@]}" llm start
  "${R[@]}" run nginx /turn_llm 1000000 1000 --timeout 30s --reps 1 --tag "$TAG-llm"
  "${R[@]}" run flowhost /bench/turn_llm 1000000 1000 --timeout 30s --reps 1 --tag "$TAG-llm"
  for c in ${LLM_CONNS:-2000 5000}; do
    "${R[@]}" run flowhost /bench/turn_llm 1000000 "$c" --timeout 30s --reps 1 --tag "$TAG-llm"
    "${R[@]}" run nginx /turn_llm 1000000 "$c" --timeout 30s --reps 1 --tag "$TAG-llm"
  done
  python3 "$BENCH_DIR/scripts/summarize.py" "$BENCH_RUN/results.jsonl" --tag "$TAG-llm"
fi

say "idle RSS: build/flowhost serve --config config/bench.lua, 2 workers"
"${R[@]}" redis aof >/dev/null
FLOWHOST_WORKERS=2 FLOWHOST_MAX_CONNECTIONS_PER_IP=0 FLOWHOST_LISTEN=127.0.0.1:8084 REDIS_URL=redis://127.0.0.1:6379 \
  ./build/flowhost serve --config config/bench.lua >"$BENCH_RUN/idle_flowhost.out" 2>&1 &
idle_pid=$!
sleep 2
rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$idle_pid/status")
echo "idle VmRSS after 2 s (2 workers): $rss"
kill "$idle_pid"; wait "$idle_pid" 2>/dev/null || true
idle_pid=""

"${R[@]}" stopall
say "done; every run is in $BENCH_RUN/results.jsonl (tags $TAG, $TAG-llm)"
