/** What /proc says about a process: CPU time (all its threads) and resident memory. */
import { capture } from "./child.ts";

/** Clock ticks per second for /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
export async function clockTicks(): Promise<number> {
  const r = await capture("getconf", ["CLK_TCK"]);
  const n = Number(r.stdout.trim());
  return r.ok && n > 0 ? n : 100;
}

/** utime + stime of the whole process, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(rest[11]) + Number(rest[12]);
}

/** VmRSS in bytes. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** VmRSS in MiB, NaN once the process is gone (a failed sample, never a small one). */
export function rssMiB(pid: number): number {
  try {
    return rssBytes(pid) / (1024 * 1024);
  } catch {
    return NaN;
  }
}

/** Pids whose parent is `pid` (zombies included: they still need their parent to reap them). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) {
        out.push(Number(e.name));
      }
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/**
 * Pids of the processes whose environment holds `entry` (`NAME=value`):
 * how the benchmark finds every process it had supervised, whoever spawned
 * it, to be sure none outlives it. Processes of other users cannot be read
 * and are not ours.
 */
export function pidsWithEnv(entry: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = Deno.readTextFileSync(`/proc/${e.name}/environ`);
      if (env.split("\0").includes(entry)) out.push(Number(e.name));
    } catch { /* gone meanwhile, or not ours */ }
  }
  return out;
}

/** The command line of `pid`, its arguments apart; null once it is gone. */
export function cmdline(pid: number): string[] | null {
  try {
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    if (argv.at(-1) === "") argv.pop();
    return argv;
  } catch {
    return null;
  }
}
