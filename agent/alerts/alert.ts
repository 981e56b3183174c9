/**
 * An agent's alert: a supervised process that died unexpectedly, or a
 * program that the supervisor gave up on (FATAL). Its destinations are
 * protocol/alerts/'s, shared with the controller.
 */
import type { Alert } from "../../protocol/alerts/alert.ts";
import type { SyslogStyle } from "../../protocol/alerts/syslog_sink.ts";
import type { ProgramEvent } from "../../protocol/program_messages.ts";

/** `exited`: an unexpected death (not in `exitcodes`, or killed, or dead while starting). */
export type AlertKind = "exited" | "fatal";

export interface ProgramAlert extends Alert {
  kind: AlertKind;
  program: string;
  process: string;
  /** The state the process entered: EXITED, BACKOFF or FATAL. */
  state: string;
  from: string;
  pid: number | null;
  code: number | null;
  signal: string | null;
}

/** The agent's syslog lines: `tutti-agent[pid]`, FATAL critical, a death a warning. */
export const AGENT_SYSLOG: SyslogStyle = { tag: "tutti-agent", severity: { fatal: 2, exited: 4 } };

/** The alert a supervision event is, or null when it is none. */
export function alertOf(host: string, e: ProgramEvent): Omit<ProgramAlert, "suppressed"> | null {
  if (e.type !== "state") return null;
  const died = (e.to === "EXITED" && e.expected === false) ||
    // Died before starttime: a run ended (it had a pid), it did not fail to spawn.
    (e.to === "BACKOFF" && e.pid !== undefined);
  if (!died && e.to !== "FATAL") return null;
  return {
    kind: e.to === "FATAL" ? "fatal" : "exited",
    host,
    time: new Date(e.time).toISOString(),
    program: e.program,
    process: e.process,
    state: e.to,
    from: e.from,
    pid: e.pid ?? null,
    code: e.code ?? null,
    signal: e.signal ?? null,
    message: e.message,
  };
}
