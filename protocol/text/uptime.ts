/**
 * How long something has been up, for people, in the one style both sides
 * print: supervisorctl's (Python's `str(timedelta)` without fractions), so
 * `programs status` reads as supervisord users expect and `hosts` matches it.
 */
import { count } from "./count.ts";

/** `0:03:12`, `10:00:00`, `1 day, 0:00:01`, `2 days, 1:02:03` for a duration in ms. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const clock = `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  return days === 0 ? clock : `${count(days, "day")}, ${clock}`;
}
