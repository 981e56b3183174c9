# Sourced (`. scripts/env.sh || exit 1`) by scripts/test.sh, scripts/demo.sh and .ci/run: makes
# sure Deno (the npm package `deno`, pinned below) and nats-server (Debian's package) are
# installed, and puts both on PATH. Silent when everything is there; one line for each thing it
# has to install; on failure the installer's output, one line saying what failed, and status 1.
#
# PATH gets Deno's platform binary itself (.deno-install/node_modules/@deno/<platform>/deno):
# the npm package's node_modules/.bin/deno is a Node.js wrapper that runs that binary as its
# child, which adds a Node process and hides Deno's PID from whatever signals or measures it.

if ! (return 0 2>/dev/null); then
  echo "scripts/env.sh sets up PATH for the calling shell: source it (. scripts/env.sh)" >&2
  exit 2
fi

TUTTI_DENO_VERSION=2.9.6
TUTTI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# No update check: it would reach for the internet and print notices into test output.
export DENO_NO_UPDATE_CHECK=1

_tutti_fail() {
  echo "scripts/env.sh: $*" >&2
  return 1
}

# Debian puts nats-server in /usr/sbin, which is not on an ordinary user's PATH.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH="$PATH:/usr/sbin" ;;
esac

# apt-get install as root, or through sudo (without a password prompt when not on a terminal,
# so CI fails instead of hanging). `apt-get update` first: a fresh machine has no package lists.
_tutti_apt_install() {
  local sudo="" log
  if ! command -v apt-get >/dev/null 2>&1; then
    _tutti_fail "$* is missing and there is no apt-get here: install $* yourself and retry"
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      _tutti_fail "$* is missing: run as root or install it (apt-get install $*)"
      return 1
    fi
    if [ -t 0 ]; then sudo="sudo"; else sudo="sudo -n"; fi
  fi
  echo "installing $* with apt-get ..." >&2
  if ! log=$($sudo apt-get update -q 2>&1); then
    printf '%s\n' "$log" >&2
    _tutti_fail "apt-get update failed (needed to install $*)"
    return 1
  fi
  if ! log=$($sudo env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@" 2>&1); then
    printf '%s\n' "$log" >&2
    _tutti_fail "apt-get install $* failed"
    return 1
  fi
}

# The directory of a runnable Deno binary of the pinned version under .deno-install/, if any.
# The glob covers every platform package npm may have picked (linux-x64-glibc, linux-arm64-glibc,
# darwin-arm64, ...); running it proves it fits this machine.
_tutti_find_deno() {
  local pkg
  for pkg in "$TUTTI_ROOT"/.deno-install/node_modules/@deno/*/; do
    [ -x "${pkg}deno" ] || continue
    grep -q "\"version\": *\"$TUTTI_DENO_VERSION\"" "${pkg}package.json" 2>/dev/null || continue
    "${pkg}deno" --version >/dev/null 2>&1 || continue
    echo "${pkg%/}"
    return 0
  done
  return 1
}

_tutti_install_deno() {
  local dir="$TUTTI_ROOT/.deno-install" log
  if ! command -v npm >/dev/null 2>&1; then
    _tutti_apt_install npm || return 1
  fi
  mkdir -p "$dir" || return 1
  # A package.json of its own: without one, npm would walk up and install into the repository's.
  [ -f "$dir/package.json" ] || echo '{ "private": true }' >"$dir/package.json"
  echo "installing deno $TUTTI_DENO_VERSION from npm into .deno-install/ ..." >&2
  if ! log=$(npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
    "deno@$TUTTI_DENO_VERSION" 2>&1); then
    printf '%s\n' "$log" >&2
    _tutti_fail "npm install deno@$TUTTI_DENO_VERSION failed (is the npm registry reachable?)"
    return 1
  fi
}

_tutti_env() {
  local bin
  if ! bin=$(_tutti_find_deno); then
    _tutti_install_deno || return 1
    if ! bin=$(_tutti_find_deno); then
      _tutti_fail "npm installed no runnable deno $TUTTI_DENO_VERSION for this machine ($(uname -sm))" \
        "under .deno-install/node_modules/@deno/"
      return 1
    fi
  fi
  [ "$(command -v deno)" = "$bin/deno" ] || export PATH="$bin:$PATH"
  if ! command -v nats-server >/dev/null 2>&1; then
    _tutti_apt_install nats-server || return 1
    if ! command -v nats-server >/dev/null 2>&1; then
      _tutti_fail "apt-get installed nats-server but it is not on PATH ($PATH)"
      return 1
    fi
  fi
}

# tmux: the pseudo-terminal of the interactive shell's tests (tests/integration/shell_tty_test.ts).
_tutti_env_tmux() {
  command -v tmux >/dev/null 2>&1 && return 0
  _tutti_apt_install tmux || return 1
  command -v tmux >/dev/null 2>&1 || _tutti_fail "apt-get installed tmux but it is not on PATH ($PATH)"
}

# Chromium: the browser of the dashboard's test (tests/integration/controller_dashboard_test.ts),
# Debian's package, driven by playwright-core at /usr/bin/chromium.
_tutti_env_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  _tutti_apt_install chromium || return 1
  [ -x /usr/bin/chromium ] || _tutti_fail "apt-get installed chromium but /usr/bin/chromium is missing"
}

# OpenSSH's server and client: the sshd that `controller install`'s tests start on a loopback port
# (tests/integration/install_test.ts), and the ssh and scp it drives.
_tutti_env_ssh() {
  [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 && return 0
  _tutti_apt_install openssh-server openssh-client || return 1
  [ -x /usr/sbin/sshd ] || _tutti_fail "apt-get installed openssh-server but /usr/sbin/sshd is missing"
}

if _tutti_env && _tutti_env_tmux && _tutti_env_chromium && _tutti_env_ssh; then
  _tutti_status=0
else
  _tutti_status=1
fi
# Leave nothing but PATH, TUTTI_ROOT and TUTTI_DENO_VERSION behind in the calling shell.
eval "unset -f _tutti_env _tutti_env_tmux _tutti_env_chromium _tutti_env_ssh _tutti_find_deno _tutti_install_deno _tutti_apt_install _tutti_fail
  unset _tutti_status
  return $_tutti_status"
