/// <reference lib="dom" />
/**
 * The hosts table: one row per host, kept in natural order, with its
 * figures and two charts fed by the history points each message brings.
 */
import type { HostJson, Point } from "../page_messages.ts";
import { byHost, byId, el, insertSorted, setText } from "./dom.ts";
import { bytes, pct } from "./format.ts";
import { drawSpark, HISTORY, spark } from "./spark.ts";

const COLS = [
  "host",
  "state",
  "cpu",
  "cpuChart",
  "load",
  "mem",
  "memChart",
  "rx",
  "tx",
  "procs",
] as const;
type Column = (typeof COLS)[number];
const NUM = new Set<Column>(["cpu", "load", "mem", "rx", "tx", "procs"]);

interface HostRecord {
  tr: HTMLTableRowElement;
  cells: Record<Column, HTMLTableCellElement>;
  cpu: SVGSVGElement;
  mem: SVGSVGElement;
  history: Point[];
}

export class HostsTable {
  readonly #rows = new Map<string, HostRecord>();
  readonly #tbody = byId<HTMLTableElement>("hosts").tBodies[0];
  readonly #summary = byId("summary");
  readonly #empty = byId("no-hosts");

  update(h: HostJson): void {
    const rec = this.#rows.get(h.host) ?? this.#add(h.host);
    const last = rec.history.length ? rec.history[rec.history.length - 1][0] : -Infinity;
    for (const p of h.points) if (p[0] > last) rec.history.push(p);
    if (rec.history.length > HISTORY) rec.history.splice(0, rec.history.length - HISTORY);
    const c = rec.cells;
    rec.tr.className = h.up ? "up" : "down";
    setText(c.state, h.state);
    c.state.className = "state " + (h.up ? "state-up" : "state-down");
    setText(c.cpu, pct(h.cpu));
    c.cpu.title = h.cpuParts === null ? "" : "user " + pct(h.cpuParts[0]) + " · system " +
      pct(h.cpuParts[1]) + " · iowait " + pct(h.cpuParts[2]) + " · steal " + pct(h.cpuParts[3]) +
      (h.cores ? " (" + h.cores + " cores)" : "");
    if (h.sampled !== null) c.cpu.dataset.sampled = String(h.sampled);
    setText(c.load, h.load === null ? "-" : h.load.toFixed(2));
    setText(c.mem, h.memUsed === null ? "-" : bytes(h.memUsed) + " / " + bytes(h.memTotal));
    setText(c.rx, h.rx === null ? "-" : bytes(h.rx) + "/s");
    setText(c.tx, h.tx === null ? "-" : bytes(h.tx) + "/s");
    setText(c.procs, h.procs === null ? "-" : String(h.procs));
    const cpuValues = rec.history.map((p) => p[1]);
    const memValues = rec.history.map((p) => p[2]);
    drawSpark(rec.cpu, cpuValues, `${h.host} CPU, last ${cpuValues.length} samples`);
    drawSpark(rec.mem, memValues, `${h.host} memory, last ${memValues.length} samples`);
    this.summary();
  }

  /** The header's count of hosts, and the empty table's note. */
  summary(): void {
    let all = 0;
    let up = 0;
    for (const r of this.#rows.values()) {
      all++;
      if (r.tr.className === "up") up++;
    }
    setText(
      this.#summary,
      all + " host" + (all === 1 ? "" : "s") + " · " + up + " up" +
        (all > up ? " · " + (all - up) + " not answering" : ""),
    );
    setText(this.#empty, all === 0 ? "No host has answered yet." : "");
  }

  clear(): void {
    this.#rows.clear();
    this.#tbody.textContent = "";
  }

  #add(host: string): HostRecord {
    const tr = el("tr");
    tr.dataset.host = host;
    const cells = {} as Record<Column, HTMLTableCellElement>;
    for (const k of COLS) {
      const td = el("td", k + (NUM.has(k) ? " num" : ""));
      cells[k] = td;
      tr.appendChild(td);
    }
    cells.host.textContent = host;
    const cpu = spark("cpu");
    const mem = spark("mem");
    cells.cpuChart.appendChild(cpu);
    cells.memChart.appendChild(mem);
    const rec: HostRecord = { tr, cells, cpu, mem, history: [] };
    this.#rows.set(host, rec);
    insertSorted(this.#tbody, tr, host, byHost);
    return rec;
  }
}
