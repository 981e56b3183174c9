/**
 * `run --at WHEN`: an instant as people write it, to ms since the epoch.
 *
 * - `+D`: D after now (`+2s`, `+500ms`, `+1m`; a bare number is seconds);
 * - `HH:MM`, `HH:MM:SS`, `HH:MM:SS.fff`: today, local time (not tomorrow:
 *   a time of day already past is refused as past, not moved);
 * - a date and time as JavaScript reads ISO 8601: `2026-12-05T14:03:27.250Z`,
 *   `2026-12-05T14:03:27` (local), `2026-12-05 14:03:27`;
 * - `@S`: seconds since the epoch, with a fraction (`date +%s.%N`'s form).
 *
 * Whether it is far enough ahead is the library's to judge (checkInstant).
 */
import { parseDuration } from "../../protocol/duration.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";

export function parseInstant(text: string, now: number): number {
  const t = text.trim();
  if (t.startsWith("+")) {
    try {
      return now + parseDuration(t.slice(1), "--at");
    } catch (e) {
      throw new UsageError(e instanceof TuttiError ? e.message : String(e));
    }
  }
  const epoch = /^@(\d+(?:\.\d+)?)$/.exec(t);
  if (epoch) return Number(epoch[1]) * 1000;
  const tod = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/.exec(t);
  if (tod) {
    const [h, m, s] = [Number(tod[1]), Number(tod[2]), Number(tod[3] ?? 0)];
    if (h > 23 || m > 59 || s > 59) throw bad(text);
    const d = new Date(now);
    d.setHours(h, m, s, 0);
    return d.getTime() + Number(`0.${tod[4] ?? "0"}`) * 1000;
  }
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}/.test(t)) {
    const ms = Date.parse(t.replace(" ", "T"));
    if (Number.isFinite(ms)) return ms;
  }
  throw bad(text);
}

function bad(text: string): UsageError {
  return new UsageError(
    `--at ${JSON.stringify(text)}: expected +DELAY (+2s), HH:MM[:SS[.fff]] (today, local time), ` +
      `a date and time (2026-12-05T14:03:27.250Z) or @SECONDS since the epoch`,
  );
}
