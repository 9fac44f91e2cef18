#!/usr/bin/env bash
# A private redis-server under var/ (never the system one).
#   tools/redis.sh start NAME PORT   starts var/NAME (AOF on), waits for PING
#   tools/redis.sh stop NAME         stops it by its pid file
set -euo pipefail
cmd=$1 name=$2
dir="$(pwd)/var/$name"
case "$cmd" in
  start)
    port=$3
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' \
      --appendonly yes --appendfsync everysec --maxmemory-policy noeviction >/dev/null
    for _ in $(seq 1 50); do
      # ours answers: its pid file exists and names a live process (another
      # server already on the port would answer PING too)
      if redis-cli -p "$port" ping >/dev/null 2>&1 && [ -f "$dir/redis.pid" ] \
         && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then exit 0; fi
      sleep 0.1
    done
    echo "redis on port $port did not start; see $dir/redis.log" >&2
    exit 1 ;;
  stop)
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/redis.pid"
    fi ;;
  *) echo "usage: $0 start NAME PORT | stop NAME" >&2; exit 2 ;;
esac
