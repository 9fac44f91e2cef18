#!/bin/bash
# Car-service happy path benchmark: flowhost serving the carwash tenant
# (rules only, Redis with AOF on, fsync every second) driven by N
# concurrent conversations from a second flowhost process.
#   bash bench/carwash.sh            (after a build: cmake --build build)
# Env: CARWASH_BENCH_SECONDS (20), CARWASH_BENCH_SETS ("64 1000"),
#      BENCH_CARWASH_PORT (18400), BENCH_CARWASH_REDIS_PORT (16393),
#      FLOWHOST_BIN (build/flowhost), FLOWHOST_WORKERS (2)
# Prints per set: turns/s, p50/p99/max, each busy thread's time running and
# waiting for a CPU (a shared machine), and the serving process's CPU per
# turn (its utime + stime from /proc/<pid>/stat over the set, divided by the
# turns; HTTP, JSON, Redis client and the tenant's Lua all included).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RPORT="${BENCH_CARWASH_REDIS_PORT:-16393}"
PORT="${BENCH_CARWASH_PORT:-18400}"
BIN="${FLOWHOST_BIN:-build/flowhost}"
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
export FLOWHOST_ADMIN_TOKEN="bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
CARWASH_BOOKINGS_PER_MINUTE=0 FLOWHOST_MAX_CONNECTIONS_PER_IP=0 \
CARWASH_BAYS=${CARWASH_BAYS:-40} FLOWHOST_LISTEN="127.0.0.1:$PORT" FLOWHOST_WORKERS=${FLOWHOST_WORKERS:-2} FLOWHOST_LOG_LEVEL=warn \
  "$BIN" serve --config config/flowhost.lua > var/bench-carwash/host.log 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
# the tenant's states (owner and copies): "<Lua CPU ms of their calls> <calls> <states> <KB per state>"
lua_cpu() {
  curl -s -H "Authorization: Bearer $FLOWHOST_ADMIN_TOKEN" "http://127.0.0.1:$PORT/admin/tenants/carwash" | python3 -c '
import json, sys
d = json.load(sys.stdin); s = [d] + d.get("copies", [])
print(sum(x.get("cpu_ms") or 0 for x in s), sum(x.get("calls") or 0 for x in s), len(s), sum(x.get("memory_kb") or 0 for x in s) / len(s))' 2>/dev/null || echo "0 0 0 0"
}
# the message route's handler-time histogram (cumulative "le count" pairs)
handler_hist() {
  curl -s "http://127.0.0.1:$PORT/metrics" | sed -n 's/^flowhost_handler_seconds_bucket{route="\/v1\/tenants\/{tenant}\/conversations\/{id}\/messages",le="\([^"]*\)"} \([0-9]*\)$/\1 \2/p' | tr '\n' ' '
}
# CPU ticks (utime + stime) of the serving process, and of each of its threads
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rticks() { awk '{print $14 + $15}' "/proc/$(cat var/bench-carwash/redis.pid)/stat"; }
# per thread: "tid:ns running:ns runnable but waiting for a CPU" (schedstat)
thread_ticks() { for t in /proc/$pid/task/*; do echo -n "${t##*/}:$(awk '{print $1 ":" $2}' "$t/schedstat") "; done; }
HZ=$(getconf CLK_TCK)
for n in ${CARWASH_BENCH_SETS:-64 1000}; do
  r0=$(rticks); c0=$(ticks); th0=$(thread_ticks); l0=$(lua_cpu); h0=$(handler_hist)
  out=$( { TIMEFORMAT="driver CPU: %U user + %S sys s"; time CARWASH_BENCH_URL="http://127.0.0.1:$PORT" \
    CARWASH_BENCH_CONVERSATIONS=$n "$BIN" test bench/carwash_bench.lua; } 2>&1 || true)
  r1=$(rticks); c1=$(ticks); th1=$(thread_ticks); l1=$(lua_cpu); h1=$(handler_hist)
  echo "$out" | grep -E "carwash happy path,|fail|error|driver CPU" | grep -v "^$" | sed 's/^driver/  driver/' || true
  turns=$(echo "$out" | sed -n 's/.*conversations: \([0-9]*\) turns in \([0-9.]*\) s.*/\1 \2/p')
  set -- $turns
  if [ -n "${1:-}" ] && [ "$1" -gt 0 ]; then
    awk -v c=$((c1 - c0)) -v r=$((r1 - r0)) -v hz="$HZ" -v t="$1" -v s="$2" 'BEGIN {
      printf "  server CPU: %.2f ms per turn (%.1f CPU-s over %.1f s: %.0f%% of a core); Redis %.0f%% of a core\n",
        c / hz * 1000 / t, c / hz, s, c / hz / s * 100, r / hz / s * 100 }'
    # in the tenant's own states only (the rules: flow, NLU, booking engine, their Redis calls)
    echo "$l0 $l1" | awk '$6 > $2 { printf "  tenant Lua CPU: %.3f ms per call (%d calls in %d states of ~%.0f KB)\n",
      ($5 - $1) / ($6 - $2), $6 - $2, $7, $8 }'
    # the server's own view: request complete -> answer (the driver's p99 adds its queues)
    python3 - "$h0" "$h1" <<'PY'
import sys
def parse(s):
    f = s.split(); return {f[i]: int(f[i + 1]) for i in range(0, len(f), 2)}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
n = b.get("+Inf", 0) - a.get("+Inf", 0)
if n > 0:
    share = lambda le: 100.0 * (b.get(le, 0) - a.get(le, 0)) / n
    print("  server-side handler time: %.1f%% within 0.1 s, %.1f%% within 0.5 s, %.1f%% within 1 s, %.1f%% within 2.5 s"
          % (share("0.1"), share("0.5"), share("1"), share("2.5")))
PY
    # per thread (the workers are the busy ones: one core each at most)
    # (waiting for a CPU: the machine is shared; the server could have used that time)
    paste <(echo "$th0" | tr ' ' '\n') <(echo "$th1" | tr ' ' '\n') | awk -v s="$2" '
      NF == 2 { split($1, a, ":"); split($2, b, ":"); run = (b[2] - a[2]) / 1e9; wait = (b[3] - a[3]) / 1e9
                if (run > 0.05 * s) printf "  thread %s: running %.0f%% of the time, waiting for a CPU %.0f%%\n",
                  b[1], run / s * 100, wait / s * 100 }'
  fi
done
