/**
 * One row of `status` per process, with supervisorctl's description column:
 * `pid 4121, uptime 0:03:12` when running, the spawn error for BACKOFF and
 * FATAL (`Exited too quickly (process log may have details)`), the stop time
 * (`Mar 01 02:05 PM`, local time) or `Not started` for the stopped states.
 */
import type { ProgramStatus } from "../../protocol/program_messages.ts";
import { formatUptime } from "../../protocol/text/uptime.ts";
import type { ProcessState } from "./states.ts";

/** A row is what the `programs` reply carries: the wire's type. */
export type StatusRow = ProgramStatus;

/** supervisorctl's description (rpcinterface.py `_interpretProcessInfo`). */
export function describeProcess(
  name: string,
  state: ProcessState,
  pid: number | null,
  uptimeS: number | null,
  spawnerr: string | null,
  started: number | null,
  stopped: number | null,
): string {
  switch (state) {
    case "RUNNING":
      return `pid ${pid}, uptime ${formatUptime((uptimeS ?? 0) * 1000)}`;
    case "BACKOFF":
    case "FATAL":
      return spawnerr ?? `unknown error (try "tail ${name}")`;
    case "STOPPED":
    case "EXITED":
      return started !== null && stopped !== null ? formatStopTime(stopped) : "Not started";
    default:
      return "";
  }
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** strftime `%b %d %I:%M %p` in local time: `Mar 01 02:05 PM`. */
export function formatStopTime(ms: number): string {
  const d = new Date(ms);
  const h12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
  const two = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getMonth()]} ${two(d.getDate())} ${two(h12)}:${two(d.getMinutes())} ${
    d.getHours() < 12 ? "AM" : "PM"
  }`;
}
