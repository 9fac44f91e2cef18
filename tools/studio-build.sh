#!/usr/bin/env bash
# Builds the studio's front-end (vendor/studio/: CodeMirror 6 and the app,
# pinned by package-lock.json) into build/studio/, the folder flowhost serves
# at /studio/ (docs/studio.md). Installs with `npm ci` from the npm registry
# when node_modules is missing or older than the lockfile; fails with the
# reason when node/npm are missing or the registry cannot be reached.
# Usage: tools/studio-build.sh [OUTDIR]   (default build/studio)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/studio}
src=vendor/studio
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "studio: node and npm are needed to build the studio (tools/deps.sh installs them)" >&2
  exit 1
fi
stamp=$src/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$src/package-lock.json" -nt "$stamp" ]; then
  echo "studio: npm ci in $src"
  if ! (cd "$src" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "studio: npm ci failed in $src (is the npm registry reachable?)" >&2
    exit 1
  fi
fi
node "$src/build.mjs" "$out"
