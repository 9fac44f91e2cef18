#!/usr/bin/env bash
# `make demo`: a private Redis under var/ (unless REDIS_URL is set) and
# flowhost serving the example config in the foreground. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
started_redis=
if [ -z "${REDIS_URL:-}" ]; then
  port=${DEMO_REDIS_PORT:-6380}
  tools/redis.sh start demo-redis "$port"
  started_redis=1
  export REDIS_URL="redis://127.0.0.1:$port"
fi
trap '[ -n "$started_redis" ] && tools/redis.sh stop demo-redis' EXIT
listen=${FLOWHOST_LISTEN:-127.0.0.1:8080}
cat <<EOT
flowhost is starting on http://$listen (Redis: $REDIS_URL). Try:
  curl -s http://$listen/healthz
  curl -s http://$listen/readyz
  curl -s http://$listen/metrics
Stop with Ctrl-C (SIGTERM lets in-flight requests finish).
EOT
build/flowhost serve --config config/flowhost.lua &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; [ -n "$started_redis" ] && tools/redis.sh stop demo-redis' EXIT INT TERM
wait $pid
