/**
 * Machine and process telemetry from `/proc`, Linux only.
 *
 * A `Sampler` keeps the previous counters, so each `sample()` answers the
 * CPU shares and byte rates since the one before. It holds the machine-wide
 * `/proc` files open between samples (call `close()` when telemetry stops)
 * and never starts a process or a timer of its own: with no caller, it costs
 * nothing.
 */
import type {
  DiskDevice,
  MachineSample,
  NetInterface,
  ProcSample,
  ProcsSample,
} from "../../protocol/telemetry_messages.ts";
import type { ProgramState } from "../../protocol/program_messages.ts";
import {
  type ByteCounters,
  CPU_FIELDS,
  CpuCounters,
  cpuShares,
  DiskCounters,
  LoadCounters,
  MemoryCounters,
  NetCounters,
  round2,
  UptimeCounter,
} from "./machine_counters.ts";
import { CLOCK_TICKS, pageSize, ProcessReader, type TreeCounters } from "./process_counters.ts";
import { requireLinux } from "./proc_file.ts";

/**
 * A managed process to sample: its id in the agent's table (or a supervised
 * process's name, with its program and state) and its pid (= its group id).
 */
export interface ManagedPid {
  id: string;
  pid: number;
  program?: string;
  state?: ProgramState;
}

interface ProcState extends TreeCounters {
  pid: number;
  /** performance.now() of the reading. */
  t: number;
  seen: number;
}

export class Sampler {
  private readonly cpu = new CpuCounters();
  private prevTicks = new Float64Array(CPU_FIELDS * 2);
  private readonly mem = new MemoryCounters();
  private readonly load = new LoadCounters();
  private readonly uptime = new UptimeCounter();
  private readonly net = new NetCounters();
  private readonly disks = new DiskCounters();
  private prevAt = -1;

  private readonly reader = new ProcessReader();
  private readonly procs = new Map<string, ProcState>();
  private readonly scratch: TreeCounters = {
    start: 0,
    tasks: 0,
    cpuTicks: 0,
    rssPages: 0,
    threads: 0,
    read: 0,
    written: 0,
  };
  private prevProcsAt = -1;
  private procsGeneration = 0;
  private readonly page = pageSize();

  constructor() {
    requireLinux("telemetry");
  }

  /** One machine sample; rates and CPU shares are null in the first one. */
  sample(): MachineSample {
    const t = performance.now();
    const at = Date.now();
    const first = this.prevAt < 0;
    const dt = first ? 0 : t - this.prevAt;
    this.prevAt = t;

    // A file that cannot be read leaves its figures at their last values (zeros at first):
    // telemetry degrades, the agent goes on.
    this.cpu.read();
    this.mem.read();
    this.load.read();
    this.uptime.read();
    this.net.read();
    this.disks.read();

    const ticks = this.cpu.ticks;
    const all = first ? null : cpuShares(this.prevTicks, ticks, 0);
    const cores = this.cpu.cores.map((slot) =>
      first ? null : cpuShares(this.prevTicks, ticks, slot)?.busy ?? null
    );
    if (this.prevTicks.length !== ticks.length) this.prevTicks = new Float64Array(ticks.length);
    this.prevTicks.set(ticks);

    const mem = this.mem;
    return {
      at,
      interval: Math.round(dt),
      cpu: {
        total: all?.busy ?? null,
        user: all?.user ?? null,
        system: all?.system ?? null,
        iowait: all?.iowait ?? null,
        steal: all?.steal ?? null,
        cores,
      },
      load: this.load.load,
      memory: {
        total: mem.total,
        available: mem.available,
        used: mem.total - mem.available,
        free: mem.free,
        swapTotal: mem.swapTotal,
        swapFree: mem.swapFree,
      },
      net: this.net.order.map((c): NetInterface => {
        const [rxRate, txRate] = rates(c, dt);
        return { name: c.name, rx: c.a, tx: c.b, rxRate, txRate };
      }),
      disks: this.disks.order.map((c): DiskDevice => {
        const [readRate, writeRate] = rates(c, dt);
        return { name: c.name, read: c.a, written: c.b, readRate, writeRate };
      }),
      tasks: { running: this.load.running, total: this.load.total },
      uptime: this.uptime.seconds,
    };
  }

  /**
   * One sample of each managed process (with its descendants). Processes
   * that are gone are left out; CPU and rates are null for a process seen
   * for the first time (or whose pid now belongs to another process).
   */
  sampleProcs(procs: Iterable<ManagedPid>): ProcsSample {
    const t = performance.now();
    const at = Date.now();
    const interval = this.prevProcsAt < 0 ? 0 : Math.round(t - this.prevProcsAt);
    this.prevProcsAt = t;
    const gen = ++this.procsGeneration;
    const out: ProcSample[] = [];
    const cur = this.scratch;
    for (const { id, pid, program, state } of procs) {
      if (!this.reader.readTree(pid, cur)) continue;
      // A `run` id and a program's process name may be the same word: kept apart.
      const key = program === undefined ? id : `${id}\0program`;
      let prev = this.procs.get(key);
      const same = prev !== undefined && prev.pid === pid && prev.start === cur.start;
      const dt = same ? (t - prev!.t) / 1000 : 0;
      const io = !Number.isNaN(cur.read);
      const ioBefore = same && !Number.isNaN(prev!.read);
      const sample: ProcSample = {
        id,
        pid,
        tasks: cur.tasks,
        // A descendant reaped outside the tree takes its CPU time along: never below 0.
        cpu: same && dt > 0
          ? round2(Math.max(0, (cur.cpuTicks - prev!.cpuTicks) / CLOCK_TICKS / dt) * 100)
          : null,
        rss: cur.rssPages * this.page,
        threads: cur.threads,
        read: io ? cur.read : null,
        written: io ? cur.written : null,
        readRate: io && ioBefore && dt > 0 ? rate(cur.read - prev!.read, dt) : null,
        writeRate: io && ioBefore && dt > 0 ? rate(cur.written - prev!.written, dt) : null,
      };
      if (program !== undefined) sample.program = program;
      if (state !== undefined) sample.state = state;
      out.push(sample);
      if (prev === undefined) {
        prev = { ...cur, pid, t, seen: gen };
        this.procs.set(key, prev);
      } else {
        Object.assign(prev, cur);
        prev.pid = pid;
        prev.t = t;
        prev.seen = gen;
      }
    }
    this.reader.endSample();
    for (const [id, s] of this.procs) if (s.seen !== gen) this.procs.delete(id);
    return { at, interval, procs: out };
  }

  /** Closes the `/proc` files held open between samples; a later sample reopens them. */
  close(): void {
    this.cpu.close();
    this.mem.close();
    this.load.close();
    this.uptime.close();
    this.net.close();
    this.disks.close();
    this.reader.close();
  }
}

/** Bytes per second of `c`'s two counters since the reading before. */
function rates(c: ByteCounters, dtMs: number): [number | null, number | null] {
  if (dtMs <= 0 || Number.isNaN(c.prevA)) return [null, null];
  return [rate(c.a - c.prevA, dtMs / 1000), rate(c.b - c.prevB, dtMs / 1000)];
}

/** Bytes per second, or null when the counter went backwards (device reset). */
function rate(delta: number, seconds: number): number | null {
  return delta < 0 ? null : Math.round(delta / seconds);
}
