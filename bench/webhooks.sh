#!/bin/bash
# Webhook acknowledgement: Telegram webhooks (secret check + dedupe + stream
# append) with wrk at 64 and 256 connections, then how fast the consumer
# turns the stream into car-service replies (sent to the fake Bot API).
#   bash bench/webhooks.sh        (after a build: cmake --build build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${BENCH_WEBHOOK_PORT:-18600}"
RPORT="${BENCH_WEBHOOK_REDIS_PORT:-16396}"
FPORT="${BENCH_WEBHOOK_FAKE_PORT:-19160}"
SECS="${BENCH_SECONDS:-10}"
export BENCH_SECRET=bench-secret
rm -rf var/bench-webhooks && mkdir -p var/bench-webhooks
tools/redis.sh start bench-webhooks "$RPORT" >/dev/null
python3 tests/fakes/telegram.py --port "$FPORT" > var/bench-webhooks/fake.out 2>&1 &
fake=$!
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  kill "$fake" 2>/dev/null || true
  tools/redis.sh stop bench-webhooks >/dev/null 2>&1 || true
}
trap cleanup EXIT
export REDIS_URL="redis://127.0.0.1:$RPORT"
CARWASH_TELEGRAM_TOKEN=123456:BENCHBENCHBENCH CARWASH_TELEGRAM_SECRET=$BENCH_SECRET CARWASH_TELEGRAM_RATE=1000000 \
  TELEGRAM_API_URL="http://127.0.0.1:$FPORT" FLOWHOST_LISTEN="127.0.0.1:$PORT" FLOWHOST_WORKERS=2 FLOWHOST_MAX_CONNECTIONS_PER_IP=0 FLOWHOST_LOG_LEVEL=error \
  build/flowhost serve --config config/flowhost.lua > var/bench-webhooks/host.log 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
len() { redis-cli -p "$RPORT" xlen 'fh:in:{carwash}'; }
lag() { redis-cli -p "$RPORT" xinfo groups 'fh:in:{carwash}' | awk 'p{print; exit} /^lag$/{p=1}'; }
pending() { redis-cli -p "$RPORT" xpending 'fh:in:{carwash}' flowhost | head -1; }
for c in 64 256; do
  before=$(len)
  echo "== ${c} connections, ${SECS} s"
  wrk -t2 -c"$c" -d"${SECS}s" --latency -s bench/webhooks.lua "http://127.0.0.1:$PORT/webhooks/carwash/telegram" \
    | grep -E "Requests/sec|99%|Non-2xx|Socket errors" || true
  after=$(len)
  echo "   appended to the stream: $((after - before))"
  t0=$(date +%s.%N)
  while [ "$(lag)" != "0" ] || [ "$(pending)" != "0" ]; do sleep 0.2; done
  t1=$(date +%s.%N)
  echo "   stream drained (turns run, replies sent) $(python3 -c "print(f'{$t1-$t0:.1f}')") s after wrk stopped"
done
