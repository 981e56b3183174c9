#!/usr/bin/env bash
# The README's test command: `bash scripts/test.sh [deno test options]`. Installs what the tests
# need (scripts/env.sh), fills node_modules once, then runs `deno task test` (fmt, lint, type
# check, bundle, every test).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# Populate node_modules before anything runs in parallel: many deno processes starting at once
# with nodeModulesDir "auto" would otherwise queue on its lock.
deno install --quiet
exec deno task test "$@"
