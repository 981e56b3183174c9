/**
 * The shell scripts `install` runs on a node (through `ssh HOST sh -s`, the
 * script on standard input): plain POSIX sh and the tools every Linux has
 * (uname, id, df, kill, mv, nohup; setsid and systemctl where present).
 * Values reach them as quoted assignments at the top; they answer with
 * `key=value` lines, and a failure as `error=CODE message`.
 *
 * - probe: what the node is (system, machine, user, systemd), what is
 *   installed in the directory and whether it runs, and whether the
 *   directory can be written and has room;
 * - activate: checks that the new agent starts (`--help` with its options,
 *   which also unpacks the one file's cache), stops the old one if it must,
 *   puts the files in place, writes the start script, the unit and
 *   install.info, and starts the agent (or upgrades it in place);
 * - uninstall: stops the agent (its own clean stop: its processes first)
 *   and removes what install wrote;
 * - diagnose: after no hello, whether the agent runs and its last log lines.
 */
import { shAssign, shQuote } from "./shell_quote.ts";

/** Resolves `$dir`: `~`, relative to the home, or the default for this user. */
const RESOLVE_DIR = `case $dir in
"~") dir=$HOME ;;
"~/"*) dir=$HOME/\${dir#"~/"} ;;
"") if [ "$(id -u)" = 0 ]; then dir=/opt/tutti; else dir=$HOME/.local/share/tutti; fi ;;
esac
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac`;

/** The running agent of \`$dir\`, from install.info and the pid file: \`$pid\` (empty if none). */
const FIND_AGENT = `service=$(sed -n 's/^service=//p' "$dir/install.info" 2>/dev/null)
unit=$(sed -n 's/^unit=//p' "$dir/install.info" 2>/dev/null)
pid=
case $service in
system) pid=$(systemctl show -p MainPID --value "$unit" 2>/dev/null) ;;
user) pid=$(systemctl --user show -p MainPID --value "$unit" 2>/dev/null) ;;
*) [ -f "$dir/agent.pid" ] && pid=$(cat "$dir/agent.pid") ;;
esac
# A pid file outlives its process, and pids are reused: only an agent on this state directory counts.
if [ -n "$pid" ] && [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null &&
  tr '\\0' '\\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$dir/state"; then
  :
else
  pid=
fi`;

/** \`wait_gone PID SECONDS\`: polls (no event tells a non-parent of an exit) until the pid is gone. */
const WAIT_GONE = `wait_gone() {
  n=0
  while kill -0 "$1" 2>/dev/null; do
    n=$((n + 1))
    [ "$n" -le $(($2 * 10)) ] || return 1
    sleep 0.1 2>/dev/null || sleep 1
  done
}`;

const FAIL = `fail() {
  echo "error=$1 $(echo "$2" | tr '\\n' ' ')"
  exit 1
}`;

export function probeScript(dir: string, mode: "install" | "uninstall"): string {
  return `${shAssign({ dir, mode })}
${RESOLVE_DIR}
echo "os=$(uname -s)"
echo "machine=$(uname -m)"
echo "uid=$(id -u)"
echo "dir=$dir"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "systemd=system"
  elif systemctl --user show-environment >/dev/null 2>&1; then
    echo "systemd=user"
    echo "linger=$(loginctl show-user "$(id -un)" -p Linger --value 2>/dev/null)"
  else
    echo "systemd=none"
  fi
else
  echo "systemd=none"
fi
[ -f "$dir/install.info" ] && sed -n 's/^\\([a-z_]*\\)=/installed_\\1=/p' "$dir/install.info"
${FIND_AGENT}
echo "pid=$pid"
if [ "$mode" = install ]; then
  # Written to, not only tested: root passes every permission test, not a read-only mount.
  made=
  [ -d "$dir" ] || made=yes
  if err=$({ mkdir -p "$dir" && : >"$dir/.tutti-probe" && rm -f "$dir/.tutti-probe"; } 2>&1); then
    echo "writable=yes"
    echo "free_kib=$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }')"
    [ -z "$made" ] || rmdir "$dir" 2>/dev/null
  else
    echo "writable=no $(echo "$err" | tr '\\n' ' ')"
  fi
fi
`;
}

export type Action = "fresh" | "start" | "restart" | "upgrade";
export type Service = "process" | "system" | "user";

export interface ActivateSpec {
  dir: string;
  action: Action;
  service: Service;
  unit: string;
  /** What runs now (from the probe), for restart and upgrade. */
  old: { service: string; unit: string; pid: string };
  /** Files uploaded into DIR/.upload, to move into place (none: the installed ones stay). */
  files: string[];
  /** The agent's command line and environment. */
  argv: string[];
  env: Record<string, string>;
  /** The same, run from DIR/.upload (the new files) for the check before anything changes. */
  checkArgv: string[];
  /** Credential files to write in DIR (name → content). */
  secrets: Record<string, string>;
  unitText: string;
  /** install.info, written once the files are in place. */
  info: string;
  /** The one file's cache keeps this version only (empty: no cache). */
  keepCache: string;
}

/** A here-document delimiter that `text` cannot end early. */
function delimiter(text: string): string {
  let d = "TUTTI_EOF";
  while (text.split("\n").includes(d)) d += "_";
  return d;
}

/** Writes `text` to `path` (a shell word); `orElse` runs when that fails. */
function heredoc(path: string, text: string, orElse: string): string {
  const d = delimiter(text);
  const body = text.endsWith("\n") ? text : text + "\n";
  return `cat >${path} <<'${d}' || ${orElse}\n${body}${d}`;
}

export function activateScript(s: ActivateSpec): string {
  const env = Object.entries(s.env).map(([k, v]) => shQuote(`${k}=${v}`)).join(" ");
  const run = [
    "#!/bin/sh",
    "# Starts this tutti agent in the foreground (written by `controller install`).",
    ...Object.entries(s.env).map(([k, v]) => `export ${k}=${shQuote(v)}`),
    `exec ${s.argv.map(shQuote).join(" ")}`,
  ].join("\n");
  const secrets = Object.entries(s.secrets).map(([name, text]) =>
    heredoc(`"$dir/${name}"`, text, `fail EACCES "cannot write $dir/${name}"`)
  ).join("\n");
  return `${
    shAssign({
      dir: s.dir,
      action: s.action,
      service: s.service,
      unit: s.unit,
      old_service: s.old.service,
      old_unit: s.old.unit,
      old_pid: s.old.pid,
      files: s.files.join(" "),
      keep_cache: s.keepCache,
    })
  }
umask 077
${FAIL}
${WAIT_GONE}
systemctl_of() {
  if [ "$1" = user ]; then echo "systemctl --user"; else echo systemctl; fi
}
unit_dir() {
  if [ "$1" = user ]; then echo "\${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"; else echo /etc/systemd/system; fi
}
mkdir -p "$dir" || fail EACCES "cannot create $dir"

for f in $files; do chmod 755 "$dir/.upload/$f" || fail EREMOTE "cannot chmod $dir/.upload/$f"; done
# The agent that will run is asked for its usage with its options first: a bad option, a runtime
# that cannot run here or a damaged copy is refused before anything is stopped or replaced.
if ! env ${env} ${s.checkArgv.map(shQuote).join(" ")} --help >/dev/null 2>"$dir/.check.err"; then
  fail EAGENT "$(grep -v '^see ' "$dir/.check.err" | tail -n 3)"
fi
rm -f "$dir/.check.err"

# What runs now, when it must go: its own clean stop (its processes and programs first).
if [ "$action" = restart ] && [ -n "$old_pid" ]; then
  case $old_service in
  system | user)
    sc=$(systemctl_of "$old_service")
    $sc stop "$old_unit" || fail ESTOP "$sc stop $old_unit failed"
    if [ "$old_service" != "$service" ] || [ "$old_unit" != "$unit" ]; then
      $sc disable --quiet "$old_unit" 2>/dev/null
      rm -f "$(unit_dir "$old_service")/$old_unit"
      $sc daemon-reload
    fi
    ;;
  *)
    kill -TERM "$old_pid" 2>/dev/null
    wait_gone "$old_pid" 60 || fail ESTOP "the agent (pid $old_pid) did not stop within 60s"
    ;;
  esac
fi

for f in $files; do
  mv -f "$dir/.upload/$f" "$dir/$f" || fail EREMOTE "cannot move $f into $dir"
done
rmdir "$dir/.upload" 2>/dev/null
${secrets}
${heredoc(`"$dir/run"`, run, `fail EACCES "cannot write $dir/run"`)}
chmod 755 "$dir/run"
if [ "$service" != process ]; then
  ud=$(unit_dir "$service")
  mkdir -p "$ud" || fail ESERVICE "cannot create $ud"
  ${heredoc(`"$ud/$unit"`, s.unitText, `fail ESERVICE "cannot write $ud/$unit"`)}
  chmod 644 "$ud/$unit"
fi
${heredoc(`"$dir/install.info"`, s.info, `fail EACCES "cannot write $dir/install.info"`)}

if [ "$action" = upgrade ]; then
  # In place: the agent re-executes the new files under the same pid, every process kept.
  case $service in
  process) kill -USR1 "$old_pid" || fail EREMOTE "cannot signal the agent (pid $old_pid)" ;;
  *) $(systemctl_of "$service") reload "$unit" || fail ESERVICE "reload of $unit failed" ;;
  esac
  pid=$old_pid
elif [ "$service" = process ]; then
  # Its own session (setsid, where there is one): the end of this ssh session reaches it not.
  cd /
  rm -f "$dir/agent.pid"
  if command -v setsid >/dev/null 2>&1; then
    nohup setsid "$dir/run" </dev/null >>"$dir/agent.log" 2>&1 &
  else
    nohup "$dir/run" </dev/null >>"$dir/agent.log" 2>&1 &
  fi
  pid=$!
  echo "$pid" >"$dir/agent.pid"
else
  sc=$(systemctl_of "$service")
  $sc daemon-reload && $sc enable --quiet "$unit" && $sc restart "$unit" ||
    fail ESERVICE "$sc restart $unit failed: $($sc status --no-pager "$unit" 2>&1 | tail -n 3)"
  pid=$($sc show -p MainPID --value "$unit")
fi

# Versions this directory no longer runs (a running one keeps its unlinked files).
if [ -n "$keep_cache" ] && [ -d "$dir/cache" ]; then
  for d in "$dir/cache"/*; do
    [ "\${d##*/}" = "$keep_cache" ] || rm -rf "$d"
  done
fi
echo "pid=$pid"
`;
}

export function uninstallScript(dir: string): string {
  return `${shAssign({ dir })}
${RESOLVE_DIR}
${FAIL}
${WAIT_GONE}
echo "dir=$dir"
if [ ! -f "$dir/install.info" ]; then
  echo "result=absent"
  exit 0
fi
${FIND_AGENT}
case $service in
system | user)
  if [ "$service" = user ]; then sc="systemctl --user"; ud=\${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user; else sc=systemctl; ud=/etc/systemd/system; fi
  $sc disable --now --quiet "$unit" 2>/dev/null
  [ -z "$pid" ] || wait_gone "$pid" 60 || fail ESTOP "the agent (pid $pid) did not stop within 60s"
  rm -f "$ud/$unit"
  $sc daemon-reload
  ;;
*)
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    wait_gone "$pid" 60 || fail ESTOP "the agent (pid $pid) did not stop within 60s"
  fi
  ;;
esac
# The keeper leaves once the agent has stopped its processes; its state goes after it.
kpid=$(cat "$dir/state/keeper.lock" 2>/dev/null)
if [ -n "$kpid" ] && tr '\\0' '\\n' <"/proc/$kpid/cmdline" 2>/dev/null | grep -qxF "$dir/state"; then
  wait_gone "$kpid" 30 || fail ESTOP "the keeper (pid $kpid) still runs processes: see $dir/state"
fi
rm -rf "$dir/cache" "$dir/state" "$dir/.upload"
rm -f "$dir/tutti-agent" "$dir/deno" "$dir/agent.js" "$dir/run" "$dir/agent.pid" "$dir/agent.log" \\
  "$dir/agent.nk" "$dir/agent.creds" "$dir/.check.err" "$dir/install.info"
rmdir "$dir" 2>/dev/null
echo "result=removed"
echo "stopped=$pid"
`;
}

export function diagnoseScript(dir: string, service: Service, unit: string, pid: string): string {
  return `${shAssign({ dir, service, unit, pid })}
if kill -0 "$pid" 2>/dev/null; then echo "alive=yes"; else echo "alive=no"; fi
case $service in
process) log=$(tail -n 4 "$dir/agent.log" 2>/dev/null) ;;
system) log=$(journalctl -u "$unit" -n 4 --no-pager -o cat 2>/dev/null) ;;
user) log=$(journalctl --user -u "$unit" -n 4 --no-pager -o cat 2>/dev/null) ;;
esac
echo "log=$(echo "$log" | grep -v '^nohup: ' | tr '\\n' '|')"
`;
}

/** `key=value` lines; a key given twice keeps its last value. */
export function parseAnswer(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The remote command that stores standard input as DIR/.upload/NAME and says its size. */
export function uploadCommand(dir: string, name: string): string {
  const script =
    'umask 077 && mkdir -p "$1/.upload" && cat >"$1/.upload/$2" && wc -c <"$1/.upload/$2"';
  return `sh -c ${shQuote(script)} sh ${shQuote(dir)} ${shQuote(name)}`;
}
