/**
 * What the transfer section's contenders share: a move (a way of bringing
 * one file to or from every host) is prepared and checked untimed around
 * its timed command, in a fresh output directory removed after each round,
 * so that every round writes every byte again and at most one contender's
 * output is on disk at a time.
 */
import { capture, type TimedRun } from "./child.ts";
import type { Contender } from "./context.ts";
import type { Goal, Recorder } from "./figures.ts";
import type { ParallelRun } from "./parallel.ts";
import { sha256File } from "../protocol/files/sha256.ts";

/** One host's file after a round: where it must be, and the local file whose bytes it must have. */
export interface Expected {
  host: string;
  path: string;
  source: string;
}

export interface Outcome {
  ms: number;
  /** Why the run failed, if it did. */
  error?: string;
}

export interface Move {
  label: string;
  /** Why it cannot run on this machine (reported as its failure). */
  unavailable?: string;
  /** Untimed: makes the destinations under `out` (fresh and empty); answers what must be there after. */
  prepare: (out: string) => Promise<Expected[]>;
  /** Timed: the command, from its start to its exit. */
  run: (out: string) => Promise<Outcome>;
  /** Untimed, after a good run that began at `since` (ms since the epoch). */
  after?: (since: number) => Promise<void>;
  goal?: Goal;
  /** Rounds it takes part in, when fewer than the others (a slow peer without a target). */
  rounds?: number;
}

/** Who owns the fresh output directory (the ssh account, so that the peers can write there). */
export interface Owner {
  uid: number;
  gid: number;
}

export function fromTimed(r: TimedRun, timeoutMs: number): Outcome {
  if (r.timedOut) return { ms: r.ms, error: `killed after ${timeoutMs} ms` };
  if (r.code !== 0) return { ms: r.ms, error: `exit ${r.code}: ${r.output}` };
  return { ms: r.ms };
}

export function fromParallel(r: ParallelRun, n: number): Outcome {
  return r.failed > 0
    ? { ms: r.ms, error: `${r.failed} of ${n} failed: ${r.error}` }
    : { ms: r.ms };
}

/** An empty directory at `path` (whatever was there removed), owned by `owner`. */
export async function freshDir(path: string, owner?: Owner): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(path, { recursive: true, mode: 0o755 });
  if (owner) await Deno.chown(path, owner.uid, owner.gid);
}

/** `bytes` from /dev/urandom at `path`, readable by everyone (the ssh account reads it too). */
export async function randomFile(path: string, bytes: number): Promise<void> {
  const r = await capture("sh", [
    "-c",
    'head -c "$1" /dev/urandom > "$2"',
    "sh",
    String(bytes),
    path,
  ]);
  if (!r.ok) throw new Error(`making ${path}: ${r.stderr.trim()}`);
  await Deno.chmod(path, 0o644);
}

/**
 * Checks a round's output: every expected file there with its size, and one
 * of them (another host each round) hashed against its source. Hashing them
 * all would cost more than the transfers; the sizes catch a tool that
 * stopped early, the digest one that wrote garbage.
 */
export class OutputCheck {
  private readonly digests = new Map<string, Promise<string>>();
  private turn = 0;

  async check(expected: Expected[], size: number): Promise<string | undefined> {
    for (const e of expected) {
      const st = await Deno.stat(e.path).catch(() => null);
      if (!st?.isFile) return `${e.host}: ${e.path} is missing`;
      if (st.size !== size) return `${e.host}: ${e.path} has ${st.size} bytes, not ${size}`;
    }
    const e = expected[this.turn++ % expected.length];
    let want = this.digests.get(e.source);
    if (!want) this.digests.set(e.source, want = sha256File(e.source));
    const got = await sha256File(e.path);
    return got === await want ? undefined : `${e.host}: ${e.path} differs from ${e.source}`;
  }
}

/** A move as a contender: fresh output, prepare, timed run, check, output removed. */
export function moveContender(
  move: Move,
  rec: Recorder,
  opts: { out: string; owner?: Owner; size: number; check: OutputCheck },
): Contender {
  if (move.unavailable) {
    const why = move.unavailable;
    return {
      rec,
      rounds: 1,
      warmUp: false,
      goal: move.goal,
      once: (r) => Promise.resolve(r.fail(why)),
    };
  }
  return {
    rec,
    goal: move.goal,
    rounds: move.rounds,
    once: async (r) => {
      await freshDir(opts.out, opts.owner);
      try {
        const expected = await move.prepare(opts.out);
        const since = Date.now();
        const outcome = await move.run(opts.out);
        if (outcome.error) return r.fail(outcome.error);
        const bad = await opts.check.check(expected, opts.size);
        if (bad) return r.fail(bad);
        r.add(outcome.ms);
        await move.after?.(since);
      } finally {
        await Deno.remove(opts.out, { recursive: true }).catch(() => {});
      }
    },
  };
}
