#!/bin/sh
# tutti agent in one file: this shell header, then the Deno runtime and tutti's agent bundle as two
# gzip streams. Copy the file to a node and run it (`./tutti-agent --server nats://... --name n1`).
#
# The first start unpacks the two into a cache directory named by their digest, each under a name
# of its own and linked into place, so that agents starting together never run half a file (and
# gzip's check refuses a truncated copy). Every start then execs the runtime on the bundle: the
# agent's pid is this script's, and /proc/PID/exe is the runtime. The agent starts its keeper and
# re-executes itself (upgrade) through this file again (TUTTI_LAUNCHER), so that a new file copied
# over this one is what an upgrade runs.
#
# Cache: $TUTTI_CACHE_DIR if set (and nowhere else), else $XDG_CACHE_HOME/tutti or ~/.cache/tutti,
# else (HOME unwritable or noexec) ${TMPDIR:-/tmp}/tutti-cache-UID, a directory of this user's
# alone. Other versions stay in the cache until removed (`controller install` cleans its own).
# Written by packaging/one_file.sh; the values below are filled in there.
tutti_digest=@DIGEST@
tutti_target=@TARGET@
tutti_version=@VERSION@
deno_version=@DENO_VERSION@
runtime_at=@RUNTIME_AT@
runtime_size=@RUNTIME_SIZE@
bundle_at=@BUNDLE_AT@
bundle_size=@BUNDLE_SIZE@
unpacked_size=@UNPACKED_SIZE@

self=$0
case $self in
/*) ;;
./*) self=$PWD/${self#./} ;;
*) self=$PWD/$self ;;
esac
if [ -n "${TUTTI_CACHE_DIR:-}" ]; then
  primary=$TUTTI_CACHE_DIR
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
  primary=$XDG_CACHE_HOME/tutti
elif [ -n "${HOME:-}" ]; then
  primary=$HOME/.cache/tutti
else
  primary=
fi

# The common case costs two tests and no process: the bundle is renamed into place last.
cache=
if [ -n "$primary" ] && [ -f "$primary/$tutti_digest/agent.js" ]; then
  cache=$primary/$tutti_digest
else
  fail() {
    echo "tutti-agent: $*" >&2
    exit 1
  }
  # The runtime cannot run on another system or machine type: say so before unpacking anything.
  system=$(uname -s)
  machine=$(uname -m)
  case $system/$tutti_target in
  Linux/"$machine"-*-linux-*) ;;
  *) fail "this file holds the runtime for $tutti_target; this machine is $system $machine (uname -sm)" ;;
  esac

  # `tail -c +N | head -c SIZE | gzip -dc`: gzip's CRC and length refuse a truncated or damaged file.
  payload() {
    tail -c +$(($1 + 1)) "$self" | head -c "$2" | gzip -dc
  }

  # Puts whole file $1 at $2 in one step, unless another start already has: a hard link never
  # replaces (a runtime another agent already runs stays the one on disk); rename where links fail.
  place() {
    ln "$1" "$2" 2>/dev/null || [ -f "$2" ] || mv -f "$1" "$2"
  }

  # Unpacks into base directory $1; returns non-zero with $why set when it cannot be used.
  unpack() {
    d=$1/$tutti_digest
    if ! (umask 077 && mkdir -p "$d") 2>/dev/null; then
      why="cannot create $d"
      return 1
    fi
    if [ "$1" = "$fallback" ]; then
      # A shared /tmp: the directory must be this user's own, and not a link planted by another.
      if [ -L "$1" ] || [ ! -O "$1" ]; then
        why="$1 belongs to another user"
        return 1
      fi
      chmod 700 "$1"
    fi
    # What a killed unpack left behind (its pid is gone).
    for f in "$d"/.unpack.*; do
      [ -e "$f" ] || continue
      p=${f##*/.unpack.}
      kill -0 "${p%%.*}" 2>/dev/null || rm -f "$f"
    done
    tmp=$d/.unpack.$$
    trap 'rm -f "$tmp.deno" "$tmp.js"' EXIT
    trap 'exit 1' HUP INT TERM
    if ! payload "$runtime_at" "$runtime_size" >"$tmp.deno"; then
      why="cannot unpack the runtime into $d"
    elif ! payload "$bundle_at" "$bundle_size" >"$tmp.js"; then
      why="cannot unpack the agent into $d"
    elif ! chmod 755 "$tmp.deno" || ! "$tmp.deno" --version >/dev/null 2>&1; then
      # A directory on a noexec mount unpacks fine and runs nothing.
      why="the runtime unpacked into $d does not run (a noexec mount?)"
    elif ! place "$tmp.deno" "$d/deno" || ! place "$tmp.js" "$d/agent.js"; then
      # The runtime first: a bundle in place means a whole runtime beside it.
      why="cannot rename into $d"
    else
      rm -f "$tmp.deno" "$tmp.js"
      trap - EXIT HUP INT TERM
      cache=$d
      return 0
    fi
    rm -f "$tmp.deno" "$tmp.js"
    return 1
  }

  fallback=
  [ -n "${TUTTI_CACHE_DIR:-}" ] || fallback=${TMPDIR:-/tmp}/tutti-cache-$(id -u)
  if [ -n "$fallback" ] && [ -O "$fallback" ] && [ -f "$fallback/$tutti_digest/agent.js" ]; then
    cache=$fallback/$tutti_digest
  else
    whys=
    for base in "$primary" "$fallback"; do
      [ -n "$base" ] || continue
      unpack "$base" && break
      whys="${whys:+$whys; }$why"
    done
    [ -n "$cache" ] || fail "$whys"
  fi
fi

# The launcher's own variables: the agent takes them out of the environment of what it runs.
export TUTTI_LAUNCHER="$self"
set_here=
if [ -z "${DENO_NO_UPDATE_CHECK+set}" ]; then
  export DENO_NO_UPDATE_CHECK=1
  set_here=DENO_NO_UPDATE_CHECK
fi
if [ -z "${DENO_DIR+set}" ]; then
  export DENO_DIR="$cache/deno-dir"
  set_here="$set_here DENO_DIR"
fi
export TUTTI_LAUNCHER_ENV="$set_here"
exec "$cache/deno" run -A --no-config "$cache/agent.js" "$@"
exit 127
