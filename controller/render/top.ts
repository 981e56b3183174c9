/**
 * `controller top`'s screen as a pure function of the cluster state:
 *
 *   tutti top · 3 hosts: 2 up, 1 lost · sorted by cpu · 14:03:27
 *
 *   HOST  STATE    CPU%  LOAD  MEM%        MEM   RX/s   TX/s  PROCS
 *   w-2   up       97.5  1.02  41.2  3.2G/7.8G   1.2K    340  1: burn 99.8%
 *   w-1   up        2.0  0.10  40.9  3.2G/7.8G    120     80  0
 *   w-3   lost 9s     -     -     -          -      -      -  -
 *
 *   no telemetry from w-[4-5]: start their agents with --telemetry 1s
 *
 * Lines are cut to the terminal's width; the caller draws them.
 */
import { compareHosts } from "../../protocol/nodeset.ts";
import { fold } from "../../protocol/selector.ts";
import type { NetInterface } from "../../protocol/telemetry_messages.ts";
import { count } from "../../protocol/text/count.ts";
import type { ClusterState, HostRow } from "../mod.ts";
import { formatTime } from "./describe.ts";
import { formatBytes, formatPercent, hostStateText } from "./top_format.ts";

export type TopSort = "cpu" | "mem" | "host" | "load";
export const TOP_SORTS: readonly TopSort[] = ["cpu", "mem", "host", "load"];

export interface TopOptions {
  sort: TopSort;
  now: number;
  /** Columns available; longer lines are cut. */
  width?: number;
  /** Rows available: hosts that do not fit are counted on the last line. */
  height?: number;
  /** Show the keys line (a terminal with keyboard input). */
  keys?: boolean;
  /** Include the notes (hosts without telemetry) below the table (default true). */
  notes?: boolean;
  /** How long after the first ping a host without telemetry is reported (default 3 s). */
  telemetryGraceMs?: number;
}

const HEADER = ["HOST", "STATE", "CPU%", "LOAD", "MEM%", "MEM", "RX/s", "TX/s", "PROCS"];
/** Columns aligned to the right (numbers). */
const RIGHT = new Set([2, 3, 4, 5, 6, 7]);

export function topLines(state: ClusterState, o: TopOptions): string[] {
  const hosts = sortHosts(state.hostList(), o.sort);
  const up = hosts.filter((h) => h.state === "up").length;
  const down = hosts.length - up;
  const counts = `${count(hosts.length, "host")}: ${up} up` +
    (down > 0 ? `, ${down} not answering` : "");
  const head = `tutti top · ${counts} · sorted by ${o.sort} · ${formatTime(o.now, o.now)}`;
  const notes = o.notes === false ? [] : topNotes(state, o);
  const rows = hosts.map((h) => hostCells(h, o.now));
  let shown = rows;
  let hidden = 0;
  if (o.height !== undefined) {
    // Title, blank, header, then rows, then blank + notes + keys.
    const fixed = 3 + (notes.length > 0 ? notes.length + 1 : 0) + (o.keys ? 2 : 0);
    const room = Math.max(1, o.height - fixed);
    if (rows.length > room) {
      shown = rows.slice(0, room - 1);
      hidden = rows.length - shown.length;
    }
  }
  const lines = [head, "", ...align([HEADER, ...shown])];
  if (hidden > 0) lines.push(`... ${count(hidden, "more host")}`);
  if (hosts.length === 0) {
    lines.push(state.ready ? "(no host answered)" : "(asking the hosts ...)");
  }
  if (notes.length > 0) lines.push("", ...notes);
  if (o.keys) lines.push("", "sort: c cpu · m memory · h host · l load     q quit");
  return o.width === undefined ? lines : lines.map((l) => cut(l, o.width!));
}

/** Hosts up without telemetry, in one line naming them. */
export function topNotes(state: ClusterState, o: TopOptions): string[] {
  const without = state.withoutTelemetry(o.now, o.telemetryGraceMs ?? 3000);
  if (without.length === 0) return [];
  return [`no telemetry from ${fold(without)}: start their agents with --telemetry 1s`];
}

export function sortHosts(hosts: HostRow[], sort: TopSort): HostRow[] {
  const key = (h: HostRow): number | null => {
    if (h.state !== "up" || !h.machine) return null;
    const m = h.machine;
    if (sort === "cpu") return m.cpu.total;
    if (sort === "mem") return m.memory.total > 0 ? m.memory.used / m.memory.total : null;
    if (sort === "load") return m.load[0];
    return null;
  };
  return [...hosts].sort((a, b) => {
    if (sort !== "host") {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) {
        if (ka === null) return 1;
        if (kb === null) return -1;
        return kb - ka;
      }
    }
    return compareHosts(a.host, b.host);
  });
}

function hostCells(h: HostRow, now: number): string[] {
  const state = hostStateText(h, now);
  const m = h.machine;
  if (h.state !== "up" || !m) return [h.host, state, "-", "-", "-", "-", "-", "-", "-"];
  const mem = m.memory;
  const procs = [...h.procs].sort((a, b) => (b.cpu ?? -1) - (a.cpu ?? -1));
  const top = procs.slice(0, 3).map((p) => `${p.id} ${formatPercent(p.cpu)}%`).join(", ");
  return [
    h.host,
    state,
    formatPercent(m.cpu.total),
    m.load[0].toFixed(2),
    formatPercent(mem.total > 0 ? 100 * mem.used / mem.total : null),
    `${formatBytes(mem.used)}/${formatBytes(mem.total)}`,
    formatBytes(netRate(m.net, "rxRate")),
    formatBytes(netRate(m.net, "txRate")),
    procs.length === 0 ? "0" : `${procs.length}: ${top}${procs.length > 3 ? ", ..." : ""}`,
  ];
}

/** Bytes per second over every interface but loopback; null when none is known. */
export function netRate(net: NetInterface[], field: "rxRate" | "txRate"): number | null {
  let sum: number | null = null;
  for (const n of net) {
    if (n.name === "lo" || n[field] === null) continue;
    sum = (sum ?? 0) + n[field]!;
  }
  return sum;
}

function align(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r.map((cell, i) => {
      if (i === r.length - 1) return cell;
      return RIGHT.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
    }).join("  ").trimEnd()
  );
}

function cut(line: string, width: number): string {
  return line.length > width ? line.slice(0, Math.max(0, width - 1)) + "…" : line;
}
