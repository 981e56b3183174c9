/**
 * The dashboard's live model, between the controller library and the pages:
 * it follows the selected hosts (telemetry, presence, processes and their
 * output, telemetry.ts) into a `ClusterState`, runs the commands the pages
 * ask for with the library's `run()`, and sends every page what changed as
 * small JSON messages (the page's whole protocol is in page_messages.ts).
 *
 * Changes are batched: a host or process that changed is sent once per
 * tick (250 ms), so a chatty process cannot flood a browser. Run output is
 * capped per host in the page; the full output stays in the agents' spools
 * (`controller logs HOST ID`).
 */
import { fold } from "../../protocol/selector.ts";
import {
  ClusterState,
  type Controller,
  type HostRow,
  type HostSpec,
  prepareRun,
  type ProcRow,
  type RunEvent,
  type TelemetryEvent,
  type TelemetryHandle,
} from "../mod.ts";
import { describeError, describeExit, formatCommand } from "../render/describe.ts";
import { netRate } from "../render/top.ts";
import { hostStateText } from "../render/top_format.ts";
import { failureLines, summaryLine } from "../render/summary.ts";
import type {
  HostJson,
  PageClient,
  Point,
  ProcJson,
  RunHostJson,
  RunJson,
  Snapshot,
} from "./page_messages.ts";

// ---------------------------------------------------------------- the hub

const TICK_MS = 250;
/** Run output kept (and shown) per host; the rest is in the agent's spool. */
const RUN_TEXT_MAX = 64 * 1024;
/** Runs kept for pages that connect later. */
const KEEP_RUNS = 10;
/** A command line typed in the page may be this long. */
export const MAX_COMMAND = 8192;

interface RunRecord {
  json: RunJson;
  pending: Map<string, string>;
  decoders: Map<string, TextDecoder>;
  startedAt: number;
}

export class DashboardHub {
  readonly state = new ClusterState();
  readonly #clients = new Set<PageClient>();
  readonly #dirtyHosts = new Set<string>();
  readonly #dirtyProcs = new Set<string>();
  /** Per host, the time of the last history point sent. */
  readonly #sentUpTo = new Map<string, number>();
  readonly #runs: RunRecord[] = [];
  #notes = "";
  #telemetry: TelemetryHandle | undefined;
  #tick: ReturnType<typeof setInterval> | undefined;
  #lastAges = 0;

  constructor(
    private readonly c: Controller,
    private readonly spec: HostSpec,
    private readonly defaultHosts: string,
  ) {}

  /** Starts following the hosts. */
  start(): void {
    const tel = this.c.telemetry({ ...this.spec, processes: true });
    this.#telemetry = tel;
    (async () => {
      for await (const e of tel) this.#apply(e);
    })().catch(() => {});
    this.#tick = setInterval(() => this.#flush(), TICK_MS);
  }

  async close(): Promise<void> {
    clearInterval(this.#tick);
    await this.#telemetry?.close();
  }

  /** Adds a page: it gets the snapshot at once, then every change. Returns its removal. */
  add(client: PageClient): () => void {
    client.send("snapshot", this.snapshot());
    this.#clients.add(client);
    return () => this.#clients.delete(client);
  }

  snapshot(): Snapshot {
    return {
      prefix: this.c.prefix,
      defaultHosts: this.defaultHosts,
      hosts: this.state.hostList().map((h) => hostJson(h, Date.now(), h.history.map(point))),
      procs: [...this.state.procs.values()].map(procJson),
      runs: this.#runs.map((r) => r.json),
      notes: this.#notes,
    };
  }

  /**
   * Runs `command` (a shell line) on `hosts`; the pages follow it through
   * `run` messages. Throws EBADSEL/EINVAL for bad input, before anything is sent.
   */
  run(hosts: string, command: string): RunJson {
    if (command.trim() === "") throw new TypeError("the command is empty");
    if (command.length > MAX_COMMAND) throw new TypeError("the command is too long");
    const prepared = prepareRun({ hosts, shell: command });
    const run = this.c.run(prepared);
    const json: RunJson = {
      id: run.id,
      hosts,
      command,
      started: Date.now(),
      took: null,
      results: [],
      done: null,
    };
    const rec: RunRecord = {
      json,
      pending: new Map(),
      decoders: new Map(),
      startedAt: performance.now(),
    };
    this.#runs.push(rec);
    if (this.#runs.length > KEEP_RUNS) this.#runs.splice(0, this.#runs.length - KEEP_RUNS);
    this.#broadcast("run", { id: json.id, kind: "new", run: json });
    (async () => {
      for await (const e of run) this.#runEvent(rec, e);
      const summary = await run.done;
      this.#flushRun(rec);
      const took = Math.round(performance.now() - rec.startedAt);
      const lines = [...failureLines(summary.hosts), summaryLine(summary.hosts)];
      json.took = took;
      json.done = { ok: summary.ok, summary: lines.join("\n") };
      this.#broadcast("run", { id: json.id, kind: "done", took, ...json.done });
    })().catch((e) => {
      json.done = { ok: false, summary: `the run failed: ${(e as Error)?.message ?? e}` };
      this.#broadcast("run", { id: json.id, kind: "done", took: 0, ...json.done });
    });
    return json;
  }

  // ------------------------------------------------------------ inputs

  #apply(e: TelemetryEvent): void {
    this.state.apply(e);
    switch (e.type) {
      case "up":
      case "down":
      case "machine":
        this.#dirtyHosts.add(e.host);
        return;
      case "procs":
        this.#dirtyHosts.add(e.host);
        for (const p of this.state.procs.values()) {
          if (p.host === e.host) this.#dirtyProcs.add(`${p.host}/${p.id}`);
        }
        return;
      case "proc":
        this.#dirtyProcs.add(`${e.host}/${e.proc.id}`);
        this.#dirtyHosts.add(e.host);
        return;
      case "output":
        this.#dirtyProcs.add(`${e.host}/${e.proc}`);
        return;
    }
  }

  #runEvent(rec: RunRecord, e: RunEvent): void {
    const status = (host: string, text: string, ok: boolean | null) => {
      const r = this.#runHost(rec, host);
      r.status = text;
      r.ok = ok;
      this.#flushRun(rec);
      this.#broadcast("run", { id: rec.json.id, kind: "host", host, status: text, ok });
    };
    switch (e.type) {
      case "started":
        return status(e.host, "running", null);
      case "output": {
        const key = `${e.host}/${e.stream}`;
        let d = rec.decoders.get(key);
        if (!d) rec.decoders.set(key, d = new TextDecoder());
        this.#runText(rec, e.host, d.decode(e.data, { stream: true }));
        return;
      }
      case "missing":
        return this.#runText(rec, e.host, `\n[${e.bytes} bytes missing: ${e.error.message}]\n`);
      case "exit":
        return status(e.host, describeExit(e.proc), e.proc.code === 0 && !e.proc.timedOut);
      case "error":
        return status(e.host, describeError(e.error), false);
    }
  }

  #runHost(rec: RunRecord, host: string): RunHostJson {
    let r = rec.json.results.find((x) => x.host === host);
    if (!r) {
      r = { host, status: "waiting", ok: null, text: "" };
      rec.json.results.push(r);
    }
    return r;
  }

  /** Output of a run, kept up to the cap, sent on the next tick. */
  #runText(rec: RunRecord, host: string, text: string): void {
    const r = this.#runHost(rec, host);
    const room = RUN_TEXT_MAX - r.text.length;
    if (room <= 0) return;
    let add = text.length > room ? text.slice(0, room) : text;
    if (text.length >= room) {
      add += `\n[output cut at ${
        RUN_TEXT_MAX / 1024
      } KiB here: controller logs ${host} ${rec.json.id}]\n`;
    }
    r.text += add;
    rec.pending.set(host, (rec.pending.get(host) ?? "") + add);
  }

  // ------------------------------------------------------------ outputs

  #flush(): void {
    const now = Date.now();
    // Lost hosts show their silence growing: refresh them every second.
    if (now - this.#lastAges >= 1000) {
      this.#lastAges = now;
      for (const h of this.state.hosts.values()) {
        if (h.state === "down") this.#dirtyHosts.add(h.host);
      }
    }
    for (const host of this.#dirtyHosts) {
      const h = this.state.hosts.get(host);
      if (!h) continue;
      const since = this.#sentUpTo.get(host) ?? -Infinity;
      const fresh = h.history.filter((p) => p.at > since);
      if (fresh.length > 0) this.#sentUpTo.set(host, fresh.at(-1)!.at);
      this.#broadcast("host", hostJson(h, now, fresh.map(point)));
    }
    this.#dirtyHosts.clear();
    for (const key of this.#dirtyProcs) {
      const p = this.state.procs.get(key);
      if (p) this.#broadcast("proc", procJson(p));
    }
    this.#dirtyProcs.clear();
    for (const rec of this.#runs) this.#flushRun(rec);
    const without = this.state.withoutTelemetry(now, 3000);
    const notes = without.length === 0
      ? ""
      : `no telemetry from ${fold(without)}: start their agents with --telemetry 1s`;
    if (notes !== this.#notes) {
      this.#notes = notes;
      this.#broadcast("notes", { notes });
    }
  }

  #flushRun(rec: RunRecord): void {
    for (const [host, text] of rec.pending) {
      this.#broadcast("run", { id: rec.json.id, kind: "output", host, text });
    }
    rec.pending.clear();
  }

  #broadcast(event: "host" | "proc" | "notes" | "run", data: unknown): void {
    for (const c of this.#clients) {
      try {
        (c.send as (e: string, d: unknown) => void)(event, data);
      } catch {
        this.#clients.delete(c);
      }
    }
  }
}

function point(p: { at: number; cpu: number | null; mem: number }): Point {
  return [p.at, p.cpu === null ? null : round1(p.cpu), round1(p.mem)];
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function hostJson(h: HostRow, now: number, points: Point[]): HostJson {
  const m = h.state === "up" ? h.machine : undefined;
  return {
    host: h.host,
    up: h.state === "up",
    state: hostStateText(h, now),
    cpu: m?.cpu.total ?? null,
    cpuParts: m ? [m.cpu.user, m.cpu.system, m.cpu.iowait, m.cpu.steal] : null,
    sampled: m?.at ?? null,
    cores: m?.cpu.cores.length ?? h.info.cores ?? null,
    load: m?.load[0] ?? null,
    memUsed: m?.memory.used ?? null,
    memTotal: m?.memory.total ?? h.info.memory ?? null,
    rx: m ? netRate(m.net, "rxRate") : null,
    tx: m ? netRate(m.net, "txRate") : null,
    procs: m ? h.procs.length : h.info.running ?? null,
    telemetry: h.info.telemetry ?? null,
    points,
  };
}

export function procJson(p: ProcRow): ProcJson {
  const info = p.info;
  if (p.program && !info) {
    // A supervised process: what its samples say (its output is not followed here).
    const state = p.program.state;
    return {
      host: p.host,
      id: p.id,
      state: state === null ? "exited" : "running",
      pid: p.sample?.pid ?? null,
      command: `program ${p.program.name}${state === null ? "" : ` (${state})`}`,
      exit: state === null ? "not running" : null,
      ok: state === null ? true : null,
      cpu: p.sample?.cpu ?? null,
      rss: p.sample?.rss ?? null,
      lines: p.lines,
    };
  }
  return {
    host: p.host,
    id: p.id,
    state: info?.state ?? "unknown",
    pid: info?.pid ?? null,
    command: info ? formatCommand(info.argv) : "",
    exit: info?.state === "exited" ? describeExit(info) : null,
    ok: info?.state === "exited" ? info.code === 0 && !info.timedOut : null,
    cpu: p.sample?.cpu ?? null,
    rss: p.sample?.rss ?? null,
    lines: p.lines,
  };
}
