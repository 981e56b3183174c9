/**
 * Durations as users write them on command lines, in configs and in request
 * fields (a watch's `timeout`, a signal's `grace`): `250ms`, `5s`, `2m`,
 * `1h`, `1d`, or a bare number of seconds. Answers milliseconds. Durations
 * printed for people are protocol/text/'s.
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
