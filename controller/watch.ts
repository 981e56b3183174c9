/**
 * `watch` on many hosts: ONE broadcast, then every host followed to its
 * outcome, and no watcher left behind on any agent.
 *
 * 1. Subscribe to `P.watch.*.<id>`, the reply inbox and presence, then
 *    publish the request once on `P.all.watch` with the target: an outcome
 *    reached at once (a file that already exists) is not missed. The id is
 *    the same on every host.
 * 2. Expected hosts are those the selector names, or for a glob the known
 *    ones it matches plus whoever answers (expectation.ts).
 * 3. Each host ends with one result: its agent's outcome (`met`, `timeout`,
 *    `failed`, `cancelled`), a refusal (`failed` with the wire error), or
 *    what the controller concluded: `noresponse`, `lost` (its heartbeats
 *    stopped, or it said bye), `timeout` (no outcome by the deadline).
 * 4. `all` (default) is decided once every host met the condition, or as
 *    soon as one host can no longer meet it (failed, refused, no response,
 *    lost: the others are then cancelled at once). A host that timed out
 *    does not cancel the others: they share its deadline. `any` is decided by
 *    the first host that meets it, or once none can.
 * 5. Once decided, an `unwatch` goes to the whole target (the agents that
 *    already ended their watch answer ESRCH) and the controller waits for
 *    the hosts without a result to answer it: an agent answers the watch
 *    before the unwatch, so their refusals and `cancelled` outcomes are in.
 *    Aborting (the `signal` option, or `cancel()`) does the same.
 * 6. After a reconnect of the controller the request goes again to the
 *    hosts without a result (same id and request: an agent still watching
 *    answers `existing`, one that published an outcome meanwhile starts
 *    again, which for a state answers at once); after a `hello` from such a
 *    host (a restarted agent), to that host.
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import { TuttiError, type WireError } from "../protocol/errors.ts";
import type { Target } from "../protocol/messages.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import { fold } from "../protocol/selector.ts";
import { checkToken } from "../protocol/subjects.ts";
import { newId } from "../protocol/runtime/ids.ts";
import {
  DEFAULT_WATCH_TIMEOUT_S,
  MAX_WATCH_TIMEOUT_S,
  parseWatchCondition,
  parseWatchEvent,
  type WatchCondition,
  type WatchReply,
} from "../protocol/watch_messages.ts";
import { isNoRespondersMsg } from "./connection.ts";
import { Expectation, silenceReason } from "./expectation.ts";
import { parseReply, type Scope } from "./fanout.ts";
import { Liveness } from "./liveness.ts";
import { Channel, type Operation } from "./operation.ts";
import { type HostSpec, type ResolvedTarget, resolveTarget } from "./target.ts";

export type WatchMode = "all" | "any";

export interface WatchOptions extends HostSpec {
  condition: WatchCondition;
  /** Seconds each agent waits before its outcome is `timeout` (default 300, at most 86400). */
  timeout?: number;
  /** `all` (default): every selected host must meet the condition; `any`: one is enough. */
  mode?: WatchMode;
  /** The watch id on every host (a subject token); chosen by the controller when absent. */
  id?: string;
  /** Aborting cancels the watch on every host still waiting, then ends the operation. */
  signal?: AbortSignal;
}

/**
 * How one host ended: its agent's outcome, or what the controller concluded
 * (`noresponse`: it never answered; `lost`: it vanished while watching).
 */
export type WatchHostStatus = "met" | "timeout" | "failed" | "cancelled" | "noresponse" | "lost";

export interface WatchHostResult {
  host: string;
  status: WatchHostStatus;
  /** ms from the start of the watch on that host (from the request when the controller concluded). */
  elapsed: number;
  /** ms since the epoch */
  at: number;
  /** For people: `127.0.0.1:9000 is listening`, `no answer within 5.0s`. */
  detail: string;
  /** The matching line of an `output` watch. */
  line?: string;
  /** A refusal (`EINVAL`, `ESRCH`, ...) or the controller's conclusion (`ENORESPONSE`, `ELOST`). */
  error?: WireError;
}

export type WatchUpdate =
  /** The agent holds the watch (`existing`: it already did, a retry). */
  | { type: "watching"; host: string; started: number; deadline: number; existing: boolean }
  /**
   * Once: the set of hosts is final and each holds the watch or has its
   * result. From here on nothing that happens on them is missed.
   */
  | { type: "armed"; watching: string[] }
  /** The host's one result. */
  | ({ type: "result" } & WatchHostResult);

export interface WatchSummary {
  id: string;
  mode: WatchMode;
  /** One entry per expected or answering host, sorted by host name. */
  hosts: WatchHostResult[];
  /** `all`: at least one host and every one met the condition; `any`: at least one met it. */
  ok: boolean;
}

export interface WatchHandle extends Operation<WatchUpdate, WatchSummary> {
  readonly id: string;
  /** Hosts expected so far. */
  readonly expected: number;
  /** Cancels the watch on every host still waiting; resolves once it is done. */
  cancel(): Promise<WatchSummary>;
}

/** Past the agents' timeout, how long to wait for their outcomes before concluding `timeout`. */
const DEADLINE_MARGIN_MS = 5000;
const TICK_MS = 200;
/** After `bye`, how long a missing outcome may still arrive (it is published before the bye). */
const BYE_GRACE_MS = 1000;

/** A fresh watch id: `w`, the time in base 36 and four random characters. */
export function newWatchId(): string {
  return newId("w");
}

export interface PreparedWatch {
  resolved: ResolvedTarget;
  id: string;
  condition: WatchCondition;
  timeout: number;
  mode: WatchMode;
}

/** Checks a watch without sending anything: `EBADSEL` for a bad selector, `EINVAL` naming a field. */
export function prepareWatch(opts: WatchOptions): PreparedWatch {
  const resolved = resolveTarget(opts);
  const id = checkToken("watch id", opts.id ?? newWatchId());
  const condition = parseWatchCondition(opts.condition);
  const timeout = opts.timeout ?? DEFAULT_WATCH_TIMEOUT_S;
  if (!(typeof timeout === "number" && timeout >= 0.01 && timeout <= MAX_WATCH_TIMEOUT_S)) {
    throw new TuttiError(
      "EINVAL",
      `watch timeout ${timeout}: expected 0.01 to ${MAX_WATCH_TIMEOUT_S} seconds`,
    );
  }
  const mode = opts.mode ?? "all";
  if (mode !== "all" && mode !== "any") {
    throw new TuttiError("EINVAL", `watch mode ${JSON.stringify(mode)}: expected "all" or "any"`);
  }
  return { resolved, id, condition, timeout, mode };
}

export function startWatch(scope: Scope, opts: WatchOptions): WatchHandle {
  return new WatchOperation(scope, prepareWatch(opts), opts.signal);
}

class WatchOperation extends Channel<WatchUpdate, WatchSummary> implements WatchHandle {
  readonly id: string;
  readonly #exp: Expectation;
  readonly #liveness = new Liveness();
  readonly #watching = new Map<string, { started: number; deadline: number }>();
  readonly #results = new Map<string, WatchHostResult>();
  readonly #byeAt = new Map<string, number>();
  readonly #inbox: string;
  readonly #cleanup: (() => void)[] = [];
  readonly #sent = Date.now();
  readonly #deadline: number;
  #armed = false;
  #closing: Promise<WatchSummary> | undefined;
  /** Hosts whose `unwatch` reply is awaited while closing. */
  readonly #unwatching = new Set<string>();
  #unwatched: (() => void) | undefined;

  constructor(
    private readonly scope: Scope,
    private readonly prep: PreparedWatch,
    signal?: AbortSignal,
  ) {
    super();
    this.id = prep.id;
    this.#exp = new Expectation(prep.resolved, scope.known, scope.times, this.#sent);
    this.#deadline = this.#sent + prep.timeout * 1000 + DEADLINE_MARGIN_MS;
    this.#inbox = scope.link.inbox();
    try {
      this.#start(signal);
    } catch (e) {
      this.#stop();
      this.fail(e);
    }
  }

  get expected(): number {
    return this.#exp.hosts.size;
  }

  cancel(): Promise<WatchSummary> {
    this.#close("cancelled by the controller");
    return this.done;
  }

  #start(signal?: AbortSignal): void {
    const { link } = this.scope;
    const s = link.subjects;
    const subs = [
      link.subscribe(s.watch("*", this.id), (m) => this.#guard(() => this.#onOutcome(m))),
      link.subscribe(`${this.#inbox}.*`, (m) => this.#guard(() => this.#onReply(m))),
      link.subscribe(s.presence("*"), (m) => this.#guard(() => this.#onPresence(m))),
    ];
    this.#cleanup.push(() => subs.forEach((sub) => sub.unsubscribe()));
    this.#cleanup.push(link.onLink((e) => this.#guard(() => this.#onLink(e))));
    this.#cleanup.push(link.onDenied((e) => {
      this.#stop();
      this.fail(e);
    }));
    const tick = setInterval(() => this.#guard(() => this.#check()), TICK_MS);
    this.#cleanup.push(() => clearInterval(tick));
    if (signal) {
      const abort = () => this.#close("cancelled by the controller");
      if (signal.aborted) queueMicrotask(abort);
      signal.addEventListener("abort", abort, { once: true });
      this.#cleanup.push(() => signal.removeEventListener("abort", abort));
    }
    this.#send(this.prep.resolved.target);
  }

  /** A message that does not decode is ignored; an internal error ends the watch, visibly. */
  #guard(fn: () => void): void {
    if (this.ended) return;
    try {
      fn();
    } catch (e) {
      if (e instanceof TuttiError && ["EBADMSG", "EPROTO", "EINVAL"].includes(e.code)) return;
      this.#stop();
      this.fail(e);
    }
  }

  #send(target: Target): void {
    const { link } = this.scope;
    const body = { id: this.id, condition: this.prep.condition, timeout: this.prep.timeout };
    link.send(link.subjects.all("watch"), "watch", body, `${this.#inbox}.watch`, target);
  }

  /** Whether `host` is one this watch is about (recording it as answering). */
  #answering(host: string): boolean {
    if (this.#exp.answered.has(host)) return true;
    if (!this.#exp.answer(host, Date.now())) return false;
    this.scope.known.seen(host);
    return true;
  }

  #result(r: WatchHostResult): void {
    if (this.#results.has(r.host)) return;
    this.#results.set(r.host, r);
    this.#watching.delete(r.host);
    this.#liveness.unwatch(r.host);
    this.push({ type: "result", ...r });
    this.#unwatching.delete(r.host);
    if (this.#unwatching.size === 0) this.#unwatched?.();
    queueMicrotask(() => this.#guard(() => this.#check()));
  }

  /** A result the controller concluded for `host`, timed from the request. */
  #concluded(host: string, status: WatchHostStatus, error: WireError | string): void {
    const now = Date.now();
    const started = this.#watching.get(host)?.started ?? this.#sent;
    const r: WatchHostResult = { host, status, elapsed: now - started, at: now, detail: "" };
    if (typeof error === "string") r.detail = error;
    else [r.detail, r.error] = [error.message, error];
    this.#result(r);
  }

  // ------------------------------------------------------------ inputs

  #onOutcome(m: Msg): void {
    const e = parseWatchEvent(decodeMap(m.data));
    if (e.watch !== this.id || m.subject !== this.scope.link.subjects.watch(e.host, this.id)) {
      return;
    }
    if (!this.#answering(e.host)) return;
    const { v: _v, condition: _c, watch: _w, ...result } = e;
    this.#result(result);
  }

  #onReply(m: Msg): void {
    const kind = m.subject.slice(this.#inbox.length + 1);
    if (isNoRespondersMsg(m)) {
      if (kind === "watch") this.#exp.nobody();
      return this.#check();
    }
    const r = parseReply<WatchReply>(m);
    if (!r) return;
    if (kind === "unwatch") {
      this.#unwatchReplied(r.host);
      return;
    }
    if (kind !== "watch" || !this.#answering(r.host) || this.#results.has(r.host)) return;
    if (!r.ok) {
      const status = r.error.code === "ENORESPONSE" ? "noresponse" : "failed";
      return this.#concluded(r.host, status, r.error);
    }
    if (typeof r.started !== "number" || typeof r.deadline !== "number") return;
    const first = !this.#watching.has(r.host);
    this.#watching.set(r.host, { started: r.started, deadline: r.deadline });
    this.#liveness.watch(r.host, Date.now(), this.scope.known.get(r.host)?.heartbeat);
    if (first) {
      this.push({
        type: "watching",
        host: r.host,
        started: r.started,
        deadline: r.deadline,
        existing: r.existing === true,
      });
    }
    // Started while closing: the unwatch sent to the whole target comes after it; await it.
    if (this.#closing) this.#unwatching.add(r.host);
    queueMicrotask(() => this.#guard(() => this.#check()));
  }

  #onPresence(m: Msg): void {
    const host = m.subject.slice(this.scope.link.subjects.presence("").length);
    const body = decodeMap(m.data);
    const now = Date.now();
    this.scope.known.seen(host, body, now);
    const heartbeat = typeof body.heartbeat === "number" ? body.heartbeat : undefined;
    this.#liveness.heard(host, now, heartbeat);
    if (this.#results.has(host) || !this.#exp.hosts.has(host)) return;
    if (body.type === "bye") {
      this.#byeAt.set(host, now);
    } else if (body.type === "hello") {
      // A restarted agent lost the watch; one that reconnected may have missed the request.
      this.#byeAt.delete(host);
      if (!this.#closing) this.#send(this.#narrow([host]));
    }
  }

  #onLink(e: "disconnect" | "reconnect"): void {
    if (e !== "reconnect" || this.#closing) return;
    const now = Date.now();
    this.#liveness.restart(now);
    this.#exp.restart(now);
    const pending = [...this.#exp.hosts].filter((h) => !this.#results.has(h));
    if (this.#exp.explicit) {
      if (pending.length > 0) this.#send(this.#narrow(pending));
    } else {
      // Everyone selected but the hosts already done: a new watch there would stay behind.
      const done = [...this.#results.keys()];
      const target = this.prep.resolved.target;
      const exclude = [target.exclude, done.length > 0 ? fold(done) : undefined]
        .filter((x) => x !== undefined).join(",");
      this.#send(exclude === "" ? target : { ...target, exclude });
    }
  }

  /** The original target, limited to `hosts` (exclude and labels still apply). */
  #narrow(hosts: string[]): Target {
    return { ...this.prep.resolved.target, hosts: fold(hosts) };
  }

  // ------------------------------------------------------------ decisions

  #check(): void {
    if (this.ended) return;
    const now = Date.now();
    if (this.scope.link.connected) {
      for (const { host, ms } of this.#liveness.silent(now)) {
        this.#concluded(host, "lost", {
          code: "ELOST",
          message: `no heartbeat from ${host} for ${(ms / 1000).toFixed(1)}s`,
        });
      }
      for (const [host, at] of this.#byeAt) {
        if (now - at > BYE_GRACE_MS) {
          this.#byeAt.delete(host);
          this.#concluded(host, "lost", {
            code: "ELOST",
            message: "the agent stopped (bye) without reporting an outcome",
          });
        }
      }
      if (this.#exp.complete(now)) {
        const message = silenceReason(this.#exp, this.#sent, this.scope.link.subjects.prefix);
        for (const host of this.#exp.silent()) {
          this.#concluded(host, "noresponse", { code: "ENORESPONSE", message });
        }
      }
    }
    if (now >= this.#deadline) {
      for (const host of this.#exp.hosts) {
        if (this.#results.has(host)) continue;
        this.#concluded(host, "timeout", {
          code: "ETIMEDOUT",
          message: `no outcome reported within the ${this.prep.timeout}s timeout`,
        });
      }
    }
    if (this.#closing) return;
    const hosts = [...this.#exp.hosts];
    if (!this.#armed && this.#exp.settled(now)) {
      if (hosts.every((h) => this.#results.has(h) || this.#watching.has(h))) {
        this.#armed = true;
        const watching = hosts.filter((h) => this.#watching.has(h) && !this.#results.has(h));
        this.push({ type: "armed", watching: watching.sort(compareHosts) });
      }
    }
    const results = [...this.#results.values()];
    const settled = this.#exp.complete(now) && hosts.every((h) => this.#results.has(h));
    if (this.prep.mode === "any") {
      if (results.some((r) => r.status === "met")) this.#close("another host met the condition");
      else if (settled) this.#close("no host met the condition");
    } else {
      const hopeless = results.find((r) => r.status !== "met" && r.status !== "timeout");
      if (hopeless) this.#close(`${hopeless.host} cannot meet the condition`);
      else if (settled) this.#close("every host has a result");
    }
  }

  /**
   * Ends the watch: `unwatch` to the whole target when some host may still
   * be watching, then the summary once every host without a result has
   * answered it (their refusals or `cancelled` outcomes come first) or the
   * ack timeout has passed.
   */
  #close(why: string): Promise<WatchSummary> {
    if (this.#closing) return this.#closing;
    if (this.ended) return this.#closing = this.done;
    const waiting = [...this.#exp.hosts].filter((h) => !this.#results.has(h));
    // A glob still discovering may have watches in flight on hosts not heard of yet.
    const mayHold = waiting.length > 0 || !this.#exp.complete(Date.now());
    this.#closing = (async () => {
      if (mayHold && this.scope.link.connected) {
        // Each agent answers the watch before the unwatch: once a host has answered the
        // unwatch, its refusal or its `cancelled` outcome is in.
        await this.#unwatch(this.prep.resolved.target, waiting);
      }
      for (const host of [...this.#exp.hosts].filter((h) => !this.#results.has(h))) {
        if (this.#watching.has(host)) {
          this.#concluded(host, "cancelled", `${why}; the agent did not confirm the cancel`);
        } else {
          this.#concluded(host, "noresponse", {
            code: "ENORESPONSE",
            message: `no answer before the watch ended (${why})`,
          });
        }
      }
      this.#finish();
      return this.done;
    })().catch((e) => {
      this.#stop();
      this.fail(e);
      return this.done;
    });
    return this.#closing;
  }

  /** Sends `unwatch` to `target`; resolves once `awaited` hosts have answered (or the ack timeout). */
  async #unwatch(target: Target, awaited: string[]): Promise<void> {
    const { link } = this.scope;
    for (const h of awaited) this.#unwatching.add(h);
    const body = { watches: [this.id] };
    link.send(link.subjects.all("unwatch"), "unwatch", body, `${this.#inbox}.unwatch`, target);
    if (this.#unwatching.size === 0) return;
    const all = new Promise<void>((resolve) => this.#unwatched = resolve);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => timer = setTimeout(r, this.scope.times.ackTimeoutMs));
    await Promise.race([all, late]);
    clearTimeout(timer);
  }

  /** The reply to `unwatch`: the cancelled outcome was published before it. */
  #unwatchReplied(host: string): void {
    if (!this.#unwatching.delete(host)) return;
    if (this.#unwatching.size === 0) this.#unwatched?.();
  }

  #finish(): void {
    this.#stop();
    const hosts = [...this.#results.values()].sort((a, b) => compareHosts(a.host, b.host));
    const met = hosts.filter((h) => h.status === "met").length;
    const ok = this.prep.mode === "any" ? met > 0 : hosts.length > 0 && met === hosts.length;
    this.end({ id: this.id, mode: this.prep.mode, hosts, ok });
  }

  #stop(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
  }
}
