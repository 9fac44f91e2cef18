#!/usr/bin/env bash
# Installs the Debian packages flowhost needs (when run as root), or prints
# the exact apt-get line and fails. Usage: tools/deps.sh [fuzz]
#   fuzz: also clang and its runtime libraries (libFuzzer, sanitizers), for
#         tests/fuzz/run.sh (`make fuzz`, and the short run in `make test`)
set -euo pipefail
PKGS=(build-essential cmake pkg-config libluajit-5.1-dev libcurl4-openssl-dev
      lua-cjson lua-cjson-dev libhiredis-dev libmicrohttpd-dev libuv1-dev libssl-dev
      lua-busted redis-server redis-tools redis-sentinel python3 curl wrk tzdata
      nodejs chromium)   # the studio's front-end build (npm) and its browser tests
# npm comes with some nodejs builds (NodeSource) and is its own package in Debian
command -v npm >/dev/null || PKGS+=(npm)
[ "${1:-}" = fuzz ] && PKGS+=(clang libclang-rt-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "flowhost needs these Debian packages. Run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
