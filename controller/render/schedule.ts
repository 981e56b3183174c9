/**
 * A run at an instant (`--at`, `--sync`) on stderr: the instant once the
 * clocks are measured, and at the end how close together the processes
 * started, on this controller's clock:
 *
 *   start at 14:03:27.250 (in 1.75 s) on 5 hosts, clocks known to ±0.08 ms
 *   ...
 *   start skew 1.84 ms: 5 hosts started 0.21 to 2.05 ms after 14:03:27.250 (clocks ±0.08 ms)
 */
import type { RunEvent, RunSummary, StartSync } from "../mod.ts";
import type { Out } from "./out.ts";
import type { RunView } from "./view.ts";

export class ScheduleView implements RunView {
  /** The `scheduled` events, which come together: the line is printed after the last. */
  #scheduled: { at: number; hosts: number; bound: number } | null = null;

  constructor(private readonly out: Out) {}

  event(e: RunEvent): void {
    if (e.type === "scheduled") {
      const s = this.#scheduled ??= { at: e.at, hosts: 0, bound: 0 };
      s.hosts++;
      s.bound = Math.max(s.bound, e.bound);
    } else this.#announce();
  }

  #announce(): void {
    const s = this.#scheduled;
    if (s === null || s.hosts === 0) return;
    const wait = ((s.at - Date.now()) / 1000).toFixed(2);
    this.out.stderr(
      `start at ${formatInstant(s.at)} (in ${wait} s) on ${s.hosts} host${
        s.hosts === 1 ? "" : "s"
      }, clocks known to ±${formatMs(s.bound)} ms\n`,
    );
    s.hosts = 0;
  }

  end(summary: RunSummary): void {
    this.#announce();
    const s = summary.sync;
    if (!s) return;
    if (s.skew === null) {
      this.out.stderr(`start at ${formatInstant(s.at)}: no host started\n`);
      return;
    }
    const n = `${s.started} host${s.started === 1 ? "" : "s"}`;
    const when = s.started === 1
      ? `${formatMs(s.latest!)} ms`
      : `${formatMs(s.earliest!)} to ${formatMs(s.latest!)} ms`;
    this.out.stderr(
      `start skew ${formatMs(s.skew)} ms: ${n} started ${when} after ${formatInstant(s.at)} ` +
        `(clocks ±${formatMs(s.bound)} ms)\n`,
    );
  }
}

/** When one host started: `at 14:03:27.250412, +0.41 ms ±0.05`. */
export function describeStart(s: StartSync): string {
  const late = `${s.late >= 0 ? "+" : ""}${formatMs(s.late)}`;
  return `at ${formatInstant(s.start, 6)}, ${late} ms ±${formatMs(s.bound)}`;
}

/** Local time to the ms (or the µs): `14:03:27.250`, with the date when not today. */
export function formatInstant(ms: number, digits = 3): string {
  const d = new Date(Math.floor(ms));
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const frac = String(Math.floor((ms - Math.floor(ms / 1000) * 1000) * 10 ** (digits - 3)))
    .padStart(digits, "0");
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac}`;
  if (new Date().toDateString() === d.toDateString()) return hms;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
}

/** A few significant digits: `0.08`, `1.84`, `12.3`, `240`. */
export function formatMs(ms: number): string {
  const a = Math.abs(ms);
  return ms.toFixed(a < 10 ? 2 : a < 100 ? 1 : 0);
}
