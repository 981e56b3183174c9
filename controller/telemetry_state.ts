/**
 * What `controller top` and the dashboard show, kept up to date from the
 * telemetry stream (telemetry.ts): per host its state, last machine sample,
 * a short history for charts and its managed processes; per process what
 * the agent said about it and its last output lines. A pure reducer: feed
 * it events with `apply`, read it; time comes from the events, so it is
 * tested without a clock or a broker.
 */
import type { PingReply, ProcInfo, StreamName } from "../protocol/messages.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import type { ProgramState } from "../protocol/program_messages.ts";
import type { MachineSample, ProcSample } from "../protocol/telemetry_messages.ts";
import type { DownReason, TelemetryEvent } from "./telemetry.ts";

/** Samples kept per host for charts (at 1 Hz: two minutes). */
export const HISTORY = 120;
/** Output lines kept per process. */
export const LAST_LINES = 20;
/** A line longer than this is cut (the rest of it is dropped, with an ellipsis). */
export const MAX_LINE = 1000;
/** Exited processes kept per host, newest first; running ones are always kept. */
export const KEEP_EXITED = 20;

export interface HistoryPoint {
  at: number;
  /** Busy share of the machine, percent; null when unknown (first sample). */
  cpu: number | null;
  /** Memory used, percent of the total. */
  mem: number;
}

export interface HostRow {
  host: string;
  state: "up" | "down";
  /** Why it is down. */
  down?: DownReason;
  /** When it was last heard from (any message), ms since the epoch. */
  lastHeard: number;
  /** What the agent says about itself (ping or presence): telemetry period, cores, memory, ... */
  info: Partial<PingReply>;
  machine?: MachineSample;
  /** The managed processes in the last process sample. */
  procs: ProcSample[];
  history: HistoryPoint[];
}

export interface ProcRow {
  host: string;
  id: string;
  info?: ProcInfo;
  /**
   * A supervised process: its program, and its state in the last process
   * sample (null once it is no longer in them: not running).
   */
  program?: { name: string; state: ProgramState | null };
  /** Its last telemetry (while running, with telemetry on). */
  sample?: ProcSample;
  /** Last complete output lines, oldest first, each with its stream. */
  lines: { stream: StreamName; text: string }[];
  /** When it started or ended, as far as known (ms since the epoch): orders the list. */
  changed: number;
}

export class ClusterState {
  readonly hosts = new Map<string, HostRow>();
  /** By `host/id`. */
  readonly procs = new Map<string, ProcRow>();
  /** The first ping is over (see telemetry.ts `ready`). */
  ready = false;
  /** When the first ping ended. */
  readyAt: number | undefined;
  readonly #partial = new Map<string, string>();
  readonly #decoders = new Map<string, TextDecoder>();

  apply(e: TelemetryEvent): void {
    switch (e.type) {
      case "up": {
        const h = this.#host(e.host, e.at);
        h.state = "up";
        h.down = undefined;
        h.lastHeard = Math.max(h.lastHeard, e.at);
        h.info = { ...h.info, ...e.info };
        return;
      }
      case "down": {
        const h = this.#host(e.host, e.lastSeen ?? 0);
        h.state = "down";
        h.down = e.reason;
        return;
      }
      case "ready":
        this.ready = true;
        this.readyAt = e.at;
        return;
      case "machine": {
        const h = this.#host(e.host, e.sample.at);
        const { v: _v, host: _h, ...sample } = e.sample;
        h.machine = sample;
        h.state = "up";
        h.down = undefined;
        h.lastHeard = Math.max(h.lastHeard, sample.at);
        const mem = sample.memory.total > 0 ? 100 * sample.memory.used / sample.memory.total : 0;
        h.history.push({ at: sample.at, cpu: sample.cpu.total, mem });
        if (h.history.length > HISTORY) h.history.splice(0, h.history.length - HISTORY);
        return;
      }
      case "procs": {
        const h = this.#host(e.host, e.sample.at);
        h.procs = e.sample.procs;
        h.lastHeard = Math.max(h.lastHeard, e.sample.at);
        for (const p of e.sample.procs) {
          const row = this.#proc(e.host, p.id, e.sample.at);
          row.sample = p;
          if (p.program !== undefined) {
            // A supervised process: the sample is all there is of it (no `proc` events).
            if (row.program?.state == null) row.changed = e.sample.at;
            row.program = { name: p.program, state: p.state ?? null };
          }
        }
        // A process absent from the sample is no longer running: its figures are stale.
        for (const row of this.procs.values()) {
          if (row.host === e.host && row.sample && !e.sample.procs.some((p) => p.id === row.id)) {
            row.sample = undefined;
            if (row.program && row.program.state !== null) {
              row.program.state = null;
              row.changed = e.sample.at;
            }
          }
        }
        return;
      }
      case "proc": {
        const at = e.proc.ended ?? e.proc.started ?? 0;
        const row = this.#proc(e.host, e.proc.id, at);
        row.info = e.proc;
        row.changed = Math.max(row.changed, at);
        if (e.proc.state === "exited") {
          row.sample = undefined;
          this.#flush(e.host, e.proc.id);
          this.#trim(e.host);
        }
        return;
      }
      case "output":
        this.#output(e.host, e.proc, e.stream, e.data);
        return;
    }
  }

  /** Hosts sorted by name. */
  hostList(): HostRow[] {
    return [...this.hosts.values()].sort((a, b) => compareHosts(a.host, b.host));
  }

  /** The processes of `host`: running first, then exited, newest first. */
  procsOf(host: string): ProcRow[] {
    return [...this.procs.values()].filter((p) => p.host === host).sort((a, b) => {
      const ra = isRunning(a) ? 0 : 1;
      const rb = isRunning(b) ? 0 : 1;
      return ra - rb || b.changed - a.changed;
    });
  }

  /**
   * Hosts up without telemetry: their agent says it is off, or (once the
   * first ping is over and `graceMs` has passed) none has arrived.
   */
  withoutTelemetry(now: number, graceMs: number): string[] {
    return this.hostList().filter((h) => {
      if (h.state !== "up" || h.machine) return false;
      if (h.info.telemetry === 0) return true;
      return this.readyAt !== undefined && now - this.readyAt >= graceMs;
    }).map((h) => h.host);
  }

  #host(host: string, at: number): HostRow {
    let h = this.hosts.get(host);
    if (!h) {
      h = { host, state: "up", lastHeard: at, info: {}, procs: [], history: [] };
      this.hosts.set(host, h);
    }
    return h;
  }

  #proc(host: string, id: string, at: number): ProcRow {
    const key = `${host}/${id}`;
    let p = this.procs.get(key);
    if (!p) {
      p = { host, id, lines: [], changed: at };
      this.procs.set(key, p);
    }
    return p;
  }

  #output(host: string, id: string, stream: StreamName, data: Uint8Array): void {
    const key = `${host}/${id}/${stream}`;
    let decoder = this.#decoders.get(key);
    if (!decoder) this.#decoders.set(key, decoder = new TextDecoder());
    const text = (this.#partial.get(key) ?? "") + decoder.decode(data, { stream: true });
    const parts = text.split(/\r?\n/);
    const rest = parts.pop()!;
    this.#partial.set(key, rest.length > MAX_LINE ? rest.slice(0, MAX_LINE) : rest);
    const row = this.#proc(host, id, 0);
    for (const line of parts) this.#line(row, stream, line);
  }

  #line(row: ProcRow, stream: StreamName, text: string): void {
    row.lines.push({ stream, text: text.length > MAX_LINE ? text.slice(0, MAX_LINE) + "…" : text });
    if (row.lines.length > LAST_LINES) row.lines.splice(0, row.lines.length - LAST_LINES);
  }

  /** At exit: a last line without its newline is a line all the same. */
  #flush(host: string, id: string): void {
    const row = this.procs.get(`${host}/${id}`)!;
    for (const stream of ["stdout", "stderr"] as const) {
      const key = `${host}/${id}/${stream}`;
      const rest = this.#partial.get(key);
      if (rest) this.#line(row, stream, rest);
      this.#partial.delete(key);
      this.#decoders.delete(key);
    }
  }

  /** Keeps the `KEEP_EXITED` newest exited processes of `host`. */
  #trim(host: string): void {
    const exited = this.procsOf(host).filter((p) => p.info?.state === "exited");
    // Supervised processes not running are kept: there are only as many as the programs have.
    for (const p of exited.slice(KEEP_EXITED)) this.procs.delete(`${p.host}/${p.id}`);
  }
}

/** Running, or not known to have ended: a `run` process not exited, a supervised one in a sample. */
export function isRunning(p: ProcRow): boolean {
  return p.program ? p.program.state !== null : p.info?.state !== "exited";
}
