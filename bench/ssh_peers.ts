/**
 * How experimenters fan out today, all through the benchmark's loopback
 * sshd: N parallel `ssh` processes at a given width, `pdsh -R ssh` (fan-out
 * 32, its default), `clush` (fan-out 64, its default), and Grid'5000's
 * TakTuk and ansible (g5k_peers.ts), all but the first addressing `b-1` …
 * `b-N` through an ssh client config that leads every name to the loopback
 * account.
 */
import { ensurePackage } from "./apt.ts";
import { timed } from "./child.ts";
import type { BenchContext, Contender } from "./context.ts";
import { type Goal, Recorder } from "./figures.ts";
import { ansible, taktuk } from "./g5k_peers.ts";
import { parallel } from "./parallel.ts";
import { SSH_USER, type Sshd } from "./sshd.ts";

const TIMEOUT_MS = 180_000;
/** Past this many hosts, "all at once" is dropped: the pdsh-width run is ssh's figure. */
const ALL_AT_ONCE_MAX = 64;
/** Up to this many hosts the ssh family gets its full rounds; past it, fewer (they take long). */
const FULL_ROUNDS_MAX = 50;

/**
 * Rounds of each ssh-based peer at `n` hosts: `--ssh-rounds` up to 50 hosts,
 * then scaled down with n (at least 2), so that a run with 200 hosts stays
 * within minutes. The ssh family's spread is small: it is bound by CPU.
 */
export function sshRoundsAt(sshRounds: number, n: number): number {
  if (n <= FULL_ROUNDS_MAX) return sshRounds;
  return Math.min(sshRounds, Math.max(2, Math.round(sshRounds * FULL_ROUNDS_MAX / n)));
}

export const PEERS = ["ssh", "pdsh", "clush", "taktuk", "ansible"] as const;
export type Peer = typeof PEERS[number];

/** A fan-out tool from a Debian package, run once per round against `b-1` … `b-N`. */
export interface Tool {
  peer: Peer;
  pkg: string;
  /** Where the package puts it. */
  bin: string;
  label: string;
  /** Its arguments and environment; writes the files it reads first (machine file, inventory). */
  command: (sshd: Sshd) => Promise<{ args: string[]; env: Record<string, string> }>;
  /**
   * The host a line of its stdout reports as done with exit status 0, for a
   * tool whose own exit status does not say that every host answered.
   */
  answered?: (line: string) => string | undefined;
}

/** The contenders of `peers` for a fan-out to `n` hosts. */
export async function sshPeers(
  ctx: BenchContext,
  n: number,
  goal: Goal | undefined,
): Promise<Contender[]> {
  const rounds = sshRoundsAt(ctx.opts.sshRounds, n);
  const out: Contender[] = [];
  const unavailable = (label: string, why: string): Contender => ({
    rec: new Recorder(label, "ms"),
    rounds: 1,
    warmUp: false,
    goal,
    once: (rec) => Promise.resolve(rec.fail(why)),
  });
  if (ctx.opts.peers.includes("ssh")) {
    // pdsh's width, and everything at once (the same thing when N is small).
    const widths = [Math.min(ctx.opts.sshWidth, n), ...(n <= ALL_AT_ONCE_MAX ? [n] : [])];
    for (const w of new Set(widths)) {
      const label = w === n ? `parallel ssh, all ${n} at once` : `parallel ssh, ${w} at once`;
      if (typeof ctx.sshd === "string") {
        out.push(unavailable(label, ctx.sshd));
        continue;
      }
      const args = ctx.sshd.args("true");
      out.push({
        rec: new Recorder(label, "ms"),
        rounds,
        warmUp: false,
        goal,
        once: async (rec) => {
          const r = await parallel(ctx.scope, n, w, "ssh", args, TIMEOUT_MS);
          if (r.failed > 0) rec.fail(`${r.failed} of ${n} failed: ${r.error}`);
          else rec.add(r.ms);
        },
      });
    }
  }
  const hosts = `b-[1-${n}]`;
  const tools: Tool[] = [
    {
      peer: "pdsh",
      pkg: "pdsh",
      bin: "/usr/bin/pdsh",
      label: `pdsh -R ssh -f 32 -w '${hosts}'`,
      command: (sshd) =>
        Promise.resolve({
          args: ["-R", "ssh", "-l", SSH_USER, "-f", "32", "-S", "-w", hosts, "true"],
          // pdsh appends `-l%u %h` itself when missing; -F keeps to the loopback config.
          env: { PDSH_SSH_ARGS: `-F ${sshd.clientConfig} -l%u %h` },
        }),
    },
    {
      peer: "clush",
      pkg: "clustershell",
      bin: "/usr/bin/clush",
      label: `clush -f 64 -w '${hosts}'`,
      command: (sshd) =>
        Promise.resolve({
          args: ["-f", "64", "-S", "-o", `-F ${sshd.clientConfig}`, "-w", hosts, "true"],
          env: {},
        }),
    },
    taktuk(n, ctx.dir),
    ansible(n, ctx.dir),
  ];
  for (const t of tools) {
    if (!ctx.opts.peers.includes(t.peer)) continue;
    if (typeof ctx.sshd === "string") {
      out.push(unavailable(t.label, ctx.sshd));
      continue;
    }
    let bin: string;
    try {
      bin = await ensurePackage(t.pkg, [t.bin]);
    } catch (e) {
      out.push(unavailable(t.label, (e as Error).message));
      continue;
    }
    const { args, env } = await t.command(ctx.sshd);
    const answered = t.answered;
    out.push({
      rec: new Recorder(t.label, "ms"),
      rounds,
      warmUp: false,
      goal,
      once: async (rec) => {
        const hostsOk = new Set<string>();
        const onStdoutLine = answered &&
          ((line: string) => {
            const host = answered(line);
            if (host !== undefined) hostsOk.add(host);
          });
        const r = await timed(ctx.scope, bin, args, { env, timeoutMs: TIMEOUT_MS, onStdoutLine });
        if (r.timedOut) rec.fail(`killed after ${TIMEOUT_MS} ms`);
        else if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
        else if (answered && hostsOk.size !== n) {
          rec.fail(`exit 0, but ${hostsOk.size} of ${n} hosts answered: ${r.output}`);
        } else rec.add(r.ms);
      },
    });
  }
  return out;
}
