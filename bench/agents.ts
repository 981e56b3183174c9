/**
 * Agents as separate processes on this machine, started from the bundle
 * (dist/agent.js) exactly as a user would, and known to be up once their
 * `hello` has been seen on the broker. Stopped by PID: SIGTERM (they say
 * bye), SIGKILL for any that has not exited after a grace period.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import { Subjects } from "../protocol/subjects.ts";
import { start, type Started } from "./child.ts";
import type { Scope } from "./scope.ts";

/** The real Deno binary (not the npm package's Node wrapper, which would hide the PID). */
export const DENO = Deno.execPath();

/**
 * Agents are started in batches of this many at once: starting many Deno
 * processes at once on two cores only makes each of them slower (and the
 * heartbeats of those already up late).
 */
const START_WIDTH = 8;
/** What one agent process is assumed to need (an idle one holds about 50 MiB), to refuse early. */
const AGENT_MIB = 64;
/** Left to the rest of the machine (broker, controller, peers, page cache). */
const SPARE_MIB = 2048;
const HELLO_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

export interface RunningAgent {
  name: string;
  pid: number;
  s: Started;
}

export class AgentPool {
  /** b-1 ... b-n, in order. */
  readonly agents: RunningAgent[] = [];
  private readonly extras: RunningAgent[] = [];
  private readonly hellos = new Map<string, PromiseWithResolvers<void>>();
  private readonly sub: Subscription;
  readonly subjects = new Subjects();

  constructor(
    private readonly scope: Scope,
    private readonly nc: NatsConnection,
    private readonly url: string,
    private readonly dir: string,
    /** The agent bundle, run with a plain `deno run -A --no-config`. */
    private readonly agentJs: string,
  ) {
    this.sub = nc.subscribe(this.subjects.presence("*"), {
      callback: (_err, m) => {
        try {
          const body = decodeMap(m.data);
          if (body.type === "hello") this.hello(String(body.host)).resolve();
        } catch { /* not ours to judge here */ }
      },
    });
    scope.defer("stop agents", () => this.stop());
  }

  /** Host names `b-1` ... `b-n`: the benchmark's node set is `b-[1-n]`. */
  static names(n: number): string[] {
    return Array.from({ length: n }, (_, i) => `b-${i + 1}`);
  }

  /** Starts agents until `n` are up (b-1 ... b-n). */
  async grow(n: number): Promise<void> {
    await this.nc.flush(); // the presence subscription is active before any agent starts
    const missing = AgentPool.names(n).slice(this.agents.length);
    await checkMemory(missing.length);
    let next = 0;
    const lane = async () => {
      while (next < missing.length) this.agents.push(await this.startOne(missing[next++], []));
    };
    await Promise.all(Array.from({ length: Math.min(START_WIDTH, missing.length) }, lane));
  }

  /** An agent outside the b-N series, with its own options (e.g. `--telemetry 1s`). */
  async extra(name: string, args: string[]): Promise<RunningAgent> {
    await this.nc.flush();
    const agent = await this.startOne(name, args);
    this.extras.push(agent);
    return agent;
  }

  async stopExtra(agent: RunningAgent): Promise<void> {
    const i = this.extras.indexOf(agent);
    if (i >= 0) this.extras.splice(i, 1); // not -1: that would drop another agent
    this.hellos.delete(agent.name);
    await stopAll([agent]);
  }

  private hello(name: string): PromiseWithResolvers<void> {
    let h = this.hellos.get(name);
    if (!h) {
      h = Promise.withResolvers<void>();
      this.hellos.set(name, h);
    }
    return h;
  }

  private async startOne(name: string, args: string[]): Promise<RunningAgent> {
    const hello = this.hello(name).promise;
    const s = start(this.scope, DENO, [
      "run",
      "-A",
      "--no-config",
      this.agentJs,
      "--server",
      this.url,
      "--name",
      name,
      "--state-dir",
      `${this.dir}/${name}`,
      ...args,
    ], { service: true });
    const agent = { name, pid: s.child.pid, s };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`agent ${name}: no hello within ${HELLO_TIMEOUT_MS} ms`)),
        HELLO_TIMEOUT_MS,
      );
      s.child.status.then((st) =>
        reject(new Error(`agent ${name} exited (${st.code}) before hello:\n${s.stderr}`))
      );
    });
    failed.catch(() => {}); // only raced below; its late rejection must not go unhandled
    try {
      await Promise.race([hello, failed]);
    } catch (e) {
      await stopAll([agent]);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return agent;
  }

  /** Stops b-1 ... b-n (the pool can grow again later): frees the machine for another section. */
  async release(): Promise<void> {
    const agents = this.agents.splice(0);
    for (const a of agents) this.hellos.delete(a.name);
    await stopAll(agents);
  }

  async stop(): Promise<void> {
    try {
      this.sub.unsubscribe();
    } catch { /* the connection is already closed */ }
    await stopAll([...this.agents.splice(0), ...this.extras.splice(0)]);
  }
}

/** SIGTERM (a clean stop: bye, children stopped), then SIGKILL for any still there after the grace. */
async function stopAll(agents: RunningAgent[]): Promise<void> {
  for (const a of agents) {
    try {
      a.s.child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  const timer = setTimeout(() => {
    for (const a of agents) {
      try {
        a.s.child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }
  }, STOP_GRACE_MS);
  await Promise.all(agents.map((a) => a.s.child.status));
  clearTimeout(timer);
}

/** MemAvailable from /proc/meminfo, in MiB (Infinity where it cannot be read). */
export async function availableMiB(): Promise<number> {
  const text = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const kb = /^MemAvailable:\s+(\d+) kB/m.exec(text)?.[1];
  return kb === undefined ? Infinity : Number(kb) / 1024;
}

/** Refuses to start `more` agents that would push the machine into swap or the OOM killer. */
async function checkMemory(more: number): Promise<void> {
  if (more === 0) return;
  const available = await availableMiB();
  const needed = more * AGENT_MIB + SPARE_MIB;
  if (needed > available) {
    throw new Error(
      `${more} more agents need about ${needed} MiB (${AGENT_MIB} MiB each + ${SPARE_MIB} spare); ` +
        `${Math.round(available)} MiB available: use smaller --sizes`,
    );
  }
}
