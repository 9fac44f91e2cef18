#!/bin/bash
# Booking engine benchmark: availability query time and reserve/cancel
# throughput, run inside the host against a private Redis (port 16390).
#   bash bench/booking.sh        (after a build: cmake --build build)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${BENCH_BOOKING_REDIS_PORT:-16390}"
tools/redis.sh start bench-booking "$PORT" >/dev/null
trap 'tools/redis.sh stop bench-booking >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
REDIS_URL="redis://127.0.0.1:$PORT" FLOWHOST_LUA_PATH="tests/support/?.lua" \
  build/flowhost test bench/booking_spec.lua
