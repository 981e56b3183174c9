/** How the page writes figures: sizes, percentages, durations. */

const UNITS = ["", "K", "M", "G", "T", "P"];

/** `512`, `1.5K`, `23M`; `-` when unknown. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  let u = 0;
  while (n >= 1024 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  if (u === 0) return String(Math.round(n));
  return (n < 10 ? n.toFixed(1) : String(Math.round(n))) + UNITS[u];
}

/** One decimal; `-` when unknown. */
export function pct(n: number | null | undefined): string {
  return n === null || n === undefined ? "-" : n.toFixed(1);
}

/** `4.2s`, then `3m07s` from a minute on. */
export function seconds(ms: number): string {
  return ms < 60000
    ? (ms / 1000).toFixed(1) + "s"
    : Math.floor(ms / 60000) + "m" + String(Math.floor(ms / 1000) % 60).padStart(2, "0") + "s";
}
