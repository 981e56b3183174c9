/**
 * The controller library's entry point: one connection, the known-hosts
 * cache, and every operation. Each operation is one broadcast (or, for
 * `logs`, one request per chunk to one host) and hands out an async stream
 * of typed events with a typed result.
 *
 * @example
 * ```ts ignore
 * import { Controller } from "./mod.ts";
 * const c = await Controller.connect({ servers: ["nats://127.0.0.1:4222"] });
 * const run = c.run({ hosts: "g5k-[1-4]", argv: ["hostname"] });
 * for await (const e of run) if (e.type === "exit") console.log(e.host, e.proc.code);
 * console.log((await run.done).ok);
 * await c.close();
 * ```
 */
import type { Msg } from "@nats-io/transport-node";
import type { ConnectFlags } from "../protocol/connection/connect_flags.ts";
import { TuttiError, type WireError } from "../protocol/errors.ts";
import { presencePing } from "../protocol/events.ts";
import type { PingReply, PsReply, SignalReply } from "../protocol/messages.ts";
import type { ProgramAction, ShutdownReply, UpgradeReply } from "../protocol/program_messages.ts";
import { parseSelector } from "../protocol/selector.ts";
import { parseSignal, type SignalName } from "../protocol/signals.ts";
import { checkPrefix, checkToken, DEFAULT_PREFIX } from "../protocol/subjects.ts";
import { deniedError, Link } from "./connection.ts";
import type { HostReply } from "./events.ts";
import type { IgnoredMessage } from "./broadcast/diagnostics.ts";
import { DEFAULT_TIMES, type ExpectationTimes } from "./broadcast/expectation.ts";
import { newScope, type Scope } from "./broadcast/scope.ts";
import {
  parsePingReply,
  parsePsReply,
  parseShutdownReply,
  parseSignalReply,
  parseUpgradeReply,
} from "../protocol/replies.ts";
import { fanout } from "./fanout.ts";
import { defaultStateDir, KnownHosts, serverKey } from "./known_hosts.ts";
import { type LogsOptions, LogsReader } from "./logs.ts";
import { type MessageJson, messageJson } from "./message_json.ts";
import type { Operation } from "./operation.ts";
import { type ProgramsOperation, type ProgramsOptions, startPrograms } from "./programs.ts";
import { ProgramAttachment, ProgramOutput, type ProgramTailOptions } from "./programs_output.ts";
import { type RunHandle, startRun } from "./run.ts";
import type { PreparedRun, RunOptions } from "./run_request.ts";
import { type HostSpec, resolveTarget } from "./target.ts";
import { startTelemetry, type TelemetryHandle, type TelemetryOptions } from "./telemetry.ts";
import { startWatch } from "./watch.ts";
import { type GetOptions, startGet } from "./transfer/get.ts";
import { type PutOptions, startPut, type TransferOperation } from "./transfer/put.ts";
import { countStates, type QueueCounts, QueueStore } from "./queue/queue_store.ts";
import {
  checkSubmit,
  type QueueOperation,
  type QueueSubmitOptions,
  startSubmit,
} from "./queue/submit.ts";
import type { QueueConfig, TaskState } from "../protocol/queue_messages.ts";
import {
  cancelQueue,
  drainHost,
  retryFailed,
  type RetryReport,
  watchQueue,
} from "./queue/manage.ts";
import type { PreparedWatch, WatchHandle, WatchOptions } from "./watch_request.ts";

/** How long an agent may take to check that its program on disk starts (`upgrade`). */
const UPGRADE_TIMEOUT_S = 60;

export interface ControllerOptions extends ConnectFlags, Partial<ExpectationTimes> {
  /** Subject prefix (default `$TUTTI_PREFIX`, else `tutti`). */
  prefix?: string;
  /** Directory of the known-hosts cache (default: see `defaultStateDir`); false: memory only. */
  stateDir?: string | false;
}

/** One line of `hosts`: an agent that answered, or a known one that did not. */
export interface HostStatus {
  host: string;
  state: "up" | "lost";
  /** What it answered (when up). */
  info?: PingReply;
  /** When it was last seen (ms since the epoch), from the cache for a lost host. */
  lastSeen?: number;
  /** An error it answered with instead. */
  error?: WireError;
}

export interface PsOptions {
  /** Only these process ids. */
  procs?: string[];
  /** Include exited processes (default: running ones only). */
  all?: boolean;
}

export interface KillOptions {
  /** Default SIGTERM. */
  signal?: string | SignalName;
  /** Seconds until SIGKILL for groups still alive (default 5; 0: at once). */
  grace?: number;
}

/** A queue as its bucket holds it: `queueStatus()`. */
export interface QueueStatus {
  name: string;
  /** Tasks submitted, all submissions together. */
  total: number;
  counts: QueueCounts;
  tasks: TaskState[];
}

export class Controller {
  readonly #scope: Scope;

  private constructor(readonly link: Link, readonly known: KnownHosts, times: ExpectationTimes) {
    this.#scope = newScope(link, known, times);
  }

  static async connect(opts: ControllerOptions = {}): Promise<Controller> {
    const prefix = checkPrefix(opts.prefix ?? (Deno.env.get("TUTTI_PREFIX") || DEFAULT_PREFIX));
    const link = await Link.open(opts, prefix);
    // Hosts are remembered per server, known once connected. A reconnect to another cluster
    // keeps this memory (rare: `--server` lists one cluster's servers).
    const known = opts.stateDir === false
      ? KnownHosts.memory(prefix)
      : await KnownHosts.load(opts.stateDir ?? defaultStateDir(), serverKey(link.nc.info!), prefix);
    const times: ExpectationTimes = {
      ackTimeoutMs: opts.ackTimeoutMs ?? DEFAULT_TIMES.ackTimeoutMs,
      quietMs: opts.quietMs ?? DEFAULT_TIMES.quietMs,
      minWindowMs: opts.minWindowMs ?? DEFAULT_TIMES.minWindowMs,
    };
    return new Controller(link, known, times);
  }

  get prefix(): string {
    return this.link.subjects.prefix;
  }

  /** Every agent that answers a ping, and every known one that does not (as lost). */
  async hosts(spec: HostSpec = {}): Promise<HostStatus[]> {
    const before = new Map(this.known.entries());
    // The connection's presence counts too: an agent that (re)connected during the ping
    // says hello with everything a ping answer holds, even if the ping itself missed it.
    const present = new Map<string, PingReply>();
    const off = this.#scope.presence.listen((host, p) => {
      if (p.type === "bye") present.delete(host);
      else present.set(host, presencePing(p));
    });
    let replies: HostReply<PingReply>[];
    try {
      replies = await this.ping(spec).done;
    } finally {
      off();
    }
    return replies.map((r): HostStatus => {
      if (r.ok) {
        const { host: _h, ok: _ok, ...info } = r;
        return { host: r.host, state: "up", info, lastSeen: Date.now() };
      }
      const heard = present.get(r.host);
      if (r.error.code === "ENORESPONSE" && heard) {
        return { host: r.host, state: "up", info: heard, lastSeen: Date.now() };
      }
      if (r.error.code === "ENORESPONSE") {
        return { host: r.host, state: "lost", lastSeen: before.get(r.host)?.lastSeen };
      }
      return { host: r.host, state: "up", error: r.error, lastSeen: Date.now() };
    });
  }

  ping(spec: HostSpec = {}): Operation<HostReply<PingReply>, HostReply<PingReply>[]> {
    return this.#track(
      fanout(
        this.#scope,
        { verb: "ping", body: {}, parse: parsePingReply, hostInfo: (r) => r },
        resolveTarget(spec),
      ),
    );
  }

  /**
   * Runs a command on every selected host; see run.ts for what is
   * guaranteed. Takes the options, or what `prepareRun` made of them.
   */
  run(opts: RunOptions | PreparedRun): RunHandle {
    return this.#track(startRun(this.#scope, opts));
  }

  /** Waits for a condition on every (or any) selected host; see watch.ts for what is guaranteed. */
  watch(opts: WatchOptions | PreparedWatch): WatchHandle {
    return this.#track(startWatch(this.#scope, opts));
  }

  /** Presence and telemetry of the selected hosts (and their processes), live until `close()`. */
  telemetry(opts: TelemetryOptions = {}): TelemetryHandle {
    return this.#track(startTelemetry(this.#scope, opts));
  }

  /** Sends `signal` to the process groups `procs` (no escalation unless `grace` is given). */
  signal(
    spec: HostSpec,
    procs: string[],
    signal: string | SignalName,
    opts: { grace?: number } = {},
  ): Operation<HostReply<SignalReply>, HostReply<SignalReply>[]> {
    const resolved = resolveTarget(spec);
    if (procs.length === 0) throw new TuttiError("EINVAL", "no process id given");
    for (const p of procs) checkToken("process id", p);
    const body = { procs, signal: parseSignal(signal), grace: opts.grace };
    if (body.grace === undefined) delete body.grace;
    return this.#track(
      fanout(this.#scope, { verb: "signal", body, parse: parseSignalReply }, resolved),
    );
  }

  /** SIGTERM (or `signal`) to the groups, then SIGKILL after `grace` seconds (default 5). */
  kill(
    spec: HostSpec,
    procs: string[],
    opts: KillOptions = {},
  ): Operation<HostReply<SignalReply>, HostReply<SignalReply>[]> {
    return this.signal(spec, procs, opts.signal ?? "SIGTERM", { grace: opts.grace ?? 5 });
  }

  ps(
    spec: HostSpec = {},
    opts: PsOptions = {},
  ): Operation<HostReply<PsReply>, HostReply<PsReply>[]> {
    const resolved = resolveTarget(spec);
    for (const p of opts.procs ?? []) checkToken("process id", p);
    const body: Record<string, unknown> = {};
    if (opts.procs) body.procs = opts.procs;
    if (!opts.all) body.running = true;
    return this.#track(
      fanout(this.#scope, { verb: "ps", body, parse: parsePsReply }, resolved),
    );
  }

  /** The spooled output of one process: iterate the chunks, or `await .bytes()`. */
  logs(host: string, proc: string, opts: LogsOptions = {}): LogsReader {
    return new LogsReader(this.link, host, proc, opts);
  }

  /**
   * Subscribes to `subject` (NATS wildcards allowed, no prefix added) and
   * resolves once the server has the subscription, with the messages decoded
   * to plain data; `max` ends them after that many.
   */
  async sub(subject: string, opts: { max?: number } = {}): Promise<AsyncIterable<MessageJson>> {
    const sub = this.link.nc.subscribe(subject, { max: opts.max });
    await this.link.flush();
    // The server refuses a subscription before the flush's PONG, and nats.js then closes it
    // (closed without a message: not ended by `max`).
    if (sub.isClosed() && sub.getReceived() === 0) throw deniedError("subscription", subject);
    return (async function* () {
      for await (const m of sub as AsyncIterable<Msg>) yield messageJson(m);
    })();
  }

  /**
   * A supervision action on every selected host: `status` (of `names`, or
   * all), `start`/`stop`/`restart` (of `names`: processes, programs,
   * `web:*`, `all`), `reload` (re-read the configuration file), `apply`
   * (push `config`), `reopen` (reopen output files after a rotation).
   * One reply per host; see programs.ts for the waiting rules.
   */
  programs(action: ProgramAction, opts: ProgramsOptions = {}): ProgramsOperation {
    return this.#track(startPrograms(this.#scope, action, opts));
  }

  /**
   * The last bytes of a supervised process's stream on `host`; with
   * `follow`, then everything it writes (and its events) until `close()`.
   */
  programTail(host: string, name: string, opts: ProgramTailOptions = {}): ProgramOutput {
    return new ProgramOutput(this.link, host, name, [opts.stream ?? "stdout"], {
      bytes: opts.bytes,
      follow: opts.follow ?? false,
    });
  }

  /** Both output streams of a supervised process, live, and its stdin (`write`, `closeInput`). */
  attach(host: string, name: string): ProgramAttachment {
    return new ProgramAttachment(this.link, host, name);
  }

  /** Stops the selected agents cleanly (their programs and processes first); one reply each. */
  shutdown(spec: HostSpec): Operation<HostReply<ShutdownReply>, HostReply<ShutdownReply>[]> {
    const resolved = resolveTarget(spec);
    return this.#track(
      fanout(
        this.#scope,
        { verb: "shutdown", body: {}, parse: parseShutdownReply },
        resolved,
      ),
    );
  }

  /**
   * Copies local files and directories to every selected host: each content
   * is uploaded once to the server's transfer stream (JetStream), and every
   * host fetches it from there; see transfer/put.ts.
   */
  put(spec: HostSpec, opts: PutOptions): TransferOperation {
    return this.#track(startPut(this.#scope, resolveTarget(spec), opts));
  }

  /**
   * Submits tasks to a work queue on JetStream and tells the selected agents
   * to take them, `slots` at a time each; see queue/submit.ts. The options
   * (placeholders, queue name) are checked before anything is sent, and
   * every task before any is stored.
   */
  queueSubmit(spec: HostSpec, opts: QueueSubmitOptions): QueueOperation {
    const resolved = resolveTarget(spec);
    checkSubmit(opts);
    return this.#track(startSubmit(this.#scope, resolved, opts));
  }

  /** Cancels queue `name`: see queue/manage.ts. Returns how many tasks were cancelled. */
  queueCancel(name: string): Promise<number> {
    return cancelQueue(this.#scope, name);
  }

  /** Queues the failed tasks of queue `name` again and tells its hosts. */
  queueRetryFailed(name: string): Promise<RetryReport> {
    return retryFailed(this.#scope, name);
  }

  /** Drains `host` from queue `name` (`on` false: undrains it). */
  queueDrain(name: string, host: string, on: boolean): Promise<QueueConfig> {
    return drainHost(this.#scope, name, host, on);
  }

  /** Follows queue `name` until no task is pending or running (another controller's submission). */
  queueWatch(name: string): QueueOperation {
    return this.#track(watchQueue(this.#scope, name));
  }

  /** Every task of queue `name` and the counts by state, from the queue's KV bucket alone. */
  async queueStatus(name: string): Promise<QueueStatus> {
    const store = await QueueStore.open(this.link.nc, this.link.subjects, name);
    const [meta, tasks] = await Promise.all([store.meta(), store.tasks()]);
    return { name, total: meta?.total ?? tasks.length, counts: countStates(tasks), tasks };
  }

  /** Brings files from every selected host into `<dir>/<host>/`; see transfer/get.ts. */
  get(spec: HostSpec, opts: GetOptions): TransferOperation {
    return this.#track(startGet(this.#scope, resolveTarget(spec), opts));
  }

  /**
   * Re-executes the selected agents in place from the program on disk (a new
   * bundle or binary), keeping every process: each answers once its program
   * is known to start, then detaches from its keeper and execs itself.
   */
  upgrade(spec: HostSpec): Operation<HostReply<UpgradeReply>, HostReply<UpgradeReply>[]> {
    const resolved = resolveTarget(spec);
    return this.#track(
      fanout(
        this.#scope,
        {
          verb: "upgrade",
          body: {},
          // Acknowledged at once; answered once the program on disk is known to start.
          acked: { timeoutS: UPGRADE_TIMEOUT_S },
          parse: parseUpgradeReply,
        },
        resolved,
      ),
    );
  }

  /**
   * `fn` for every message a peer sent that an operation could not use (it
   * did not parse, or came from a host the operation is not about): such a
   * message is never fatal, and never silent. Returns the removal.
   */
  onIgnored(fn: (m: IgnoredMessage) => void): () => void {
    return this.#scope.diagnostics.onIgnored(fn);
  }

  /** How many messages were ignored on this connection, and the first of them. */
  get ignored(): { count: number; first?: IgnoredMessage } {
    const d = this.#scope.diagnostics;
    return d.first ? { count: d.count, first: d.first } : { count: d.count };
  }

  /** Removes known hosts matching `selector` (globs and node sets); returns their names. */
  async forget(selector: string): Promise<string[]> {
    const sel = parseSelector(selector);
    const gone = this.known.names().filter((h) => sel.matches(h));
    for (const h of gone) this.known.forget(h);
    await this.known.save();
    return gone;
  }

  /**
   * Saves the known hosts and closes the connection (after flushing what was
   * sent). Operations still in flight stop receiving: await their `done` first.
   */
  async close(): Promise<void> {
    await this.known.save();
    await this.link.close();
  }

  /** Saves what an operation learnt about hosts once it is done. */
  #track<T extends Operation<unknown, unknown>>(op: T): T {
    op.done.then(() => this.known.save(), () => {});
    return op;
  }
}
