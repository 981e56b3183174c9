# Sourced by .ci/run, scripts/demo.sh and scripts/test.sh: makes sure Deno 2 (from the npm
# package `deno`) and nats-server (Debian) are installed, and puts the real Deno binary on PATH.
# The npm package's node_modules/.bin/deno is a Node wrapper that would add a Node process and
# hide Deno's PID from the tests, so PATH gets the platform binary itself.
TUTTI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DENO_DIR_NPM="$TUTTI_ROOT/.deno-install"
if [ ! -x "$DENO_DIR_NPM/node_modules/@deno/linux-x64-glibc/deno" ]; then
  echo "installing deno from npm into .deno-install/ ..." >&2
  mkdir -p "$DENO_DIR_NPM"
  (cd "$DENO_DIR_NPM" && npm install --silent --no-audit --no-fund deno@2.9.6 >&2)
fi
export PATH="$DENO_DIR_NPM/node_modules/@deno/linux-x64-glibc:$PATH"
if ! command -v nats-server >/dev/null 2>&1; then
  echo "installing nats-server from Debian ..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >&2
fi
