/**
 * Alerts on hosts from the telemetry stream (`Controller.telemetry`), which
 * already says when a selected host goes down (no answer at the start, bye,
 * silence for three heartbeats) and comes back up. A host up at the start
 * is no news; a host that comes back after it was down is.
 */
import type { DownReason, TelemetryEvent } from "../telemetry.ts";
import type { Alerter } from "./alerter.ts";

/** What happened to a host, and whether its alert went (false: rate-limited). */
export type HostAlertEvent =
  | { type: "lost"; host: string; at: number; reason: DownReason; sent: boolean }
  | { type: "back"; host: string; at: number; downFor: number | null; sent: boolean }
  /** Every selected host has been heard, or reported lost, once. */
  | { type: "ready"; at: number; up: number; down: number };

/**
 * Follows `events` until they end, alerting through `alerter`, and hands
 * each host event to `onEvent`.
 */
export async function followHostAlerts(
  events: AsyncIterable<TelemetryEvent>,
  alerter: Alerter,
  onEvent: (e: HostAlertEvent) => void = () => {},
): Promise<void> {
  /** Down hosts, and since when (null: down from the start). */
  const down = new Map<string, number | null>();
  const up = new Set<string>();
  let ready = false;
  for await (const e of events) {
    if (e.type === "down") {
      if (down.has(e.host)) continue;
      const wasUp = up.delete(e.host);
      down.set(e.host, wasUp ? e.at : null);
      const sent = alerter.hostLost(e.host, e.reason, e.lastSeen, e.at);
      onEvent({ type: "lost", host: e.host, at: e.at, reason: e.reason, sent });
    } else if (e.type === "up") {
      if (up.has(e.host)) continue;
      up.add(e.host);
      if (!down.has(e.host)) continue;
      const since = down.get(e.host)!;
      down.delete(e.host);
      const downFor = since === null ? null : e.at - since;
      const sent = alerter.hostBack(e.host, downFor, e.at);
      onEvent({ type: "back", host: e.host, at: e.at, downFor, sent });
    } else if (e.type === "ready" && !ready) {
      ready = true;
      onEvent({ type: "ready", at: e.at, up: up.size, down: down.size });
    }
  }
}
