/** What every section of the benchmark works with, set up once by run.ts. */
import type { NatsConnection } from "@nats-io/transport-node";
import type { AgentPool } from "./agents.ts";
import type { Broker } from "./broker.ts";
import type { Goal, Recorder } from "./figures.ts";
import type { BenchOptions } from "./options.ts";
import type { Scope } from "./scope.ts";
import type { Sshd } from "./sshd.ts";

export interface BenchContext {
  opts: BenchOptions;
  scope: Scope;
  /** The benchmark's temporary directory (agents' state dirs live below it). */
  dir: string;
  broker: Broker;
  /** The benchmark's own connection to the broker. */
  nc: NatsConnection;
  /** Agents b-1 ... b-n, grown by the sections that need more. */
  pool: AgentPool;
  /** The loopback sshd, or why the ssh peer could not be set up. */
  sshd: Sshd | string;
}

/** Progress on stderr; results go to the report. */
export function say(text: string): void {
  console.error(`bench: ${text}`);
}

/** One way of doing the thing measured, run once per round into its recorder. */
export interface Contender {
  rec: Recorder;
  once: (rec: Recorder) => Promise<void>;
  /** Rounds this one takes part in (slow peers may take fewer than tutti); default: all. */
  rounds?: number;
  /** Whether it gets an unrecorded first round (default true; slow peers already warmed skip it). */
  warmUp?: boolean;
  goal?: Goal;
}

/**
 * Runs each measurement once per round, rotating which goes first, so that
 * a burst of noise or a warm cache does not always favour the same one.
 */
export async function interleave(
  rounds: number,
  steps: (() => Promise<void>)[],
): Promise<void> {
  await interleaveContenders(rounds, steps.map((run) => ({ run })));
}

/** `interleave` where some steps stop after their own number of rounds. */
export async function interleaveContenders(
  rounds: number,
  steps: { run: () => Promise<void>; rounds?: number }[],
): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const live = steps.filter((s) => r < (s.rounds ?? rounds));
    for (let i = 0; i < live.length; i++) await live[(r + i) % live.length].run();
  }
}
