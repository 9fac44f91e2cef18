#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run): installs what is
# missing, builds (plus an ASan build for the C tests), starts a private
# Redis and the fake upstream, runs the C tests, the unit specs inside the
# runtime and the integration specs against the real binary, then stops
# everything it started.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
tools/deps.sh || exit 1
set -e
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFLOWHOST_ASAN=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
set +e

export TEST_REDIS_PORT=${TEST_REDIS_PORT:-16379}
export REDIS_URL="redis://127.0.0.1:$TEST_REDIS_PORT"
export UPSTREAM_PORT=${UPSTREAM_PORT:-19001}
export UPSTREAM_URL="http://127.0.0.1:$UPSTREAM_PORT"
mkdir -p var/test
UPSTREAM_PID=
cleanup() {
  [ -n "$UPSTREAM_PID" ] && kill "$UPSTREAM_PID" 2>/dev/null
  tools/redis.sh stop test-redis
}
trap cleanup EXIT
rm -rf var/test-redis  # every run starts from an empty Redis
tools/redis.sh start test-redis "$TEST_REDIS_PORT" || exit 1
python3 tests/fakes/upstream.py --port "$UPSTREAM_PORT" > var/test/upstream.out 2>&1 &
UPSTREAM_PID=$!
for _ in $(seq 1 50); do grep -q READY var/test/upstream.out 2>/dev/null && break; sleep 0.1; done

failed=0 passed=0
tally() { # name, exit code
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "== $1: ok"
  else failed=$((failed + 1)); echo "== $1: FAILED ($2)"; fi
}

echo "== C tests (ctest, AddressSanitizer)"
(cd build-asan && ctest --output-on-failure)
tally "C tests" $?

echo "== unit specs (inside the runtime)"
FLOWHOST_LUA_PATH="tests/support/?.lua" build/flowhost test tests/unit
tally "unit specs" $?

echo "== integration specs (real binary, real Redis)"
FLOWHOST_LUA_PATH="tests/support/?.lua" FLOWHOST_BIN="$ROOT/build/flowhost" build/flowhost test tests/integration
tally "integration specs" $?

echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
