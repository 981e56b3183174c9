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

/** Starting many Deno processes at once on two cores only makes each of them slower. */
const START_WIDTH = 8;
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
    this.extras.splice(this.extras.indexOf(agent), 1);
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
