#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run): installs what is
# missing, builds (plus an ASan build for the C tests), starts a private
# Redis and the fake upstream, runs the C tests, a short fuzzing run, the unit specs inside the
# runtime, the integration and security specs against the real binary, the studio in a
# browser, then stops everything it started.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
tools/deps.sh fuzz || exit 1      # the packages, clang for the fuzzing run too
set -e
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFLOWHOST_ASAN=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
tools/studio-build.sh              # the studio's front-end (npm ci, esbuild) into build/studio/
set +e

export TEST_REDIS_PORT=${TEST_REDIS_PORT:-16379}
export REDIS_URL="redis://127.0.0.1:$TEST_REDIS_PORT"
export UPSTREAM_PORT=${UPSTREAM_PORT:-19001}
export UPSTREAM_URL="http://127.0.0.1:$UPSTREAM_PORT"
export LLM_FAKE_PORT=${LLM_FAKE_PORT:-19002}
export LLM_FAKE_URL="http://127.0.0.1:$LLM_FAKE_PORT"
mkdir -p var/test
UPSTREAM_PID=
LLM_FAKE_PID=
HOST_PID=
cleanup() {
  [ -n "$HOST_PID" ] && kill -TERM "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null
  [ -n "$UPSTREAM_PID" ] && kill "$UPSTREAM_PID" 2>/dev/null
  [ -n "$LLM_FAKE_PID" ] && kill "$LLM_FAKE_PID" 2>/dev/null
  tools/redis.sh stop test-redis
}
trap cleanup EXIT
rm -rf var/test-redis  # every run starts from an empty Redis
tools/redis.sh start test-redis "$TEST_REDIS_PORT" || exit 1
python3 tests/fakes/upstream.py --port "$UPSTREAM_PORT" > var/test/upstream.out 2>&1 &
UPSTREAM_PID=$!
for _ in $(seq 1 50); do grep -q READY var/test/upstream.out 2>/dev/null && break; sleep 0.1; done
python3 tests/fakes/llm.py --port "$LLM_FAKE_PORT" > var/test/llm-fake.out 2>&1 &
LLM_FAKE_PID=$!
for _ in $(seq 1 50); do grep -q READY var/test/llm-fake.out 2>/dev/null && break; sleep 0.1; done

failed=0 passed=0 failures=
tally() { # name, exit code
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "== $1: ok"
  else failed=$((failed + 1)); failures="$failures${failures:+, }$1"; echo "== $1: FAILED ($2)"; fi
}
# a suite's output also goes to var/test/suite.log; what failed is printed
# again at the end (CI shows the tail of a long run)
SUITE_LOG=var/test/suite.log
FAILED_LOG=var/test/failed.log
: > "$FAILED_LOG"
keep_failures() { # name: the failure reports of the suite just run
  grep -v '^[+.-]*{"ts"' "$SUITE_LOG" | grep -A12 -E '^(Failure|Error) ->|FAILED|^[^ ]+\.(c|lua):[0-9]+: |^ *✖ ' \
    | head -150 | sed "s/^/[$1] /" >> "$FAILED_LOG"
}
suite() { # name, command...
  local name=$1; shift
  # (tee through a process substitution: bash does not wait for it, so a
  # child a test leaves behind cannot hold the run)
  "$@" > >(tee "$SUITE_LOG") 2>&1
  local rc=$?
  sleep 0.2                                   # tee's last lines
  tally "$name" "$rc"
  [ "$rc" -eq 0 ] || keep_failures "$name"
}

echo "== C tests (ctest, AddressSanitizer)"
suite "C tests" bash -c 'cd build-asan && ctest --output-on-failure'

echo "== fuzzing (libFuzzer: kept inputs replayed, then a short fixed-seed run per target)"
suite "fuzzing" tests/fuzz/run.sh --quick

echo "== unit specs (inside the runtime)"
suite "unit specs" env FLOWHOST_LUA_PATH="tests/support/?.lua" build/flowhost test tests/unit

echo "== integration specs (real binary, real Redis)"
suite "integration specs" env FLOWHOST_LUA_PATH="tests/support/?.lua" FLOWHOST_BIN="$ROOT/build/flowhost" build/flowhost test tests/integration

echo "== security specs (a hostile tenant and a hostile chat client against the real binary)"
suite "security specs" env FLOWHOST_LUA_PATH="tests/support/?.lua" FLOWHOST_BIN="$ROOT/build/flowhost" build/flowhost test tests/security

echo "== kill storm (tests/storm: Telegram webhooks as fast as one host takes them, kill -9 every 5 s)"
# 0 never answered, 0 answered twice, 0 answered in part under in_doubt =
# "resend" (docs/exactly-once.md); a short claim time keeps the drain short
suite "kill storm" python3 tests/storm/storm.py --port "${STORM_PORT:-18097}" --duration 20 --kill-every 5 \
  --quiet 10 --claim-idle-ms 3000 --logdir var/test/storm --json var/test/storm.json

echo "== cluster (3 hosts on Redis Sentinel: order, a host kill, a master failover; docs/cluster.md)"
export CLUSTER_BASE_PORT=${CLUSTER_BASE_PORT:-16500}
suite "cluster specs" env FLOWHOST_LUA_PATH="tests/support/?.lua" FLOWHOST_BIN="$ROOT/build/flowhost" build/flowhost test tests/cluster
echo "== cluster keys (the unit specs on a cluster-enabled Redis: no CROSSSLOT)"
suite "cluster keys" tests/cluster/crossslot.sh

echo "== flowhost check (every tenant's flows load and validate)"
suite "flowhost check" build/flowhost check

echo "== tenant flow specs (a running host over HTTP, real Redis)"
CHAT_PORT=${CHAT_PORT:-18090}
# (the specs book far past a minute's business-wide limit, which has its own specs)
CARWASH_BOOKINGS_PER_MINUTE=0 SALON_BOOKINGS_PER_MINUTE=0 FLOWHOST_LISTEN="127.0.0.1:$CHAT_PORT" FLOWHOST_WORKERS=2 \
  build/flowhost serve --config config/flowhost.lua > var/test/tenant-host.log 2>&1 &
HOST_PID=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$CHAT_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
suite "tenant flow specs" env FLOWHOST_CHAT_URL="http://127.0.0.1:$CHAT_PORT" build/flowhost test flows/*/spec
kill -TERM "$HOST_PID" 2>/dev/null && wait "$HOST_PID" 2>/dev/null
HOST_PID=

echo "== browser (studio): chromium against a host of its own (screenshots in var/test/studio-screens/)"
suite "browser (studio)" node --test --test-reporter=spec tests/browser/

echo "suites: $passed passed, $failed failed${failures:+ ($failures)}"
if [ "$failed" -gt 0 ]; then
  echo "== what failed (again, from var/test/failed.log)"
  cat "$FAILED_LOG"
  echo "suites failed: $failures"
fi
[ "$failed" -eq 0 ]
