/**
 * Watch conditions as people type them on a command line, parsed into the
 * wire's `WatchCondition` (and checked by its parser, so a bad regular
 * expression or port is refused before anything is sent):
 *
 *   port 9000                     a TCP socket listens on 9000 (any address)
 *   port 127.0.0.1:9000           ... on that address (or its family's wildcard)
 *   port [::1]:9000               IPv6 in brackets
 *   file PATH [exists|modified|removed]
 *   exit PROC                     the managed process PROC has exited
 *   output PROC REGEX             a line of PROC's output matches
 *   state PROG STATE              a supervised process is in that state
 *   cmd CMD [ARGS...]             a probe command exits 0 (with --shell: one command line)
 *
 * Options of some kinds come from the CLI's flags (`ConditionFlags`).
 */
import { TuttiError } from "../protocol/errors.ts";
import type { StreamName } from "../protocol/messages.ts";
import { parseWatchCondition, type WatchCondition } from "../protocol/watch_messages.ts";

export interface ConditionFlags {
  /** `output`: only this stream. */
  stream?: StreamName;
  /** `output`: regular expression flags among `imsu`. */
  flags?: string;
  /** `output`: `now` to ignore what the process printed before the watch. */
  from?: "start" | "now";
  /** `cmd`: seconds between probes. */
  interval?: number;
  /** `cmd`: seconds a probe may run. */
  probeTimeout?: number;
  /** `cmd`: the words are one command line for `/bin/sh -c`. */
  shell?: boolean;
  /** `cmd`: working directory of the probes. */
  cwd?: string;
}

export const CONDITION_SYNTAX = `conditions:
  port [ADDR:]PORT               a TCP socket listens on PORT (on ADDR or its wildcard);
                                 IPv6 as [::1]:9000. Read from /proc/net/tcp*, never connects
  file PATH [exists|modified|removed]   default exists
  exit PROC                      the managed process PROC has exited
  output PROC REGEX              a line of PROC's output matches REGEX (JavaScript syntax)
  state PROG STATE               a supervised process reaches STATE (RUNNING, EXITED, ...)
                                 PROC and PROG: a run's id, or a program: web, web:0, web:*
                                 (several processes: the first one that meets it)
  cmd -- CMD [ARGS...]           a probe command exits 0 (rerun every --interval)`;

function bad(message: string): never {
  throw new TuttiError("EINVAL", message);
}

export function parseConditionWords(words: string[], flags: ConditionFlags = {}): WatchCondition {
  if (words.length === 0) bad(`missing the CONDITION (port, file, exit, output, state or cmd)`);
  const [kind, ...args] = words;
  const arity = (min: number, max: number, shape: string) => {
    if (args.length < min || args.length > max) bad(`expected "${kind} ${shape}"`);
  };
  const unused = (names: (keyof ConditionFlags)[]) => {
    const given = names.filter((n) => flags[n] !== undefined && flags[n] !== false);
    if (given.length > 0) {
      bad(`--${given.map(flagName).join(", --")} does not apply to a ${kind} condition`);
    }
  };
  let c: Record<string, unknown>;
  switch (kind) {
    case "port": {
      arity(1, 1, "[ADDR:]PORT");
      unused(["stream", "flags", "from", "interval", "probeTimeout", "shell", "cwd"]);
      c = { kind, ...portAndAddress(args[0]) };
      break;
    }
    case "file": {
      arity(1, 2, "PATH [exists|modified|removed]");
      unused(["stream", "flags", "from", "interval", "probeTimeout", "shell", "cwd"]);
      c = { kind, path: args[0], event: args[1] ?? "exists" };
      break;
    }
    case "exit":
      arity(1, 1, "PROC");
      unused(["stream", "flags", "from", "interval", "probeTimeout", "shell", "cwd"]);
      c = { kind, proc: args[0] };
      break;
    case "state":
      arity(2, 2, "PROG STATE");
      unused(["stream", "flags", "from", "interval", "probeTimeout", "shell", "cwd"]);
      c = { kind, proc: args[0], state: args[1].toUpperCase() };
      break;
    case "output":
      arity(2, 2, "PROC REGEX");
      unused(["interval", "probeTimeout", "shell", "cwd"]);
      c = {
        kind,
        proc: args[0],
        pattern: args[1],
        flags: flags.flags,
        stream: flags.stream,
        from: flags.from,
      };
      break;
    case "cmd":
    case "command":
      if (args.length === 0) bad(`expected "cmd -- CMD [ARGS...]"`);
      unused(["stream", "flags", "from"]);
      c = {
        kind: "command",
        ...(flags.shell ? { shell: args.join(" ") } : { argv: args }),
        cwd: flags.cwd,
        interval: flags.interval,
        probeTimeout: flags.probeTimeout,
      };
      break;
    default:
      bad(
        `unknown condition ${
          JSON.stringify(kind)
        }: expected port, file, exit, output, state or cmd`,
      );
  }
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  try {
    return parseWatchCondition(c);
  } catch (e) {
    // The wire parser names fields; say it in the words that were typed.
    if (e instanceof TuttiError) bad(`${kind}: ${e.message.replace(/field "condition\./, '"')}`);
    throw e;
  }
}

function flagName(n: keyof ConditionFlags): string {
  return n === "probeTimeout" ? "probe-timeout" : n;
}

/** `9000`, `127.0.0.1:9000`, `[::1]:9000`, `::1:9000` is refused (ambiguous). */
function portAndAddress(text: string): { port: number; address?: string } {
  let address: string | undefined;
  let port = text;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    [address, port] = [v6[1], v6[2]];
  } else if (text.includes(":")) {
    const at = text.lastIndexOf(":");
    [address, port] = [text.slice(0, at), text.slice(at + 1)];
    if (address.includes(":")) bad(`port ${text}: write an IPv6 address in brackets, [::1]:9000`);
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    bad(`port ${JSON.stringify(text)}: expected a port number from 1 to 65535`);
  }
  if (address !== undefined && !isIpLiteral(address)) {
    bad(`port ${text}: ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  }
  return address === undefined ? { port: Number(port) } : { port: Number(port), address };
}

function isIpLiteral(s: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return s.split(".").every((n) => Number(n) <= 255);
  return /^[0-9A-Fa-f:.]+$/.test(s) && s.includes(":");
}

/** A condition in a few words, as typed: `port 9000`, `file /tmp/x modified`, `output p1 /ready/`. */
export function describeCondition(c: WatchCondition): string {
  switch (c.kind) {
    case "port":
      return c.address === undefined
        ? `port ${c.port}`
        : `port ${c.address.includes(":") ? `[${c.address}]` : c.address}:${c.port}`;
    case "file":
      return `file ${c.path} ${c.event}`;
    case "exit":
      return `exit ${c.proc}`;
    case "output":
      return `output ${c.proc} /${c.pattern}/${c.flags ?? ""}`;
    case "state":
      return `state ${c.proc} ${c.state}`;
    case "command":
      return `cmd ${c.shell ?? c.argv!.join(" ")}`;
  }
}
