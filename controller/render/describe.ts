/**
 * How results read in the CLI, in one place: a host's outcome in a few
 * words (`exit 3`, `killed by SIGKILL`, `ENOENT spawn ./foo: no such file or
 * directory`), ages (`3m ago`) and commands.
 */
import type { WireError } from "../../protocol/errors.ts";
import type { ProcInfo } from "../../protocol/messages.ts";
import type { HostOutcome } from "../mod.ts";

/** The exit status of a process: `exit 0`, `exit 3`, `killed by SIGKILL`, `timed out, ...`. */
export function describeExit(proc: ProcInfo): string {
  const how = proc.signal ? `killed by ${proc.signal}` : `exit ${proc.code}`;
  return proc.timedOut ? `timed out, ${how}` : how;
}

export function describeError(error: WireError): string {
  if (error.code === "ENORESPONSE") return "no response";
  return `${error.code} ${error.message}`;
}

/** One outcome in a few words; `started` is what a detached run's `ok` means. */
export function describeOutcome(o: HostOutcome, okWord = "exit 0"): string {
  if (o.error) return describeError(o.error);
  if (o.proc && o.proc.state === "exited") return describeExit(o.proc);
  return o.status === "ok" ? okWord : o.status;
}

/** `5s ago`, `3m ago`, `2h ago`, `4d ago`. */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** `250ms`, `5s`, `1.5s`, `2m`. */
export function formatPeriod(ms: number): string {
  if (ms <= 0) return "off";
  if (ms < 1000) return `${ms}ms`;
  if (ms % 60000 === 0) return `${ms / 60000}m`;
  return `${+(ms / 1000).toFixed(1)}s`;
}

/** An argv as a shell would need it typed: plain words bare, others single-quoted. */
export function formatCommand(argv: string[]): string {
  return argv.map((a) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

/** Local wall-clock time of a timestamp: `14:03:27`, with the date when not today. */
export function formatTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (new Date(now).toDateString() === d.toDateString()) return hms;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}
