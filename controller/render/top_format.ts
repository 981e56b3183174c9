/**
 * Figures as `top` and the dashboard print them: bytes in binary units
 * (`512`, `1.5K`, `12M`, `7.8G`), rates per second, percentages. Unknown
 * figures (null: a first sample) print as `-`. And a host's state in a word
 * or two (`up`, `lost 9s`).
 */
import type { HostRow } from "../mod.ts";

const UNITS = ["", "K", "M", "G", "T", "P"];

/** `0`, `512`, `1.5K`, `12M`, `7.8G`: one decimal below 10 of a unit. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "-";
  let v = Math.max(0, n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return String(Math.round(v));
  // 1023.6K would print as 1024K: step up instead.
  if (Math.round(v) >= 1024 && u < UNITS.length - 1) return `1.0${UNITS[u + 1]}`;
  return v < 10 ? `${v.toFixed(1)}${UNITS[u]}` : `${Math.round(v)}${UNITS[u]}`;
}

export function formatRate(n: number | null | undefined): string {
  const b = formatBytes(n);
  return b === "-" ? b : `${b}/s`;
}

/** `12.3` (percent, one decimal), `-` when unknown. */
export function formatPercent(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "-";
  return n.toFixed(1);
}

/** How the dashboard and top word a host's state. */
export function hostStateText(h: HostRow, now: number): string {
  if (h.state === "up") return "up";
  if (h.down === "bye") return "stopped";
  if (h.down === "noresponse") return "no response";
  const s = Math.max(0, Math.round((now - h.lastHeard) / 1000));
  return h.lastHeard > 0 ? `lost ${s}s` : "lost";
}
