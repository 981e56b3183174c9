/**
 * One row of `status` per process, with supervisorctl's description column:
 * `pid 4121, uptime 0:03:12` when running, the spawn error for BACKOFF and
 * FATAL (`Exited too quickly (process log may have details)`), the stop time
 * (`Mar 01 02:05 PM`, local time) or `Not started` for the stopped states.
 */
import type { ProgramStatus } from "../../protocol/program_messages.ts";
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
      return `pid ${pid}, uptime ${formatUptime(uptimeS ?? 0)}`;
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

/** Python's str(timedelta) without fractions: `0:03:12`, `2 days, 4:00:01`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const clock = `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  return days === 0 ? clock : `${days} day${days === 1 ? "" : "s"}, ${clock}`;
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
