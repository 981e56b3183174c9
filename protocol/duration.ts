/**
 * Durations as users write them on command lines and in configs: `250ms`,
 * `5s`, `2m`, `1h`, `1d`, or a bare number of seconds. Answers milliseconds.
 */
import { TuttiError } from "./errors.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(input: string | number, what = "duration"): number {
  if (typeof input === "number") {
    if (Number.isFinite(input) && input >= 0) return input * 1000;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(input);
    if (m) return Math.round(Number(m[1]) * UNITS[m[2] ?? "s"]);
  }
  throw new TuttiError(
    "EINVAL",
    `${what} ${
      JSON.stringify(input)
    } is not a duration: use e.g. 500ms, 10s, 5m, 1h or a number of seconds`,
  );
}

/** `3723000` → `1:02:03` (supervisorctl's uptime style); days are prefixed as `2d 1:02:03`. */
export function formatUptime(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const hms = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return d > 0 ? `${d}d ${hms}` : hms;
}
