/**
 * Telemetry bodies: what an agent publishes on `P.tel.<host>` (the machine)
 * and `P.tel.<host>.procs` (its managed processes) at its telemetry interval.
 *
 * Conventions: byte counts are cumulative since boot (or since the process
 * started) and rates are bytes per second over the last interval; CPU figures
 * are percentages. A figure that needs two samples (every rate and CPU
 * percentage) is null in the first sample after telemetry starts or after a
 * counter went backwards (a device or interface that reappeared).
 *
 * The parsers check the shape of a body received from an agent (a controller
 * may talk to agents of other versions); they throw EBADMSG naming the field.
 */
import { quoteValue, TuttiError } from "./errors.ts";
import { received } from "./fields.ts";
import { PROGRAM_STATES, type ProgramState } from "./program_messages.ts";

// ---------------------------------------------------------------- machine

export interface CpuUsage {
  /** Busy share of the whole machine, 0-100 (everything but idle and iowait). */
  total: number | null;
  /** Shares of the whole machine, 0-100: user + nice, system + irq + softirq, iowait, steal. */
  user: number | null;
  system: number | null;
  iowait: number | null;
  steal: number | null;
  /** Busy share of each core, 0-100, in `/proc/stat` order (cpu0, cpu1, ...). */
  cores: (number | null)[];
}

export interface MemoryUsage {
  /** Bytes, from `/proc/meminfo`. */
  total: number;
  available: number;
  /** `total - available` (what `free` calls used). */
  used: number;
  free: number;
  swapTotal: number;
  swapFree: number;
}

export interface NetInterface {
  name: string;
  /** Bytes received / sent since boot. */
  rx: number;
  tx: number;
  /** Bytes per second over the last interval. */
  rxRate: number | null;
  txRate: number | null;
}

export interface DiskDevice {
  /** A whole disk (`sda`, `nvme0n1`, `vda`): partitions and virtual devices are left out. */
  name: string;
  /** Bytes read / written since boot (sectors × 512). */
  read: number;
  written: number;
  readRate: number | null;
  writeRate: number | null;
}

export interface MachineSample {
  /** Sample time, ms since the epoch. */
  at: number;
  /** ms since the previous sample (0 for the first). */
  interval: number;
  cpu: CpuUsage;
  /** Load averages over 1, 5 and 15 minutes. */
  load: [number, number, number];
  memory: MemoryUsage;
  net: NetInterface[];
  disks: DiskDevice[];
  /** Kernel scheduling entities (processes and threads): runnable now, and all. */
  tasks: { running: number; total: number };
  /** Seconds since boot. */
  uptime: number;
}

/** Body of `P.tel.<host>`. */
export type MachineTelemetry = { v: number; host: string } & MachineSample;

// ---------------------------------------------------------------- processes

/**
 * One managed process with its descendants: the process itself and every
 * live process reachable from it through `/proc/<pid>/task/<pid>/children`,
 * plus the CPU time of descendants they have already reaped.
 */
export interface ProcSample {
  /** The process id in the agent's table, or a supervised process's name (`web:0`). */
  id: string;
  /** A supervised process: its program's name (absent for a `run` process). */
  program?: string;
  /** A supervised process: its state (STARTING, RUNNING or STOPPING: the ones with a pid). */
  state?: ProgramState;
  pid: number;
  /** Processes counted (1 when it has no live descendant). */
  tasks: number;
  /** CPU use in percent of one core (200 = two cores busy); null in the first sample. */
  cpu: number | null;
  /** Resident memory, bytes, summed over the processes (shared pages count once per process). */
  rss: number;
  threads: number;
  /** Bytes read from / written to storage (`/proc/<pid>/io`); null when unreadable. */
  read: number | null;
  written: number | null;
  readRate: number | null;
  writeRate: number | null;
}

export interface ProcsSample {
  at: number;
  interval: number;
  /** Running managed and supervised processes; an exited one is simply absent. */
  procs: ProcSample[];
}

/** Body of `P.tel.<host>.procs`. */
export type ProcsTelemetry = { v: number; host: string } & ProcsSample;

// ---------------------------------------------------------------- parsers

type Map = Record<string, unknown>;

function fail(field: string, want: string, got: unknown): never {
  // quoteValue: a 64-bit integer past 2^53 arrives as a BigInt, which JSON.stringify refuses.
  const shown = got === undefined ? "missing" : `got ${quoteValue(got)}`;
  throw new TuttiError("EINVAL", `field "${field}": expected ${want}, ${shown}`);
}

function num(m: Map, field: string, path: string): number {
  const x = m[field];
  if (typeof x !== "number" || !Number.isFinite(x)) fail(path + field, "a number", x);
  return x;
}

function numOrNull(m: Map, field: string, path: string): number | null {
  return m[field] === null ? null : num(m, field, path);
}

function str(m: Map, field: string, path: string): string {
  const x = m[field];
  if (typeof x !== "string") fail(path + field, "a string", x);
  return x;
}

function map(x: unknown, path: string): Map {
  if (x === null || typeof x !== "object" || Array.isArray(x) || x instanceof Uint8Array) {
    fail(path, "a map", x);
  }
  return x as Map;
}

function list(x: unknown, path: string): unknown[] {
  if (!Array.isArray(x)) fail(path, "an array", x);
  return x;
}

/** Checks a `P.tel.<host>` body received from an agent (EBADMSG naming the field). */
export function parseMachineTelemetry(m: Map): MachineTelemetry {
  return received("machine telemetry", () => machineOf(m));
}

function machineOf(m: Map): MachineTelemetry {
  const cpu = map(m.cpu, "cpu");
  const mem = map(m.memory, "memory");
  const tasks = map(m.tasks, "tasks");
  const load = list(m.load, "load");
  if (load.length !== 3 || !load.every((x) => typeof x === "number")) {
    fail("load", "three numbers", load);
  }
  return {
    v: num(m, "v", ""),
    host: str(m, "host", ""),
    at: num(m, "at", ""),
    interval: num(m, "interval", ""),
    cpu: {
      total: numOrNull(cpu, "total", "cpu."),
      user: numOrNull(cpu, "user", "cpu."),
      system: numOrNull(cpu, "system", "cpu."),
      iowait: numOrNull(cpu, "iowait", "cpu."),
      steal: numOrNull(cpu, "steal", "cpu."),
      cores: list(cpu.cores, "cpu.cores").map((c, i) => {
        if (c !== null && typeof c !== "number") fail(`cpu.cores[${i}]`, "a number or null", c);
        return c as number | null;
      }),
    },
    load: load as [number, number, number],
    memory: {
      total: num(mem, "total", "memory."),
      available: num(mem, "available", "memory."),
      used: num(mem, "used", "memory."),
      free: num(mem, "free", "memory."),
      swapTotal: num(mem, "swapTotal", "memory."),
      swapFree: num(mem, "swapFree", "memory."),
    },
    net: list(m.net, "net").map((x, i) => {
      const n = map(x, `net[${i}]`);
      const p = `net[${i}].`;
      return {
        name: str(n, "name", p),
        rx: num(n, "rx", p),
        tx: num(n, "tx", p),
        rxRate: numOrNull(n, "rxRate", p),
        txRate: numOrNull(n, "txRate", p),
      };
    }),
    disks: list(m.disks, "disks").map((x, i) => {
      const d = map(x, `disks[${i}]`);
      const p = `disks[${i}].`;
      return {
        name: str(d, "name", p),
        read: num(d, "read", p),
        written: num(d, "written", p),
        readRate: numOrNull(d, "readRate", p),
        writeRate: numOrNull(d, "writeRate", p),
      };
    }),
    tasks: { running: num(tasks, "running", "tasks."), total: num(tasks, "total", "tasks.") },
    uptime: num(m, "uptime", ""),
  };
}

/** Checks a `P.tel.<host>.procs` body received from an agent (EBADMSG naming the field). */
export function parseProcsTelemetry(m: Map): ProcsTelemetry {
  return received("procs telemetry", () => procsOf(m));
}

function procsOf(m: Map): ProcsTelemetry {
  return {
    v: num(m, "v", ""),
    host: str(m, "host", ""),
    at: num(m, "at", ""),
    interval: num(m, "interval", ""),
    procs: list(m.procs, "procs").map((x, i) => {
      const s = map(x, `procs[${i}]`);
      const p = `procs[${i}].`;
      const program = s.program === undefined ? undefined : str(s, "program", p);
      const state = s.state;
      if (state !== undefined && !PROGRAM_STATES.includes(state as ProgramState)) {
        fail(p + "state", "a program state", state);
      }
      return {
        id: str(s, "id", p),
        ...(program !== undefined && { program }),
        ...(state !== undefined && { state: state as ProgramState }),
        pid: num(s, "pid", p),
        tasks: num(s, "tasks", p),
        cpu: numOrNull(s, "cpu", p),
        rss: num(s, "rss", p),
        threads: num(s, "threads", p),
        read: numOrNull(s, "read", p),
        written: numOrNull(s, "written", p),
        readRate: numOrNull(s, "readRate", p),
        writeRate: numOrNull(s, "writeRate", p),
      };
    }),
  };
}
