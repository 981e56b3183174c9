/**
 * Readers of the machine-wide `/proc` files. Each reader keeps its file open
 * and parses it into counters it reuses between samples; the `Sampler` turns
 * two readings into percentages and rates.
 */
import { bytes, ProcFile, Scanner } from "./proc_file.ts";

/** The eight `/proc/stat` CPU columns tutti uses (guest time is already in user). */
export const CPU_FIELDS = 8;
const USER = 0, NICE = 1, SYSTEM = 2, IDLE = 3, IOWAIT = 4, IRQ = 5, SOFTIRQ = 6, STEAL = 7;

const CPU = bytes("cpu");

/**
 * `/proc/stat`: the `cpu` line (slot 0) and each `cpuN` line (slot N + 1),
 * in clock ticks. `cores` lists the slots present in the last reading, in
 * file order (offline CPUs have no line).
 */
export class CpuCounters {
  ticks = new Float64Array(CPU_FIELDS * 2);
  cores: number[] = [];
  private readonly file = new ProcFile("/proc/stat", 8192);
  private readonly scan = new Scanner();

  read(): boolean {
    if (!this.file.read()) return false;
    const s = this.scan.reset(this.file);
    this.cores.length = 0;
    while (!s.atEnd() && s.startsWith(CPU)) {
      // `cpu  4705 ...` is the total, `cpu0 ...` a core.
      const c = s.peek();
      const slot = c >= 0x30 && c <= 0x39 ? s.uint() + 1 : 0;
      if (slot > 0) this.cores.push(slot);
      if ((slot + 1) * CPU_FIELDS > this.ticks.length) {
        const bigger = new Float64Array(Math.max(this.ticks.length * 2, (slot + 1) * CPU_FIELDS));
        bigger.set(this.ticks);
        this.ticks = bigger;
      }
      const base = slot * CPU_FIELDS;
      for (let i = 0; i < CPU_FIELDS; i++) {
        const v = s.uint();
        this.ticks[base + i] = Number.isNaN(v) ? 0 : v;
      }
      s.nextLine();
    }
    // The cpu lines come first; nothing else in /proc/stat is needed.
    return true;
  }

  close(): void {
    this.file.close();
  }
}

/** Shares (0-100) of one CPU slot between two readings, or null when no tick elapsed. */
export function cpuShares(
  prev: Float64Array,
  cur: Float64Array,
  slot: number,
): { busy: number; user: number; system: number; iowait: number; steal: number } | null {
  const b = slot * CPU_FIELDS;
  if (b + CPU_FIELDS > prev.length || b + CPU_FIELDS > cur.length) return null;
  const d = (i: number) => cur[b + i] - prev[b + i];
  let total = 0;
  for (let i = 0; i < CPU_FIELDS; i++) {
    const x = d(i);
    if (x < 0) return null; // a CPU went offline and came back: counters restarted
    total += x;
  }
  if (total <= 0) return null;
  const pct = (x: number) => round2((100 * x) / total);
  return {
    busy: pct(total - d(IDLE) - d(IOWAIT)),
    user: pct(d(USER) + d(NICE)),
    system: pct(d(SYSTEM) + d(IRQ) + d(SOFTIRQ)),
    iowait: pct(d(IOWAIT)),
    steal: pct(d(STEAL)),
  };
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The `/proc/meminfo` lines read, in the order of `MemoryCounters.kB`. */
const MEMINFO_KEYS = ["MemTotal:", "MemFree:", "MemAvailable:", "SwapTotal:", "SwapFree:"].map(
  bytes,
);

/** `/proc/meminfo`, in bytes. */
export class MemoryCounters {
  /** MemTotal, MemFree, MemAvailable, SwapTotal, SwapFree, in kB as the file has them. */
  readonly kB = new Float64Array(MEMINFO_KEYS.length);
  private readonly file = new ProcFile("/proc/meminfo", 8192);
  private readonly scan = new Scanner();

  get total(): number {
    return this.kB[0] * 1024;
  }
  get free(): number {
    return this.kB[1] * 1024;
  }
  get available(): number {
    return this.kB[2] * 1024;
  }
  get swapTotal(): number {
    return this.kB[3] * 1024;
  }
  get swapFree(): number {
    return this.kB[4] * 1024;
  }

  read(): boolean {
    if (!this.file.read()) return false;
    const s = this.scan.reset(this.file);
    let found = 0;
    // SwapFree is about line 15 of 50: stop once all five are seen.
    while (!s.atEnd() && found < MEMINFO_KEYS.length) {
      for (let k = 0; k < MEMINFO_KEYS.length; k++) {
        if (s.startsWith(MEMINFO_KEYS[k])) {
          this.kB[k] = s.uint();
          found++;
          break;
        }
      }
      s.nextLine();
    }
    return found === MEMINFO_KEYS.length && !this.kB.some(Number.isNaN);
  }

  close(): void {
    this.file.close();
  }
}

/** `/proc/loadavg`: `0.00 0.06 0.02 1/92 5817`. */
export class LoadCounters {
  load: [number, number, number] = [0, 0, 0];
  running = 0;
  total = 0;
  private readonly file = new ProcFile("/proc/loadavg", 256);
  private readonly scan = new Scanner();

  read(): boolean {
    if (!this.file.read()) return false;
    const s = this.scan.reset(this.file);
    this.load = [s.decimal(), s.decimal(), s.decimal()];
    this.running = s.uint();
    s.pos++; // the slash
    this.total = s.uint();
    return !Number.isNaN(this.total);
  }

  close(): void {
    this.file.close();
  }
}

/** `/proc/uptime`: seconds since boot. */
export class UptimeCounter {
  seconds = 0;
  private readonly file = new ProcFile("/proc/uptime", 256);
  private readonly scan = new Scanner();

  read(): boolean {
    if (!this.file.read()) return false;
    this.seconds = this.scan.reset(this.file).decimal();
    return !Number.isNaN(this.seconds);
  }

  close(): void {
    this.file.close();
  }
}

/** A named pair of byte counters (an interface's rx/tx, a disk's read/written) and their last values. */
export interface ByteCounters {
  name: string;
  a: number;
  b: number;
  /** The values of the reading before; NaN when the name is new. */
  prevA: number;
  prevB: number;
  /** The reading that last saw this name, to drop names that disappeared. */
  seen: number;
}

/** Keeps one `ByteCounters` per name, reused from reading to reading. */
class CounterSet {
  readonly byName = new Map<string, ByteCounters>();
  /** Names of the last reading, in file order. */
  readonly order: ByteCounters[] = [];
  private generation = 0;

  protected begin(): void {
    this.generation++;
    this.order.length = 0;
  }

  protected put(name: string, a: number, b: number): void {
    let c = this.byName.get(name);
    if (c === undefined) {
      c = { name, a, b, prevA: NaN, prevB: NaN, seen: 0 };
      this.byName.set(name, c);
    } else {
      c.prevA = c.a;
      c.prevB = c.b;
      c.a = a;
      c.b = b;
    }
    c.seen = this.generation;
    this.order.push(c);
  }

  protected end(): void {
    if (this.byName.size === this.order.length) return;
    for (const [name, c] of this.byName) if (c.seen !== this.generation) this.byName.delete(name);
  }
}

/** `/proc/net/dev`: bytes received (`a`) and sent (`b`) per interface. */
export class NetCounters extends CounterSet {
  private readonly file = new ProcFile("/proc/net/dev", 4096);
  private readonly scan = new Scanner();

  read(): boolean {
    if (!this.file.read()) return false;
    const s = this.scan.reset(this.file);
    s.nextLine(); // two header lines
    s.nextLine();
    this.begin();
    while (!s.atEnd()) {
      // `  eth0: 58075523 1866 0 0 0 0 0 0 106678 ...`; a long name may touch the colon.
      const name = s.word(0x3a);
      s.pos++;
      const rx = s.uint();
      s.skipFields(7);
      const tx = s.uint();
      if (name !== "" && !Number.isNaN(tx)) this.put(name, rx, tx);
      s.nextLine();
    }
    this.end();
    return true;
  }

  close(): void {
    this.file.close();
  }
}

/**
 * `/proc/diskstats`: bytes read (`a`) and written (`b`) per whole disk.
 * Sectors there are always 512 bytes, whatever the device's sector size.
 */
export class DiskCounters extends CounterSet {
  private readonly file = new ProcFile("/proc/diskstats", 4096);
  private readonly scan = new Scanner();
  /** name → counted or not; decided once per name. */
  private readonly kind = new Map<string, boolean>();

  constructor(private readonly isWholeDisk: (name: string) => boolean = wholeDisk) {
    super();
  }

  read(): boolean {
    if (!this.file.read()) return false;
    const s = this.scan.reset(this.file);
    this.begin();
    while (!s.atEnd()) {
      s.uint(); // major
      s.uint(); // minor
      const name = s.word();
      let counted = this.kind.get(name);
      if (counted === undefined) {
        counted = this.isWholeDisk(name);
        this.kind.set(name, counted);
      }
      if (counted) {
        s.skipFields(2); // reads completed, merged
        const read = s.uint();
        s.skipFields(3); // ms reading, writes completed, merged
        const written = s.uint();
        if (!Number.isNaN(written)) this.put(name, read * 512, written * 512);
      }
      s.nextLine();
    }
    this.end();
    return true;
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Whole physical (or paravirtual) disks only: a name under `/sys/block` with
 * a `device` link. That leaves out partitions (not under /sys/block), and
 * loop, ram, zram, device-mapper and md devices (no device), whose I/O is
 * either not disk I/O or already counted on the disks beneath them. Without
 * /sys, a name-based guess.
 */
export function wholeDisk(name: string): boolean {
  try {
    Deno.statSync(`/sys/block/${name}/device`);
    return true;
  } catch {
    try {
      Deno.statSync("/sys/block");
      return false;
    } catch {
      return !/^(loop|ram|zram|dm-|md|sr|fd)/.test(name) &&
        !/^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$|^(nvme\d+n\d+|mmcblk\d+)p\d+$/.test(name);
    }
  }
}
