#!/usr/bin/env bash
# Builds tutti's shippable artifacts into dist/ (or -o DIR):
#   agent.js, controller.js  self-contained bundles (deno bundle) that run with a plain
#                            `deno run -A --no-config` from any directory
#   tutti-agent              the agent in one self-contained executable file: a shell header,
#                            this Deno runtime and agent.js (packaging/one_file.sh); copying it to a
#                            node is the whole installation
#   agent, controller        single binaries (deno compile), when a Deno runtime is at hand
# and, in the source tree, controller/dashboard/page_script.gen.ts (the dashboard page's script).
# Both pairs are one build of main.ts under two names: the file name picks the mode.
#
# `deno bundle` fetches esbuild from the npm registry on its first run. `deno compile` downloads
# `denort`, the runtime of the same Deno version, from dl.deno.land; where that is impossible,
# point DENORT_BIN at a local copy. Without one, the binaries are skipped with a message and the
# script still succeeds. DENORT_BIN must be a denort, not the `deno` binary: that would build a
# plain deno (a REPL), which the check below refuses.
#
# Files are built aside and renamed into place, so a test running dist/agent.js meanwhile never
# reads half a file.
# Usage: compile.sh [--bundle-only] [-o DIR]
set -euo pipefail

usage() { echo "usage: compile.sh [--bundle-only] [-o DIR]" >&2; }
bundle_only=false
out=dist
while [ $# -gt 0 ]; do
  case "$1" in
  --bundle-only) bundle_only=true ;;
  -o | --out)
    [ $# -ge 2 ] || { echo "compile.sh: $1 needs a directory" >&2; usage; exit 2; }
    out=$2
    shift
    ;;
  -h | --help) usage; exit 0 ;;
  *) echo "compile.sh: unknown argument $1" >&2; usage; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")"

build=$(mktemp -d "$out/.build-XXXXXX")
trap 'rm -rf "$build"' EXIT

# ---------------------------------------------------------------- bundles

# The dashboard page's script first (browser TypeScript in controller/dashboard/client/): the
# controller carries it as the generated module controller/dashboard/page_script.gen.ts.
deno run -A controller/dashboard/build_page_script.ts
deno bundle --quiet --platform deno -o "$build/agent.js" main.ts
cp "$build/agent.js" "$build/controller.js"
mv -f "$build/agent.js" "$build/controller.js" "$out/"
echo "built $out/agent.js $out/controller.js"
$bundle_only && exit 0

# ---------------------------------------------------------------- the one-file agent

# Needs no download: it carries the Deno binary running here (DENO_RUNTIME: another one, e.g. for
# another machine type, with TUTTI_TARGET naming it when it cannot run here).
said=$(bash packaging/one_file.sh --bundle "$out/agent.js" ${DENO_RUNTIME:+--runtime "$DENO_RUNTIME"} \
  ${TUTTI_TARGET:+--target "$TUTTI_TARGET"} -o "$build/tutti-agent")
mv -f "$build/tutti-agent" "$out/tutti-agent"
echo "built $out/tutti-agent (${said#*(}"

# ---------------------------------------------------------------- binaries

# The most specific reason deno compile gave (the causes it lists, minus the generic ones).
reason() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | sed -nE 's/^ +[0-9]+: (.*)/\1/p' |
    grep -v -e '^Setting up base binary' | head -n 1 | cut -c 1-300
}

for mode in agent controller; do
  log="$build/compile-$mode.log"
  if ! deno compile --quiet -A -o "$build/$mode" main.ts 2>"$log"; then
    # Only a missing runtime is forgiven; a compile error of the code fails the build.
    if ! grep -q -e 'Setting up base binary' -e 'denort' "$log"; then
      cat "$log" >&2
      echo "compile.sh: deno compile of $out/$mode failed" >&2
      exit 1
    fi
    echo "skipped $out/$mode: deno compile found no runtime: $(reason "$log")" >&2
    failed_runtime=true
    continue
  fi
  # A binary built on the wrong runtime starts but is not tutti: ask it for its usage.
  help=$(timeout 30 "$build/$mode" --help </dev/null 2>&1 || true)
  if ! grep -qi "usage: *$mode" <<<"$help"; then
    echo "skipped $out/$mode: the built binary does not run tutti (--help printed" \
      "\"$(head -n 1 <<<"$help" | cut -c 1-80)\"); DENORT_BIN=${DENORT_BIN:-} is not a denort" >&2
    failed_runtime=true
    continue
  fi
  mv -f "$build/$mode" "$out/$mode"
  echo "built $out/$mode"
done

if [ "${failed_runtime:-false}" = true ]; then
  target=$(deno eval --no-config 'console.log(`v${Deno.version.deno}/denort-${Deno.build.target}`)')
  echo "  to build the binaries offline, download https://dl.deno.land/release/$target.zip" \
    "elsewhere, unzip it here and set DENORT_BIN=/path/to/denort" >&2
fi
