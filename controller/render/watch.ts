/**
 * How a watch reads on a terminal: one line per host that became ready, as
 * it happens (`g5k-3: ready after 2.1s (0.0.0.0:9000 is listening)`), then the
 * hosts that did not, grouped by what happened under a folded node set, and
 * one summary line like the run's:
 * `3 hosts: 1 ready, 2 timed out (g5k-[2-3])`.
 */
import { fold } from "../../protocol/selector.ts";
import { count } from "../../protocol/text/count.ts";
import type { WatchHostResult, WatchHostStatus, WatchSummary } from "../mod.ts";

/** `2.1s`, `250ms`, `3m04s`. */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** The line for a host that met the condition; the matching line of an output watch follows. */
export function readyLine(r: WatchHostResult): string {
  const head = `${r.host}: ready after ${formatElapsed(r.elapsed)} (${r.detail})`;
  return r.line === undefined ? head : `${head}: ${r.line}`;
}

const WORDS: Record<WatchHostStatus, string> = {
  met: "ready",
  timeout: "timed out",
  failed: "failed",
  cancelled: "cancelled",
  noresponse: "no response",
  lost: "lost",
};

/** What happened to a host that is not ready, in a few words. */
export function notReadyText(r: WatchHostResult): string {
  switch (r.status) {
    case "timeout":
      return `not ready after ${formatElapsed(r.elapsed)}: ${r.detail}`;
    case "failed":
      return `failed: ${r.error ? `${r.error.code} ` : ""}${r.detail}`;
    case "cancelled":
      return r.detail === "cancelled" ? "cancelled" : `cancelled: ${r.detail}`;
    default:
      return `${WORDS[r.status]}: ${r.detail}`;
  }
}

/**
 * One line per distinct story among the hosts that are not ready, hosts
 * folded; those that never answered are left to the summary line.
 */
export function notReadyLines(results: WatchHostResult[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of results) {
    if (r.status === "met" || r.status === "noresponse") continue;
    // Elapsed times differ by milliseconds between hosts: group on the story, not the clock.
    const key = r.status === "timeout" ? `not ready: ${r.detail}` : notReadyText(r);
    const hosts = groups.get(key);
    if (hosts) hosts.push(r.host);
    else groups.set(key, [r.host]);
  }
  return [...groups].map(([what, hosts]) => `${fold(hosts)}: ${what}`);
}

const ORDER: WatchHostStatus[] = ["timeout", "failed", "lost", "noresponse", "cancelled"];

/** `3 hosts: 1 ready, 2 timed out (g5k-[2-3])`; every host not ready is named. */
export function watchSummaryLine(summary: WatchSummary): string {
  const n = summary.hosts.length;
  const head = count(n, "host");
  if (n === 0) return `${head}: none selected or answering`;
  const by = (s: WatchHostStatus) => summary.hosts.filter((h) => h.status === s).map((h) => h.host);
  const parts = [`${by("met").length} ready`];
  for (const status of ORDER) {
    const hosts = by(status);
    if (hosts.length > 0) parts.push(`${hosts.length} ${WORDS[status]} (${fold(hosts)})`);
  }
  return `${head}: ${parts.join(", ")}`;
}
