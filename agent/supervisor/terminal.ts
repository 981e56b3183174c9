/**
 * Programs with `tty: true` run under a pseudo-terminal, so that a REPL or
 * a curses program attached to from a controller behaves as at a terminal
 * (isatty is true, line editing, echo, Ctrl-C as SIGINT, a window size).
 *
 * Deno has no pseudo-terminal API, and its spawn runs no code of ours
 * between fork and exec, where setsid() and TIOCSCTTY on the slave must
 * happen; FFI to libc could open the pair but not make it the child's
 * controlling terminal. So a small program does it: script(1) from
 * util-linux (Debian's bsdutils, an essential package; present on every
 * common distribution). `script -qfec CMD /dev/null` opens the pair, makes
 * the slave the controlling terminal of `$SHELL -c CMD` in a new session,
 * copies its stdin (the keeper's pipe) to the master and the master to its
 * stdout (flushed at once, `-f`), forwards SIGTERM, SIGINT and SIGQUIT to
 * the program as SIGTERM, and exits with its status (`-e`). Nothing is
 * recorded (`/dev/null`, `-q`). The program's stdout and stderr are then the
 * same stream, the terminal's: all of it is stdout. The program leads its own
 * session, out of reach of signals to script's process group: the SIGKILL
 * at `stoptime` ends script, and the terminal's hangup sends it SIGHUP.
 *
 * CMD is a shell line this file writes: it sets a first size (24x80, what
 * a terminal is assumed to be until one attaches), the program's umask, and
 * execs the program with its words quoted, so the program is script's
 * child (its pid is the one `resizeTerminal` looks for).
 *
 * The size is changed from outside with `stty -F /dev/pts/N rows R cols C`:
 * the kernel then sends SIGWINCH to the terminal's foreground group, as when
 * a terminal window is resized.
 */
import { TuttiError } from "../../protocol/errors.ts";

/** What a terminal is taken to be until an attached one says its size. */
export const DEFAULT_ROWS = 24;
export const DEFAULT_COLUMNS = 80;
/** terminfo entry the program is given when neither its env nor the agent's has TERM. */
const DEFAULT_TERM = "xterm";

const SCRIPT_PATHS = ["/usr/bin/script", "/bin/script"];
const STTY_PATHS = ["/usr/bin/stty", "/bin/stty"];

/** The argv and environment that run `argv` under a pseudo-terminal. */
export function underTerminal(
  argv: string[],
  umask: number | null,
  env: Record<string, string>,
): { argv: string[]; env: Record<string, string> } {
  const script = findProgram(SCRIPT_PATHS, "tty: true needs script(1) from util-linux");
  // script runs CMD with $SHELL: /bin/sh, and the program gets back the SHELL it would have had.
  const shell = env.SHELL ?? Deno.env.get("SHELL");
  const line = [
    `stty rows ${DEFAULT_ROWS} cols ${DEFAULT_COLUMNS} 2>/dev/null`,
    ...(umask === null ? [] : [`umask ${umask.toString(8).padStart(3, "0")}`]),
    shell === undefined ? "unset SHELL" : `SHELL=${quote(shell)}`,
    `exec ${argv.map(quote).join(" ")}`,
  ].join("; ");
  return {
    argv: [script, "-qfec", line, "/dev/null"],
    env: { ...env, SHELL: "/bin/sh", TERM: env.TERM ?? Deno.env.get("TERM") ?? DEFAULT_TERM },
  };
}

/**
 * Sets the window size of the terminal that the program `scriptPid` runs
 * (its child) has; the program gets SIGWINCH. ESRCH when it is not running.
 */
export async function resizeTerminal(
  scriptPid: number,
  rows: number,
  cols: number,
): Promise<void> {
  const device = terminalOf(scriptPid);
  const stty = findProgram(STTY_PATHS, "setting a terminal's size needs stty(1)");
  const out = await new Deno.Command(stty, {
    args: ["-F", device, "rows", String(rows), "cols", String(cols)],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim();
    throw new TuttiError("EIO", `setting the size of ${device}: ${why || `stty ${out.code}`}`);
  }
}

/** /dev/pts/N, the controlling terminal of `scriptPid`'s child. */
function terminalOf(scriptPid: number): string {
  let children: string;
  try {
    children = Deno.readTextFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`);
  } catch {
    throw new TuttiError("ESRCH", `pid ${scriptPid} is gone: no terminal to resize`);
  }
  const child = children.trim().split(/\s+/)[0];
  if (!child) throw new TuttiError("ESRCH", `pid ${scriptPid} has no program running under it`);
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${child}/stat`);
  } catch {
    throw new TuttiError("ESRCH", `pid ${child} is gone: no terminal to resize`);
  }
  // After the command name (which may hold blanks): state ppid pgrp session tty_nr.
  const ttyNr = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[4]);
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  // Unix98 pseudo-terminal slaves have majors 136 to 143, 256 minors each.
  if (!(major >= 136 && major <= 143)) {
    throw new TuttiError("ENOTTY", `pid ${child} has no pseudo-terminal (tty_nr ${ttyNr})`);
  }
  return `/dev/pts/${(major - 136) * 256 + minor}`;
}

function findProgram(paths: string[], why: string): string {
  for (const p of paths) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // the next one
    }
  }
  throw new TuttiError("ENOENT", `${why}: not found in ${paths.join(" or ")}`);
}

/** One word for sh: single-quoted, each ' written as '\''. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
