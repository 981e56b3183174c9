/**
 * Counters of one managed process and its live descendants, from
 * `/proc/<pid>/stat`, `/proc/<pid>/io` and `/proc/<pid>/task/<pid>/children`.
 *
 * Descendants are found by walking `children` files (CONFIG_PROC_CHILDREN,
 * on in every mainstream kernel) from the managed pid, which costs one read
 * per process of the tree instead of a scan of all of `/proc`. Two kinds of
 * descendants escape the walk: children started by a thread other than the
 * main one, and processes reparented away from the tree (double-forked
 * daemons). The CPU time of descendants that exited and were reaped inside
 * the tree is still counted, through their reaper's `cutime`/`cstime`.
 */
import { bytes, ProcBuffer, ProcFile, Scanner } from "./proc_file.ts";

/**
 * USER_HZ: the unit of `/proc` CPU times. The kernel exports 100 on every
 * architecture Linux supports, whatever its internal HZ, as part of its ABI.
 */
export const CLOCK_TICKS = 100;

/** A larger tree (a fork bomb, a build farm) is counted up to this many processes. */
export const MAX_TREE = 1000;

/**
 * Processes whose three files stay open between samples (a seek and a read
 * cost half of an open, read and close); beyond, files are opened per read.
 * An open `/proc/<pid>` file keeps referring to its process: once that exits,
 * reads fail instead of reaching another process that reused the pid.
 */
export const MAX_OPEN_PROCS = 128;

interface PidFiles {
  stat: ProcFile;
  io: ProcFile;
  children: ProcFile;
  /** The walk that last visited this pid. */
  seen: number;
}

export interface TreeCounters {
  /** `starttime` of the root in ticks since boot: tells a reused pid apart. */
  start: number;
  tasks: number;
  /** utime + stime + cutime + cstime over the tree, ticks. */
  cpuTicks: number;
  rssPages: number;
  threads: number;
  /** Storage bytes; NaN when the root's io file is unreadable. */
  read: number;
  written: number;
}

const READ_BYTES = bytes("read_bytes:");
const WRITE_BYTES = bytes("write_bytes:");
const CLOSE_PAREN = 0x29;

export class ProcessReader {
  private readonly oneShot = new ProcBuffer(1024);
  private readonly scan = new Scanner();
  private readonly stack: number[] = [];
  private readonly visited = new Set<number>();
  private readonly open = new Map<number, PidFiles>();
  private walk = 0;

  /** Reads the tree under `pid` into `out`; false when `pid` itself is gone. */
  readTree(pid: number, out: TreeCounters): boolean {
    out.tasks = 0;
    out.cpuTicks = 0;
    out.rssPages = 0;
    out.threads = 0;
    out.read = 0;
    out.written = 0;
    const stack = this.stack;
    const visited = this.visited;
    stack.length = 0;
    visited.clear();
    stack.push(pid);
    while (stack.length > 0 && out.tasks < MAX_TREE) {
      const p = stack.pop()!;
      if (visited.has(p)) continue;
      visited.add(p);
      const files = this.filesOf(p);
      if (!this.readStat(p, files, out, p === pid)) {
        if (p === pid) return false;
        continue; // exited during the walk
      }
      out.tasks++;
      if (!this.readIo(p, files, out) && p === pid) out.read = out.written = NaN;
      this.readChildren(p, files, stack);
    }
    return true;
  }

  /** Call after the trees of one sample were read: closes the files of processes not seen. */
  endSample(): void {
    for (const [pid, f] of this.open) {
      if (f.seen === this.walk) continue;
      f.stat.close();
      f.io.close();
      f.children.close();
      this.open.delete(pid);
    }
    this.walk++;
  }

  close(): void {
    this.walk++;
    this.endSample();
  }

  private filesOf(pid: number): PidFiles | null {
    let f = this.open.get(pid);
    if (f === undefined) {
      if (this.open.size >= MAX_OPEN_PROCS) return null;
      f = {
        stat: new ProcFile(`/proc/${pid}/stat`, 512),
        io: new ProcFile(`/proc/${pid}/io`, 256),
        children: new ProcFile(`/proc/${pid}/task/${pid}/children`, 256),
        seen: this.walk,
      };
      this.open.set(pid, f);
    }
    f.seen = this.walk;
    return f;
  }

  /** Reads one of a process's files, kept open or not. */
  private load(file: ProcFile | undefined, path: () => string): Scanner | null {
    if (file !== undefined) return file.read() ? this.scan.reset(file) : null;
    return this.oneShot.read(path()) ? this.scan.reset(this.oneShot) : null;
  }

  private readStat(pid: number, f: PidFiles | null, out: TreeCounters, root: boolean): boolean {
    const s = this.load(f?.stat, () => `/proc/${pid}/stat`);
    if (s === null) return false;
    // The command name is in parentheses and may contain anything: fields start after the last ')'.
    if (!s.afterLast(CLOSE_PAREN)) return false;
    s.skipFields(11); // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
    const utime = s.uint(), stime = s.uint(), cutime = s.uint(), cstime = s.uint();
    s.skipFields(2); // priority nice
    const threads = s.uint();
    s.skipFields(1); // itrealvalue
    const start = s.uint();
    s.skipFields(1); // vsize
    const rss = s.uint();
    if (Number.isNaN(rss)) return false;
    out.cpuTicks += utime + stime + cutime + cstime;
    out.threads += threads;
    out.rssPages += rss;
    if (root) out.start = start;
    return true;
  }

  private readIo(pid: number, f: PidFiles | null, out: TreeCounters): boolean {
    // Readable for processes of the agent's own user (ptrace read access) or as root.
    const s = this.load(f?.io, () => `/proc/${pid}/io`);
    if (s === null) return false;
    let found = 0;
    while (!s.atEnd() && found < 2) {
      if (s.startsWith(READ_BYTES)) {
        out.read += s.uint();
        found++;
      } else if (s.startsWith(WRITE_BYTES)) {
        out.written += s.uint();
        found++;
      }
      s.nextLine();
    }
    return found === 2;
  }

  private readChildren(pid: number, f: PidFiles | null, stack: number[]): void {
    const s = this.load(f?.children, () => `/proc/${pid}/task/${pid}/children`);
    if (s === null) return;
    for (;;) {
      const child = s.uint();
      if (Number.isNaN(child)) break;
      stack.push(child);
    }
  }
}

/**
 * The kernel's page size, for `rss` in pages: the first mapping's
 * `KernelPageSize` in `/proc/self/smaps` (only its first block is read).
 * 4 KiB when that cannot be read.
 */
export function pageSize(): number {
  try {
    const file = Deno.openSync("/proc/self/smaps", { read: true });
    try {
      const buf = new Uint8Array(4096);
      const n = file.readSync(buf) ?? 0;
      const m = /KernelPageSize:\s+(\d+) kB/.exec(new TextDecoder().decode(buf.subarray(0, n)));
      if (m) return Number(m[1]) * 1024;
    } finally {
      file.close();
    }
  } catch {
    // fall through
  }
  return 4096;
}
