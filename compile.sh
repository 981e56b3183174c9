#!/usr/bin/env bash
# Builds tutti's shippable artifacts into dist/:
#   dist/agent.js, dist/controller.js  self-contained bundles (deno bundle) that run with a
#                                      plain `deno run -A --no-config` from any directory
#   dist/agent, dist/controller        single binaries (deno compile), when a runtime is at hand
# `deno bundle` fetches esbuild from the npm registry on its first run. `deno compile` fetches
# a `denort` runtime from the internet; where that is impossible, point DENORT_BIN at a local
# one. Without either, the binaries are skipped with a message and the script still succeeds.
# Usage: compile.sh [--bundle-only]
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p dist
# One bundle of main.ts serves both: its file name tells main.ts which mode to run.
deno bundle --quiet --platform deno -o dist/agent.js main.ts
cp dist/agent.js dist/controller.js
echo "built dist/agent.js dist/controller.js"
[ "${1:-}" = "--bundle-only" ] && exit 0
for mode in agent controller; do
  if deno compile --quiet -A -o "dist/$mode" main.ts 2>"dist/.compile-$mode.log"; then
    echo "built dist/$mode"
  else
    echo "skipped dist/$mode: deno compile could not get its runtime ($(grep -m1 -o 'error.*' "dist/.compile-$mode.log" | head -c 160))" >&2
    echo "  set DENORT_BIN to a local denort binary of the same Deno version to build it offline" >&2
  fi
done
