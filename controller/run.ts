/**
 * `run` on many hosts: ONE broadcast, then every host followed to its exit
 * status, with nothing lost on the way.
 *
 * 1. Subscribe to `P.proc.*.<id>.>`, the reply inbox and presence, then
 *    publish the request once on `P.all.run` with the target. The id is the
 *    same on every host (chosen here when the caller did not), so the
 *    process can be addressed later as a group, and a re-sent request never
 *    starts a second copy.
 * 2. Expected hosts are those the selector names, or for a glob the known
 *    ones it matches plus whoever answers (expectation.ts).
 * 3. Each host's events drive its `HostRun` (host_run.ts), which completes
 *    the output from the spool before reporting the exit.
 * 4. Re-sync: after a reconnect of the controller, on a `hello` from a host
 *    still pending, and every `resyncMs`, a `ps` for the id to the pending
 *    hosts recovers exits whose events were lost; an agent that no longer
 *    knows the id was restarted (`ELOST`). Hosts that never acked get the
 *    request again (same id: at most one process).
 * 5. A pending host whose agent said `bye`, or went silent for three
 *    heartbeats while the controller was connected, is `ELOST`; with a
 *    `timeout`, stragglers past timeout + grace + a margin are `ETIMEDOUT`.
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import { TuttiError } from "../protocol/errors.ts";
import { H } from "../protocol/headers.ts";
import {
  type DroppedEvent,
  parseRunRequest,
  type ProcInfo,
  type PsReply,
  type RunReply,
  type RunRequest,
  type StreamName,
  type Target,
} from "../protocol/messages.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import { fold } from "../protocol/selector.ts";
import { checkToken } from "../protocol/subjects.ts";
import { newId } from "../protocol/runtime/ids.ts";
import { isNoRespondersMsg } from "./connection.ts";
import type { RunEvent, RunSummary } from "./events.ts";
import { Expectation, silenceReason } from "./expectation.ts";
import { parseReply, type Scope, wireError } from "./fanout.ts";
import { HostRun } from "./host_run.ts";
import { Liveness } from "./liveness.ts";
import { Channel, type Operation } from "./operation.ts";
import { type HostSpec, type ResolvedTarget, resolveTarget } from "./target.ts";

export interface RunOptions extends HostSpec {
  /** Program and arguments (no shell). Exactly one of `argv` and `shell`. */
  argv?: string[];
  /** A command line for `/bin/sh -c`. */
  shell?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  cwd?: string;
  /** Seconds; the agents then SIGTERM the group, SIGKILL after `grace`. */
  timeout?: number;
  /** Seconds between the timeout's SIGTERM and SIGKILL (agent default 5). */
  grace?: number;
  /** The process id on every host; chosen by the controller when absent. */
  id?: string;
  /** Publish output live (default true); the spool has it anyway. */
  live?: boolean;
  /** Done once every host has started the process (or failed to). */
  detach?: boolean;
  /** Re-sync period for pending hosts (default 5 s). */
  resyncMs?: number;
}

export interface RunHandle extends Operation<RunEvent, RunSummary> {
  readonly id: string;
  /** Hosts expected so far (named, known and matching, or answering). */
  readonly expected: number;
}

const DEFAULT_RESYNC_MS = 5000;
const DEFAULT_GRACE_S = 5;
/** Past timeout + grace, how long to wait for the agents' exit reports before giving up. */
const TIMEOUT_MARGIN_MS = 5000;
/**
 * After `bye`, a stopping agent signals its processes and reports their
 * exits within its stop grace (5 s) and pipe drain (2 s); this is how long
 * the controller waits for those reports.
 */
const BYE_GRACE_MS = 8000;
/** How often deadlines (lost hosts, timeouts, discovery) are checked. */
const TICK_MS = 200;
/** Attempts at fetching one missing output range before reporting it missing. */
const READ_ATTEMPTS = 4;

/** A fresh process id: `r`, the time in base 36 and four random characters. */
export function newRunId(): string {
  return newId("r");
}

/** A run request checked in full: where it goes, its id, and the wire request. */
export interface PreparedRun {
  resolved: ResolvedTarget;
  id: string;
  request: RunRequest;
}

/**
 * Checks a run without sending anything: throws `EBADSEL` for a bad
 * selector and `EINVAL` naming a bad field. The id is chosen here when the
 * caller gave none.
 */
export function prepareRun(opts: RunOptions): PreparedRun {
  const resolved = resolveTarget(opts);
  const id = checkToken("process id", opts.id ?? newRunId());
  const request = parseRunRequest({
    v: 1,
    id,
    argv: opts.argv,
    shell: opts.shell,
    env: opts.env,
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
    timeout: opts.timeout,
    grace: opts.grace,
    live: opts.live,
  });
  return { resolved, id, request: dropUndefined(request) };
}

/** Validates everything (sending nothing when something is bad, see `prepareRun`), then starts. */
export function startRun(scope: Scope, opts: RunOptions): RunHandle {
  return new RunOperation(scope, prepareRun(opts), opts);
}

class RunOperation extends Channel<RunEvent, RunSummary> implements RunHandle {
  readonly #hosts = new Map<string, HostRun>();
  readonly #exp: Expectation;
  readonly #liveness = new Liveness();
  readonly #inbox: string;
  readonly #cleanup: (() => void)[] = [];
  readonly #deadline: number;
  readonly #resyncMs: number;
  #lastResync: number;
  readonly #resyncQueue = new Set<string>();
  readonly #started = Date.now();

  readonly id: string;
  private readonly resolved: ResolvedTarget;
  private readonly request: RunRequest;

  constructor(
    private readonly scope: Scope,
    prepared: PreparedRun,
    private readonly opts: RunOptions,
  ) {
    super();
    this.id = prepared.id;
    this.resolved = prepared.resolved;
    this.request = prepared.request;
    const now = Date.now();
    this.#exp = new Expectation(this.resolved, scope.known, scope.times, now);
    this.#resyncMs = opts.resyncMs ?? DEFAULT_RESYNC_MS;
    this.#lastResync = now;
    this.#deadline = opts.timeout === undefined || opts.detach
      ? Infinity
      : now + (opts.timeout + (opts.grace ?? DEFAULT_GRACE_S)) * 1000 + TIMEOUT_MARGIN_MS;
    for (const h of this.#exp.hosts) this.#host(h);
    this.#inbox = scope.link.inbox();
    try {
      this.#start();
    } catch (e) {
      this.#stop();
      this.fail(e);
    }
  }

  #start(): void {
    const { link } = this.scope;
    const s = link.subjects;
    const subs = [
      link.subscribe(s.proc("*", this.id, ">"), (m) => this.#guard(() => this.#onEvent(m))),
      link.subscribe(`${this.#inbox}.*`, (m) => this.#guard(() => this.#onReply(m))),
    ];
    if (!this.opts.detach) {
      subs.push(link.subscribe(s.presence("*"), (m) => this.#guard(() => this.#onPresence(m))));
    }
    this.#cleanup.push(() => subs.forEach((sub) => sub.unsubscribe()));
    this.#cleanup.push(link.onLink((e) => this.#guard(() => this.#onLink(e))));
    this.#cleanup.push(link.onDenied((e) => {
      this.#stop();
      this.fail(e);
    }));
    const tick = setInterval(() => this.#guard(() => this.#check()), TICK_MS);
    this.#cleanup.push(() => clearInterval(tick));
    this.#sendRun(this.resolved.target);
  }

  /**
   * Nothing a peer sends may break the operation: a message that does not
   * decode is ignored; an internal error ends the run, visibly.
   */
  #guard(fn: () => void): void {
    if (this.ended) return;
    try {
      fn();
    } catch (e) {
      if (e instanceof TuttiError && (e.code === "EBADMSG" || e.code === "EPROTO")) return;
      this.#stop();
      this.fail(e);
    }
  }

  #sendRun(target: Target): void {
    const { link } = this.scope;
    link.send(link.subjects.all("run"), "run", this.request, `${this.#inbox}.run`, target);
  }

  #host(host: string): HostRun {
    let h = this.#hosts.get(host);
    if (!h) {
      h = new HostRun(host, {
        emit: (e) => this.push(e),
        read: (host, stream, offset, limit) => this.#read(host, stream, offset, limit),
        changed: (h) => this.#changed(h),
        detach: this.opts.detach ?? false,
      });
      this.#hosts.set(host, h);
    }
    return h;
  }

  /** The host behind an event or reply, if it is one this run is about. */
  #answering(host: string): HostRun | undefined {
    const h = this.#hosts.get(host);
    if (h && this.#exp.answered.has(host)) return h;
    if (!this.#exp.answer(host, Date.now())) return undefined;
    this.scope.known.seen(host);
    return this.#host(host);
  }

  #changed(h: HostRun): void {
    const now = Date.now();
    if (h.phase === "running") {
      this.#liveness.watch(h.host, now, this.scope.known.get(h.host)?.heartbeat);
    } else if (h.phase === "done") {
      this.#liveness.unwatch(h.host);
    }
    // Completion is checked on the next turn: the change may be part of a larger one.
    queueMicrotask(() => this.#guard(() => this.#check()));
  }

  // ------------------------------------------------------------ inputs

  #onEvent(m: Msg): void {
    const where = this.scope.link.subjects.parseProc(m.subject);
    if (!where || where.proc !== this.id) return;
    const h = this.#answering(where.host);
    if (!h) return;
    switch (where.event) {
      case "started":
        return h.started(procInfo(m), false);
      case "stdout":
      case "stderr": {
        const offset = Number(m.headers?.get(H.offset));
        if (Number.isSafeInteger(offset) && offset >= 0) h.output(where.event, offset, m.data);
        return;
      }
      case "dropped": {
        const d = decodeMap(m.data) as unknown as DroppedEvent;
        if (isStream(d.stream) && Number.isSafeInteger(d.offset) && Number.isSafeInteger(d.bytes)) {
          h.dropped(d.stream, d.offset, d.bytes);
        }
        return;
      }
      case "exit":
        h.exited(procInfo(m));
        return;
    }
  }

  #onReply(m: Msg): void {
    const kind = m.subject.slice(this.#inbox.length + 1);
    if (isNoRespondersMsg(m)) {
      // Nobody at all listens on `P.all.*`: no agent of this prefix is connected.
      if (kind === "run") this.#exp.nobody();
      return this.#check();
    }
    if (kind === "run") {
      const r = parseReply<RunReply>(m);
      if (!r) return;
      const h = this.#answering(r.host);
      if (!h) return;
      if (!r.ok) h.refused(r.error);
      else if (isProcInfo(r.proc)) h.started(r.proc, r.existing === true);
    } else if (kind === "ps") {
      const r = parseReply<PsReply>(m);
      const h = r?.ok ? this.#hosts.get(r.host) : undefined;
      if (!r?.ok || !h || h.done) return;
      const procs: unknown[] = Array.isArray(r.procs) ? r.procs : [];
      const proc = procs.find((p): p is ProcInfo => isProcInfo(p) && p.id === this.id);
      if (proc) {
        this.#answering(r.host);
        h.started(proc, false);
        if (proc.state === "exited") h.exited(proc);
      } else if (h.phase === "running") {
        h.fail({
          code: "ELOST",
          message: `the agent no longer knows process ${this.id} (it was restarted)`,
        });
      }
    }
  }

  #onPresence(m: Msg): void {
    const s = this.scope.link.subjects;
    const host = m.subject.slice(s.presence("").length);
    let body: Record<string, unknown>;
    try {
      body = decodeMap(m.data);
    } catch {
      return;
    }
    const now = Date.now();
    this.scope.known.seen(host, body, now);
    const heartbeat = typeof body.heartbeat === "number" ? body.heartbeat : undefined;
    this.#liveness.heard(host, now, heartbeat);
    const h = this.#hosts.get(host);
    if (!h || h.done) return;
    if (body.type === "bye") {
      h.byeAt ??= now;
    } else if (body.type === "hello") {
      h.byeAt = undefined;
      // It (re)connected: it may have missed the request, or the exit may have been lost.
      if (h.phase === "waiting") this.#sendRun(this.#narrow([host]));
      else this.#resync([host]);
    }
  }

  #onLink(e: "disconnect" | "reconnect"): void {
    if (e !== "reconnect") return;
    const now = Date.now();
    this.#liveness.restart(now);
    const waiting = this.#exp.silent();
    if (waiting.length > 0) {
      this.#exp.restart(now);
      this.#sendRun(this.#exp.explicit ? this.#narrow(waiting) : this.resolved.target);
    }
    this.#resync(this.#pending());
  }

  // ------------------------------------------------------------ re-sync and spool reads

  #pending(): string[] {
    return [...this.#hosts.values()].filter((h) => h.phase === "running").map((h) => h.host);
  }

  /** The original target, limited to `hosts` (exclude and labels still apply). */
  #narrow(hosts: string[]): Target {
    return { ...this.resolved.target, hosts: fold(hosts) };
  }

  /** Queues a `ps` for the id to `hosts`; one broadcast per turn for all queued hosts. */
  #resync(hosts: string[]): void {
    if (hosts.length === 0) return;
    const first = this.#resyncQueue.size === 0;
    for (const h of hosts) this.#resyncQueue.add(h);
    if (!first) return;
    queueMicrotask(() => {
      const list = [...this.#resyncQueue];
      this.#resyncQueue.clear();
      if (this.ended || !this.scope.link.connected) return;
      this.#lastResync = Date.now();
      const { link } = this.scope;
      link.send(link.subjects.all("ps"), "ps", { procs: [this.id] }, `${this.#inbox}.ps`, {
        hosts: fold(list),
      });
    });
  }

  async #read(host: string, stream: StreamName, offset: number, limit: number) {
    let last: TuttiError | undefined;
    for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, 1000));
      if (this.ended || this.#hosts.get(host)?.done) break;
      try {
        const r = await this.scope.link.request(host, "logs", {
          proc: this.id,
          stream,
          offset,
          limit,
        });
        if (r.ok === true && r.data instanceof Uint8Array) return r.data;
        const error = r.ok === true
          ? { code: "EINTERNAL" as const, message: "logs reply without data" }
          : wireError(r.error);
        throw new TuttiError(error.code, `${host}: logs: ${error.message}`);
      } catch (e) {
        if (!(e instanceof TuttiError) || e.code !== "ENORESPONSE") throw e;
        last = e;
      }
    }
    throw last ?? new TuttiError("ENORESPONSE", `${host}: logs: the run ended`);
  }

  // ------------------------------------------------------------ deadlines and the end

  #check(): void {
    if (this.ended) return;
    const now = Date.now();
    const connected = this.scope.link.connected;
    if (connected) {
      for (const { host, ms } of this.#liveness.silent(now)) {
        const h = this.#hosts.get(host);
        if (h?.phase === "running") {
          h.fail({
            code: "ELOST",
            message: `no heartbeat from ${host} for ${(ms / 1000).toFixed(1)}s`,
          });
        }
      }
      for (const h of this.#hosts.values()) {
        if (h.phase === "running" && h.byeAt !== undefined && now - h.byeAt > BYE_GRACE_MS) {
          h.fail({ code: "ELOST", message: `the agent stopped (bye) without reporting an exit` });
        }
      }
      if (now - this.#lastResync >= this.#resyncMs) {
        this.#lastResync = now;
        this.#resync(this.#pending());
      }
    }
    if (now >= this.#deadline) {
      const secs = this.opts.timeout!;
      for (const h of this.#hosts.values()) {
        if (h.phase === "running" || h.phase === "finishing") {
          h.fail({ code: "ETIMEDOUT", message: `no exit reported within the ${secs}s timeout` });
        }
      }
      return this.#complete();
    }
    const busy = [...this.#hosts.values()].some((h) =>
      h.phase === "running" || h.phase === "finishing"
    );
    if (busy) return;
    if (connected ? this.#exp.complete(now) : this.#exp.silent().length === 0) this.#complete();
  }

  #complete(): void {
    const message = silenceReason(this.#exp, this.#started, this.scope.link.subjects.prefix);
    for (const host of this.#exp.silent()) {
      const h = this.#host(host);
      if (h.phase === "waiting") h.fail({ code: "ENORESPONSE", message });
    }
    this.#stop();
    const hosts = [...this.#hosts.values()]
      .filter((h) => h.outcome !== undefined)
      .map((h) => h.outcome!)
      .sort((a, b) => compareHosts(a.host, b.host));
    this.end({ id: this.id, hosts, ok: hosts.length > 0 && hosts.every((h) => h.status === "ok") });
  }

  get expected(): number {
    return this.#exp.hosts.size;
  }

  #stop(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
  }
}

/** The ProcInfo of a `started` or `exit` event (a malformed one is EBADMSG, ignored). */
function procInfo(m: Msg): ProcInfo {
  const { v: _v, ...info } = decodeMap(m.data);
  if (!isProcInfo(info)) throw new TuttiError("EBADMSG", "malformed process event");
  return info;
}

/** Enough of a ProcInfo to follow it: its id, state and byte counts (to wait for). */
function isProcInfo(x: unknown): x is ProcInfo {
  const p = x as Partial<ProcInfo> | null;
  return typeof p === "object" && p !== null && typeof p.id === "string" &&
    (p.state === "running" || p.state === "exited") &&
    Number.isSafeInteger(p.stdout) && p.stdout! >= 0 &&
    Number.isSafeInteger(p.stderr) && p.stderr! >= 0;
}

function isStream(s: unknown): s is StreamName {
  return s === "stdout" || s === "stderr";
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
