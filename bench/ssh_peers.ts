/**
 * How experimenters fan out today, all through the benchmark's loopback
 * sshd: N parallel `ssh` processes at a given width, `pdsh -R ssh` (fan-out
 * 32, its default) and `clush` (fan-out 64, its default), the last two
 * addressing `b-[1-N]` through an ssh client config that leads every name
 * to the loopback account.
 */
import { ensurePackage } from "./apt.ts";
import { timed } from "./child.ts";
import type { BenchContext, Contender } from "./context.ts";
import { type Goal, Recorder } from "./figures.ts";
import { parallel } from "./parallel.ts";

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

/** `taktuk` takes part in the transfer section only (its fan-out would be TakTuk's exec). */
export const PEERS = ["ssh", "pdsh", "clush", "taktuk"] as const;
export type Peer = typeof PEERS[number];

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
  const tools = [
    {
      peer: "pdsh" as const,
      pkg: "pdsh",
      bin: "/usr/bin/pdsh",
      label: `pdsh -R ssh -f 32 -w '${hosts}'`,
      args: (cfg: string) => ({
        args: ["-R", "ssh", "-l", "tuttibench", "-f", "32", "-S", "-w", hosts, "true"],
        // pdsh appends `-l%u %h` itself when missing; -F keeps to the loopback config.
        env: { PDSH_SSH_ARGS: `-F ${cfg} -l%u %h` },
      }),
    },
    {
      peer: "clush" as const,
      pkg: "clustershell",
      bin: "/usr/bin/clush",
      label: `clush -f 64 -w '${hosts}'`,
      args: (cfg: string) => ({
        args: ["-f", "64", "-S", "-o", `-F ${cfg}`, "-w", hosts, "true"],
        env: {},
      }),
    },
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
    const { args, env } = t.args(ctx.sshd.clientConfig);
    out.push({
      rec: new Recorder(t.label, "ms"),
      rounds,
      warmUp: false,
      goal,
      once: async (rec) => {
        const r = await timed(ctx.scope, bin, args, { env, timeoutMs: TIMEOUT_MS });
        if (r.timedOut) rec.fail(`killed after ${TIMEOUT_MS} ms`);
        else if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
        else rec.add(r.ms);
      },
    });
  }
  return out;
}
