/**
 * Who this agent is: what `ping` answers and presence messages carry. The
 * machine facts are read once at start; only the running count changes.
 */
import { TUTTI_VERSION } from "../protocol/codec.ts";
import type { PingReply } from "../protocol/messages.ts";

export class Identity {
  readonly started = Date.now();
  readonly pid = Deno.pid;
  readonly os = Deno.build.os;
  readonly arch = Deno.build.arch;
  readonly cores = navigator.hardwareConcurrency;
  readonly memory = totalMemory();
  readonly boot = bootTime();
  readonly kernel = kernelRelease();
  readonly cpu = cpuModel();

  constructor(
    readonly name: string,
    readonly labels: Record<string, string>,
    readonly heartbeatMs: number,
    readonly telemetryMs = 0,
  ) {}

  ping(running: number): PingReply {
    return {
      version: TUTTI_VERSION,
      labels: this.labels,
      started: this.started,
      pid: this.pid,
      running,
      heartbeat: this.heartbeatMs,
      telemetry: this.telemetryMs,
      os: this.os,
      arch: this.arch,
      cores: this.cores,
      memory: this.memory,
      boot: this.boot,
      ...(this.kernel ? { kernel: this.kernel } : {}),
      ...(this.cpu ? { cpu: this.cpu } : {}),
    };
  }
}

function totalMemory(): number {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return 0;
  }
}

/** Boot time in ms since the epoch: /proc/stat's btime is exact, uptime is the fallback. */
function bootTime(): number {
  try {
    const m = /^btime (\d+)$/m.exec(Deno.readTextFileSync("/proc/stat"));
    if (m) return Number(m[1]) * 1000;
  } catch {
    // not Linux, or /proc not mounted
  }
  try {
    return Math.round((Date.now() - Deno.osUptime() * 1000) / 1000) * 1000;
  } catch {
    return 0;
  }
}

/** `uname -r`, or "" when the runtime cannot tell. */
function kernelRelease(): string {
  try {
    return Deno.osRelease();
  } catch {
    return "";
  }
}

/** The first `model name` of /proc/cpuinfo (x86), else its `Model`/`Hardware` (arm), else "". */
function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const m = /^(?:model name|Model|Hardware)\s*:\s*(.+)$/m.exec(info);
    return m ? m[1].trim() : "";
  } catch {
    return "";
  }
}
