/** The machine a run was measured on, stored with its figures. */
import { capture } from "./child.ts";

export interface MachineInfo {
  date: string;
  cores: number;
  model: string;
  memoryGiB: number;
  kernel: string;
  deno: string;
  v8: string;
  natsServer: string;
  openssh: string;
  /** The commit measured, `+changes` when the work tree differs from it. */
  tutti: string;
  /** 1, 5 and 15 minute load averages when the run began and ended: how quiet the machine was. */
  loadAverage: string;
  loadAverageEnd?: string;
  /** The load average as each section began (other work on the machine shows here). */
  loadAverageBySection?: Record<string, string>;
}

export async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ").slice(0, 3).join(" ");
}

export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const nats = await capture("nats-server", ["--version"]);
  const ssh = await capture("ssh", ["-V"]); // prints its version on stderr
  return {
    date: new Date().toISOString(),
    cores: navigator.hardwareConcurrency,
    model: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) / (1024 * 1024),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    natsServer: nats.stdout.trim().replace(/^nats-server:\s*/, "") || "unknown",
    openssh: (ssh.stderr || ssh.stdout).trim().split(",")[0] || "unknown",
    tutti: await commit(),
    loadAverage: await loadAverage(),
  };
}

async function commit(): Promise<string> {
  const root = new URL("../", import.meta.url).pathname;
  const head = await capture("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
  if (!head.ok) return "unknown";
  const status = await capture("git", ["-C", root, "status", "--porcelain"]);
  return head.stdout.trim() + (status.stdout.trim() ? "+changes" : "");
}
