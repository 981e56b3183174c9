/**
 * `controller hosts`: one line per host beginning with its name.
 *
 *   HOST  STATE                    UPTIME   RUNNING  HEARTBEAT  VERSION  LABELS
 *   t-1   up                       0:12:03  2        5s         0.1.0    rack=r1
 *   t-4   lost (last seen 3m ago)
 */
import { formatUptime } from "../../protocol/text/uptime.ts";
import type { HostStatus } from "../mod.ts";
import { formatAgo, formatPeriod } from "./describe.ts";
import { formatTable } from "./table.ts";

export function hostsTable(hosts: HostStatus[], now = Date.now()): string {
  const rows = hosts.map((h) => {
    if (h.state === "lost") {
      const seen = h.lastSeen === undefined
        ? "never seen"
        : `last seen ${formatAgo(now - h.lastSeen)}`;
      return [h.host, `lost (${seen})`];
    }
    if (!h.info) return [h.host, `up (${h.error?.code} ${h.error?.message})`];
    const i = h.info;
    const labels = Object.entries(i.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    return [
      h.host,
      "up",
      formatUptime(now - i.started),
      String(i.running),
      formatPeriod(i.heartbeat),
      i.version,
      labels,
    ];
  });
  return formatTable(
    ["HOST", "STATE", "UPTIME", "RUNNING", "HEARTBEAT", "VERSION", "LABELS"],
    rows,
  );
}

/** One JSON object per host, for scripts. */
export function hostJson(h: HostStatus): Record<string, unknown> {
  return {
    host: h.host,
    state: h.state,
    ...(h.lastSeen !== undefined ? { lastSeen: h.lastSeen } : {}),
    ...(h.info ?? {}),
    ...(h.error ? { error: h.error } : {}),
  };
}
