#!/usr/bin/env bash
# Builds the one-file agent: packaging/launcher.sh, then a Deno runtime and the agent bundle, each
# as a gzip stream. The result runs on any Linux machine of the runtime's type with /bin/sh, gzip,
# tail and head: copying it is the whole installation (see the header of launcher.sh).
#
# gzip -n (no name, no time): the same runtime and bundle give the same file, byte for byte, so a
# rebuild of unchanged code has the same digest (what `controller install` compares).
# Usage: one_file.sh --bundle dist/agent.js [--runtime DENO] [--target TRIPLE] -o dist/tutti-agent
set -euo pipefail

usage() { echo "usage: one_file.sh --bundle FILE [--runtime DENO] [--target TRIPLE] -o OUT" >&2; }
bundle=
runtime=
target=
out=
while [ $# -gt 0 ]; do
  case "$1" in
  --bundle | --runtime | --target | -o)
    [ $# -ge 2 ] || { echo "one_file.sh: $1 needs a value" >&2; usage; exit 2; }
    case "$1" in
    --bundle) bundle=$2 ;;
    --runtime) runtime=$2 ;;
    --target) target=$2 ;;
    -o) out=$2 ;;
    esac
    shift
    ;;
  -h | --help) usage; exit 0 ;;
  *) echo "one_file.sh: unknown argument $1" >&2; usage; exit 2 ;;
  esac
  shift
done
[ -n "$bundle" ] && [ -n "$out" ] || { usage; exit 2; }
[ -f "$bundle" ] || { echo "one_file.sh: no bundle at $bundle (run compile.sh first)" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)

# The runtime: the Deno binary itself (not a wrapper script), by default the one running here.
if [ -z "$runtime" ]; then
  runtime=$(deno eval --no-config 'console.log(Deno.execPath())')
fi
[ -f "$runtime" ] && [ -x "$runtime" ] || {
  echo "one_file.sh: $runtime is not an executable runtime" >&2
  exit 1
}
facts=$("$runtime" eval --no-config 'console.log(Deno.build.target, Deno.version.deno)' \
  2>/dev/null || true)
deno_version=unknown
if [ -n "$facts" ]; then
  [ -n "$target" ] || target=${facts% *}
  deno_version=${facts#* }
fi
[ -n "$target" ] || {
  echo "one_file.sh: $runtime does not run here; give its --target (e.g. aarch64-unknown-linux-gnu)" >&2
  exit 1
}
version=$(sed -n 's/^export const TUTTI_VERSION = "\(.*\)";$/\1/p' "$here/../protocol/codec.ts")

work=$(mktemp -d "$(dirname "$out")/.one-file-XXXXXX")
trap 'rm -rf "$work"' EXIT
gzip -6 -n -c "$runtime" >"$work/runtime.gz"
gzip -9 -n -c "$bundle" >"$work/bundle.gz"
digest=$(cat "$work/runtime.gz" "$work/bundle.gz" | sha256sum | cut -c 1-16)
runtime_size=$(wc -c <"$work/runtime.gz")
bundle_size=$(wc -c <"$work/bundle.gz")
unpacked_size=$(($(wc -c <"$runtime") + $(wc -c <"$bundle")))

# The header's length depends on the offsets it holds: settled in a round or two.
header() {
  sed -e "s/@DIGEST@/$digest/" -e "s/@TARGET@/$target/" -e "s/@VERSION@/$version/" \
    -e "s/@DENO_VERSION@/$deno_version/" -e "s/@RUNTIME_AT@/$1/" \
    -e "s/@RUNTIME_SIZE@/$runtime_size/" -e "s/@BUNDLE_AT@/$(($1 + runtime_size))/" \
    -e "s/@BUNDLE_SIZE@/$bundle_size/" -e "s/@UNPACKED_SIZE@/$unpacked_size/" \
    "$here/launcher.sh"
}
at=0
while [ "$(header "$at" | wc -c)" -ne "$at" ]; do at=$(header "$at" | wc -c); done
header "$at" >"$work/one"
cat "$work/runtime.gz" "$work/bundle.gz" >>"$work/one"
chmod 755 "$work/one"
mv -f "$work/one" "$out"
echo "built $out ($target, $(($(wc -c <"$out") / 1048576)) MiB, digest $digest)"
