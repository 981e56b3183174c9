/**
 * The one harness for integration tests: a real `nats-server` on a free
 * loopback port, real agents as separate processes (started from the
 * bundles in dist/, built by `deno task bundle`), and the controller CLI.
 * Each test gets its own broker, its own prefix-free namespace and its own
 * temporary directory, so tests run in parallel without sharing anything.
 * Everything is stopped by PID; readiness is awaited on real events (the
 * broker's "ready" line, the agent's `hello`), never on sleeps.
 */
import {
  connect,
  type ConnectionOptions,
  type Msg,
  type NatsConnection,
  nuid,
  type Subscription,
} from "@nats-io/transport-node";
import { decodeMap, encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { startTicks } from "../../agent/supervisor/process_group.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
export const AGENT_JS = `${ROOT}dist/agent.js`;
export const CONTROLLER_JS = `${ROOT}dist/controller.js`;

/** Deno's own binary (the real one, not the npm wrapper: see .ci/run). */
export const DENO = Deno.execPath();

/**
 * A port free now, for a server a test starts. Below the kernel's ephemeral
 * range (32768-60999 on Linux): a port the kernel handed out with `port: 0`
 * and was closed could be handed out again at once as the source port of
 * any of the many connections the parallel tests open, before the server
 * binds it (a cluster test once lost its monitor port so). Picked at random
 * so that tests running at once rarely try the same one, and checked free.
 */
export function freePort(): number {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    }
  }
}

/** Resolves when `text` appears on a byte stream; keeps draining it afterwards. */
function waitForLine(
  stream: ReadableStream<Uint8Array>,
  text: string,
  sink: string[],
  onChunk: () => void = () => {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const decoder = new TextDecoder();
    let buf = "";
    let found = false;
    (async () => {
      for await (const chunk of stream) {
        const s = decoder.decode(chunk, { stream: true });
        sink.push(s);
        onChunk();
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
  readonly #logged = new Set<() => void>();
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
    const proc = cmd.spawn();
    this.proc = proc;
    const notify = () => {
      for (const fn of [...this.#logged]) fn();
    };
    // A server that dies on its own says so in its log, which a failing test prints: a test
    // whose agents all went "disconnected" then shows whether the broker was killed, and how.
    proc.status.then((s) => {
      if (this.proc === proc) {
        this.log.push(`[nats-server exited: ${s.signal ?? `code ${s.code}`}]\n`);
      }
    });
    await waitForLine(proc.stderr, "Server is ready", this.log, notify);
  }

  /**
   * Resolves once `text` has appeared `count` times in the server's log (over
   * all its runs): route connections of a cluster, a client's permission
   * violation. Rejects at the deadline with the log.
   */
  waitForLog(text: string, count = 1, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = () => {
        if (this.log.join("").split(text).length - 1 < count) return false;
        done();
        return true;
      };
      const timer = setTimeout(() => {
        this.#logged.delete(test);
        reject(
          new Error(`"${text}" not ${count}x in the log of ${this.url}:\n${this.log.join("")}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#logged.delete(test);
        resolve();
      };
      this.#logged.add(test);
      test();
    });
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
  /** The agent's `--server` (default: the world's broker). */
  server?: string;
  args?: string[];
  env?: Record<string, string>;
  prefix?: string;
  /**
   * Run the agent as this user (the test runs as root): its state directory
   * is made theirs, and the world's directory traversable.
   */
  user?: { uid: number; gid: number };
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
  /** Clean stop, escalated to SIGKILL after `ms`. */
  async stopWithin(ms: number): Promise<void> {
    const timer = setTimeout(() => this.kill(), ms);
    try {
      await this.stop();
    } finally {
      clearTimeout(timer);
    }
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

  /**
   * `connect`: extra options of the world's own connection (credentials when
   * the broker's configuration requires them).
   */
  static async create(
    opts: { brokerArgs?: string[]; prefix?: string; connect?: ConnectionOptions } = {},
  ): Promise<World> {
    const broker = await Broker.start({ args: opts.brokerArgs });
    const dir = await Deno.makeTempDir({ prefix: "tutti-test-" });
    const nc = await connect({
      servers: broker.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      ...opts.connect,
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
    const proc = this.#agentCommand(name, stateDir, labels, opts).spawn();
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

  /**
   * Starts an agent that is expected not to start: resolves with its exit code
   * and stderr. One still running after `timeoutMs` is killed (and the caller's
   * assertion on the code fails).
   */
  async agentFailing(
    name: string,
    opts: AgentOptions = {},
    timeoutMs = 20_000,
  ): Promise<{ code: number; stderr: string }> {
    const child = this.#agentCommand(name, `${this.dir}/agent-${name}`, [], opts).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const out = await child.output().finally(() => clearTimeout(timer));
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  }

  #agentCommand(name: string, stateDir: string, labels: string[], opts: AgentOptions) {
    if (opts.user) {
      Deno.chmodSync(this.dir, 0o711);
      Deno.mkdirSync(stateDir, { recursive: true });
      Deno.chownSync(stateDir, opts.user.uid, opts.user.gid);
    }
    return new Deno.Command(DENO, {
      uid: opts.user?.uid,
      gid: opts.user?.gid,
      args: [
        "run",
        "-A",
        "--no-config",
        AGENT_JS,
        "--server",
        opts.server ?? this.broker.url,
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
    });
  }

  /** Starts several agents in parallel. */
  agentsNamed(names: string[], opts: AgentOptions = {}): Promise<Agent[]> {
    return Promise.all(names.map((n) => this.agent(n, opts)));
  }

  /**
   * The controller CLI's environment: this world's broker and prefix, and a
   * state directory (its known-hosts cache) inside the world's temp dir.
   */
  controllerEnv(env: Record<string, string> = {}): Record<string, string> {
    return {
      NO_COLOR: "1",
      NATS_URL: this.broker.url,
      TUTTI_PREFIX: this.prefix,
      TUTTI_STATE_DIR: `${this.dir}/controller`,
      ...env,
    };
  }

  /** Runs the controller CLI to completion (`stdoutBytes`: stdout as it was written). */
  async controller(
    args: string[],
    opts: { env?: Record<string, string>; stdin?: string | Uint8Array } = {},
  ): Promise<{ code: number; stdout: string; stderr: string; stdoutBytes: Uint8Array }> {
    const cmd = new Deno.Command(DENO, {
      args: ["run", "-A", "--no-config", CONTROLLER_JS, ...args],
      env: this.controllerEnv(opts.env),
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const child = cmd.spawn();
    // Written while the output is read: a large input must not wait for a reader of the output.
    const writing = opts.stdin === undefined ? null : (async () => {
      const w = child.stdin.getWriter();
      const data = typeof opts.stdin === "string"
        ? new TextEncoder().encode(opts.stdin)
        : opts.stdin!;
      await w.write(data).catch(() => {});
      await w.close().catch(() => {});
    })();
    const out = await child.output();
    await writing;
    const d = new TextDecoder();
    return {
      code: out.code,
      stdout: d.decode(out.stdout),
      stderr: d.decode(out.stderr),
      stdoutBytes: out.stdout,
    };
  }

  readonly controllers: ControllerProcess[] = [];

  /** Starts the controller CLI in the background, to watch its output while it runs. */
  spawnController(args: string[], opts: { env?: Record<string, string> } = {}): ControllerProcess {
    const child = new Deno.Command(DENO, {
      args: ["run", "-A", "--no-config", CONTROLLER_JS, ...args],
      env: this.controllerEnv(opts.env),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const c = new ControllerProcess(child);
    this.controllers.push(c);
    return c;
  }

  async close(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.kill()));
    // SIGTERM first: a clean stop takes the agent's processes and programs with it, where a
    // SIGKILL would leave them running after the test. SIGKILL only if it does not stop in time.
    await Promise.all(this.agents.map((a) => a.stopWithin(15_000)));
    // An agent the test killed left its processes with its keeper, which outlives it by design.
    for (const a of this.agents) reapKeeper(a.stateDir);
    await this.nc.close().catch(() => {});
    await this.broker.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Kills what a keeper still holds on `stateDir` (every process its records
 * say runs, by group) and the keeper itself. For the end of a test only.
 */
export function reapKeeper(stateDir: string): void {
  try {
    for (const e of Deno.readDirSync(`${stateDir}/procs`)) {
      if (!e.name.endsWith(".json")) continue;
      const r = JSON.parse(Deno.readTextFileSync(`${stateDir}/procs/${e.name}`));
      if (r.ended !== null || !(r.pid > 1)) continue;
      // Pids wrap (pid_max is often 32768) while the suite spawns thousands: a leader alive
      // with another start time is someone else's process, maybe another test's broker.
      const now = startTicks(r.pid);
      if (now !== null && typeof r.startTicks === "number" && now !== r.startTicks) continue;
      try {
        Deno.kill(-r.pid, "SIGKILL");
      } catch { /* gone */ }
    }
  } catch { /* no records */ }
  killPidFile(`${stateDir}/keeper.lock`, "keeper", stateDir);
}

/**
 * SIGKILLs the process whose pid `file` holds, only if its argv still has
 * every word of `argv`: a pid file outlives its process, and pids are reused.
 * For the end of a test only; a missing file or process is fine.
 */
export function killPidFile(file: string, ...argv: string[]): void {
  try {
    const pid = Number(Deno.readTextFileSync(file).trim());
    const has = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    if (pid > 1 && argv.every((a) => has.includes(a))) Deno.kill(pid, "SIGKILL");
  } catch { /* not running */ }
}

/**
 * A controller CLI running in the background: its output so far, a wait for
 * a condition on it (checked whenever output arrives), and its end.
 */
export class ControllerProcess {
  stdout = "";
  stderr = "";
  readonly #changed = new Set<() => void>();
  readonly #ended: Promise<void>;

  constructor(readonly proc: Deno.ChildProcess) {
    const pump = async (stream: ReadableStream<Uint8Array>, which: "stdout" | "stderr") => {
      const d = new TextDecoder();
      for await (const chunk of stream) {
        this[which] += d.decode(chunk, { stream: true });
        for (const fn of [...this.#changed]) fn();
      }
    };
    this.#ended = Promise.all([pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr")]).then(
      () => {
        for (const fn of [...this.#changed]) fn();
      },
    );
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Resolves once `check(stdout, stderr)` holds; rejects if the process ends first or at the deadline. */
  waitFor(
    what: string,
    check: (stdout: string, stderr: string) => boolean,
    timeoutMs = 20_000,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let finished = false;
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const done = (err?: Error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.#changed.delete(test);
        if (err) {
          reject(new Error(`${err.message}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
        } else resolve();
      };
      const test = () => {
        if (check(this.stdout, this.stderr)) done();
      };
      this.#changed.add(test);
      this.#ended.then(() => done(new Error(`the controller ended before ${what}`)));
      test();
    });
  }

  /** Waits for the end: its exit code and everything it wrote. */
  async result(timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`controller still running after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const status = await Promise.race([this.proc.status, late]);
      await this.#ended;
      return { code: status.code, stdout: this.stdout, stderr: this.stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    try {
      this.proc.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.proc.status;
    await this.#ended.catch(() => {});
  }
}

/** The objects of JSON-lines output (`controller ... --json`), in order. */
export function jsonLines<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout.trimEnd().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** Whether a process (or, with a negative pid, a process group) still exists. */
/** Whether `path` exists (a file a process was to write, or not to). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ raw protocol access
// For tests that talk to agents directly over NATS with the wire format
// (protocol/codec.ts), without the controller.

/** A decoded control message: its CBOR body and its headers (first value of each). */
export interface Decoded {
  subject: string;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

function headerRecord(m: Msg): Record<string, string> {
  const out: Record<string, string> = {};
  if (m.headers) { for (const k of m.headers.keys()) out[k] = m.headers.get(k); }
  return out;
}

function decodeAny(m: Msg): Decoded {
  return { subject: m.subject, body: decodeMap(m.data), headers: headerRecord(m) };
}

/**
 * Publishes raw bytes with a reply subject (`P.reply.<id>.req`) and resolves
 * with the first answer, decoded; rejects on the server's "no responders".
 */
export async function requestBytes(
  world: World,
  subject: string,
  payload: Uint8Array,
  timeoutMs = 10_000,
): Promise<Decoded> {
  const s = world.subjects;
  const id = nuid.next();
  const answer = Promise.withResolvers<Msg>();
  const sub = world.nc.subscribe(s.replies(id), {
    callback: (_err, m) => {
      if (m.data.length === 0 && m.headers?.code === 503) {
        answer.reject(new Error(`no responders on ${subject}`));
      } else answer.resolve(m);
    },
  });
  const timer = setTimeout(
    () => answer.reject(new Error(`no reply on ${subject} within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    world.nc.publish(subject, payload, { reply: s.replyTo(id, "req") });
    return decodeAny(await answer.promise);
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

/** `{v: 1, ...body}` to `P.host.<host>.<verb>`; resolves with the decoded reply. */
export function ask(
  world: World,
  host: string,
  verb: string,
  body: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<Decoded> {
  const payload = encode({ v: PROTOCOL_VERSION, ...body });
  return requestBytes(world, world.subjects.host(host, verb), payload, timeoutMs);
}

/**
 * Broadcasts `{v: 1, target, ...body}` on `P.all.<verb>` and returns every
 * reply. To know that silent agents really stayed silent without sleeping,
 * it then pings each of `barrier` directly on the same reply subscription:
 * an agent handles messages in order, so once its ping reply is in, any
 * reply it would have given to the broadcast is in too.
 */
export async function broadcast(
  world: World,
  verb: string,
  body: Record<string, unknown>,
  barrier: string[],
  timeoutMs = 10_000,
  /**
   * Replies to wait for besides the barrier. A ping answered proves that an
   * agent has dealt with the broadcast before it *if* it answers at once; a
   * `run` is answered once the keeper has spawned, possibly after the ping.
   */
  awaitReplies = 0,
): Promise<Decoded[]> {
  const s = world.subjects;
  const id = nuid.next();
  const replies: Decoded[] = [];
  const pending = new Set(barrier);
  const { promise: done, resolve } = Promise.withResolvers<void>();
  const settle = () => {
    if (pending.size === 0 && replies.length >= awaitReplies) resolve();
  };
  const sub = world.nc.subscribe(s.replies(id), {
    callback: (_err, m) => {
      const where = s.parseReply(m.subject, id);
      if (where?.kind === "b") replies.push(decodeAny(m));
      else if (where?.host) pending.delete(where.host);
      settle();
    },
  });
  settle();
  const timer = setTimeout(resolve, timeoutMs);
  try {
    await world.nc.flush();
    world.nc.publish(s.all(verb), encode({ v: PROTOCOL_VERSION, ...body }), {
      reply: s.replyTo(id, "b"),
    });
    for (const h of barrier) {
      world.nc.publish(s.host(h, "ping"), encode({ v: PROTOCOL_VERSION }), {
        reply: s.replyTo(id, "p"),
      });
    }
    await done;
    if (pending.size > 0) throw new Error(`no ping reply from ${[...pending].join(", ")}`);
    return replies;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

/** One event of a process, as seen on `P.proc.<host>.<proc>.<event>`. */
export interface ProcEventSeen {
  proc: string;
  event: string;
  seq: number;
  headers: Record<string, string>;
  /** Raw bytes for stdout/stderr, else undefined. */
  data?: Uint8Array;
  /** Decoded body for CBOR events. */
  body?: Record<string, unknown>;
}

/**
 * Records the events of processes on one host (all of them, or one id) from
 * the moment `open` resolves. `exit(id)` resolves with the exit body.
 */
export class ProcWatch {
  readonly events: ProcEventSeen[] = [];
  private readonly exits = new Map<string, PromiseWithResolvers<Record<string, unknown>>>();
  private readonly sub: Subscription;
  private constructor(world: World, host: string, proc: string) {
    this.sub = world.nc.subscribe(world.subjects.proc(host, proc, "*"), {
      callback: (_err, m) => this.add(world.subjects, m),
    });
  }

  static async open(world: World, host: string, proc = "*"): Promise<ProcWatch> {
    const watch = new ProcWatch(world, host, proc);
    await world.nc.flush();
    return watch;
  }

  private add(subjects: Subjects, m: Msg): void {
    const where = subjects.parseProc(m.subject);
    if (!where) return;
    const headers = headerRecord(m);
    const raw = where.event === "stdout" || where.event === "stderr";
    let body: Record<string, unknown> | undefined;
    try {
      body = raw ? undefined : decodeMap(m.data);
    } catch {
      // A test may publish garbage on purpose: it is not an event of the agent's.
      return;
    }
    const e: ProcEventSeen = {
      proc: where.proc,
      event: where.event,
      seq: Number(headers["Tutti-Seq"]),
      headers,
      data: raw ? m.data : undefined,
      body,
    };
    this.events.push(e);
    if (e.event === "exit") this.exitOf(e.proc).resolve(e.body!);
  }

  private exitOf(id: string): PromiseWithResolvers<Record<string, unknown>> {
    let p = this.exits.get(id);
    if (!p) {
      p = Promise.withResolvers();
      this.exits.set(id, p);
    }
    return p;
  }

  /** The `exit` body of `id`; rejects after `timeoutMs`. */
  async exit(id: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no exit event for ${id} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exitOf(id).promise, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  of(id: string, event?: string): ProcEventSeen[] {
    return this.events.filter((e) => e.proc === id && (event === undefined || e.event === event));
  }

  /** Concatenated live bytes of one stream of `id`, in arrival order. */
  text(id: string, stream = "stdout"): string {
    const d = new TextDecoder();
    return this.of(id, stream).map((e) => d.decode(e.data)).join("");
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/** Polls `check` until it is truthy (for conditions no event announces); throws at the deadline. */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Pids of live (non-zombie) processes in process group `pgid`, from /proc. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = rest[0];
    const pgrp = Number(rest[2]);
    if (pgrp === pgid && state !== "Z" && state !== "X") out.push(Number(e.name));
  }
  return out;
}

/** Resident memory of a process in bytes (VmRSS), or 0 when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Resolves once no live process is left in group `pgid`. A process closes
 * its pipes a moment before the kernel marks it dead, so an `exit` event can
 * come just before the last member is gone: that last step has no event, so
 * it is polled, and a group that survives for `timeoutMs` is an error.
 */
export async function groupGone(pgid: number, timeoutMs = 3000): Promise<void> {
  await until(
    `process group ${pgid} to be gone`,
    () => groupMembers(pgid).length === 0,
    timeoutMs,
    10,
  )
    .catch(() => {
      throw new Error(`process group ${pgid} still has ${groupMembers(pgid).join(", ")}`);
    });
}
