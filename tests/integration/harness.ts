/**
 * The one harness for integration tests: a real `nats-server` on a free
 * loopback port, real agents as separate processes (started from the
 * bundles in dist/, built by `deno task bundle`), and the controller CLI.
 * Each test gets its own broker, its own prefix-free namespace and its own
 * temporary directory, so tests run in parallel without sharing anything.
 * Everything is stopped by PID; readiness is awaited on real events (the
 * broker's "ready" line, the agent's `hello`), never on sleeps.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { decodeMap } from "../../protocol/codec.ts";
import { Subjects } from "../../protocol/subjects.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const AGENT_JS = `${ROOT}dist/agent.js`;
export const CONTROLLER_JS = `${ROOT}dist/controller.js`;

/** Deno's own binary (the real one, not the npm wrapper: see .ci/run). */
export const DENO = Deno.execPath();

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Resolves when `text` appears on a byte stream; keeps draining it afterwards. */
function waitForLine(
  stream: ReadableStream<Uint8Array>,
  text: string,
  sink: string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const decoder = new TextDecoder();
    let buf = "";
    let found = false;
    (async () => {
      for await (const chunk of stream) {
        const s = decoder.decode(chunk, { stream: true });
        sink.push(s);
        if (!found) {
          buf += s;
          if (buf.includes(text)) {
            found = true;
            resolve();
          }
          buf = buf.slice(-text.length);
        }
      }
      if (!found) reject(new Error(`stream closed before "${text}":\n${sink.join("")}`));
    })().catch(reject);
  });
}

export class Broker {
  proc: Deno.ChildProcess | null = null;
  readonly log: string[] = [];
  private constructor(readonly port: number, readonly extraArgs: string[]) {}

  static async start(opts: { port?: number; args?: string[] } = {}): Promise<Broker> {
    const b = new Broker(opts.port ?? freePort(), opts.args ?? []);
    await b.restart();
    return b;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port. */
  async restart(): Promise<void> {
    if (this.proc) throw new Error("broker already running");
    const cmd = new Deno.Command("nats-server", {
      args: ["-a", "127.0.0.1", "-p", String(this.port), ...this.extraArgs],
      stdout: "null",
      stderr: "piped",
    });
    this.proc = cmd.spawn();
    await waitForLine(this.proc.stderr, "Server is ready", this.log);
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    try {
      p.kill("SIGKILL");
    } catch { /* already gone */ }
    await p.status;
  }
}

export interface AgentOptions {
  labels?: Record<string, string>;
  args?: string[];
  env?: Record<string, string>;
  prefix?: string;
}

export class Agent {
  readonly output: string[] = [];
  constructor(
    readonly name: string,
    readonly proc: Deno.ChildProcess,
    readonly stateDir: string,
  ) {
    const decoder = new TextDecoder();
    (async () => {
      for await (const c of proc.stderr) this.output.push(decoder.decode(c, { stream: true }));
    })().catch(() => {});
  }
  get pid(): number {
    return this.proc.pid;
  }
  /** Clean stop (SIGTERM: the agent says bye) and wait for the exit. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.proc.kill("SIGTERM");
    } catch { /* already gone */ }
    return await this.proc.status;
  }
  async kill(): Promise<void> {
    try {
      this.proc.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.proc.status;
  }
}

/**
 * One test's world: a broker, a temporary directory, a NATS connection for
 * the test's own observations, agents and controller runs. `close()` stops
 * everything it started.
 */
export class World {
  readonly agents: Agent[] = [];
  readonly subjects: Subjects;
  private constructor(
    readonly broker: Broker,
    readonly dir: string,
    readonly nc: NatsConnection,
    readonly prefix: string,
  ) {
    this.subjects = new Subjects(prefix);
  }

  static async create(opts: { brokerArgs?: string[]; prefix?: string } = {}): Promise<World> {
    const broker = await Broker.start({ args: opts.brokerArgs });
    const dir = await Deno.makeTempDir({ prefix: "tutti-test-" });
    const nc = await connect({
      servers: broker.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    return new World(broker, dir, nc, opts.prefix ?? "tutti");
  }

  /** Starts an agent and resolves once its `hello` has been seen. */
  async agent(name: string, opts: AgentOptions = {}): Promise<Agent> {
    const stateDir = `${this.dir}/agent-${name}`;
    const labels = Object.entries(opts.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
    const sub = this.nc.subscribe(this.subjects.presence(name));
    const hello = (async () => {
      for await (const m of sub) {
        if (decodeMap(m.data).type === "hello") return;
      }
    })();
    await this.nc.flush();
    const proc = new Deno.Command(DENO, {
      args: [
        "run",
        "-A",
        "--no-config",
        AGENT_JS,
        "--server",
        this.broker.url,
        "--name",
        name,
        "--prefix",
        this.prefix,
        "--state-dir",
        stateDir,
        ...labels,
        ...(opts.args ?? []),
      ],
      env: opts.env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const agent = new Agent(name, proc, stateDir);
    this.agents.push(agent);
    const died = proc.status.then((s) => {
      throw new Error(`agent ${name} exited (${s.code}) before hello:\n${agent.output.join("")}`);
    });
    try {
      await Promise.race([hello, died]);
    } finally {
      sub.unsubscribe();
    }
    return agent;
  }

  /** Starts several agents in parallel. */
  agentsNamed(names: string[], opts: AgentOptions = {}): Promise<Agent[]> {
    return Promise.all(names.map((n) => this.agent(n, opts)));
  }

  /** Runs the controller CLI to completion. */
  async controller(
    args: string[],
    opts: { env?: Record<string, string>; stdin?: string } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const cmd = new Deno.Command(DENO, {
      args: ["run", "-A", "--no-config", CONTROLLER_JS, ...args],
      env: { NO_COLOR: "1", NATS_URL: this.broker.url, TUTTI_PREFIX: this.prefix, ...opts.env },
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const child = cmd.spawn();
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin));
      await w.close();
    }
    const out = await child.output();
    const d = new TextDecoder();
    return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.kill()));
    await this.nc.close().catch(() => {});
    await this.broker.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Whether a process (or, with a negative pid, a process group) still exists. */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}
