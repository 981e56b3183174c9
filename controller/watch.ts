/**
 * `watch` on many hosts: ONE broadcast, then every host followed to its
 * outcome, and no watcher left behind on any agent. A strategy on the
 * broadcast core (broadcast/broadcast.ts).
 *
 * 1. Subscribe to `P.watch.*.<id>`, then publish the request once on
 *    `P.all.watch` with the target: an outcome reached at once (a file that
 *    already exists) is not missed. The id is the same on every host.
 * 2. Each host ends with one result: its agent's outcome (`met`, `timeout`,
 *    `failed`, `cancelled`), a refusal (`failed` with the wire error), or
 *    what the controller concluded: `noresponse`, `lost` (it went silent,
 *    or said bye, while watching), `timeout` (no outcome by the deadline).
 * 3. `all` (default) is decided once every host met the condition, or as
 *    soon as one host can no longer meet it (failed, refused, no response,
 *    lost: the others are then cancelled at once). A host that timed out
 *    does not cancel the others: they share its deadline. `any` is decided by
 *    the first host that meets it, or once none can.
 * 4. Once decided, an `unwatch` goes to the whole target (the agents that
 *    already ended their watch answer ESRCH) and the controller waits for
 *    the hosts without a result to answer it: an agent answers the watch
 *    before the unwatch, so their refusals and `cancelled` outcomes are in.
 *    Aborting (the `signal` option, or `cancel()`) does the same.
 * 5. After a reconnect of the controller the request goes again to the
 *    hosts without a result (same id and request: an agent still watching
 *    answers `existing`, one that published an outcome meanwhile starts
 *    again, which for a state answers at once); after a `hello` from such a
 *    host (a restarted agent), to that host.
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import type { WireError } from "../protocol/errors.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import { fold } from "../protocol/selector.ts";
import { parseWatchEvent } from "../protocol/watch_messages.ts";
import { Broadcast, type RawReply } from "./broadcast/broadcast.ts";
import { silenceReason } from "./broadcast/expectation.ts";
import type { Scope } from "./broadcast/scope.ts";
import type { Presence } from "../protocol/messages.ts";
import { parseWatchReply } from "../protocol/replies.ts";
import { withTimeout } from "../protocol/runtime/timers.ts";
import {
  type PreparedWatch,
  prepareWatch,
  type WatchHandle,
  type WatchHostResult,
  type WatchHostStatus,
  type WatchOptions,
  type WatchSummary,
  type WatchUpdate,
} from "./watch_request.ts";

/** Past the agents' timeout, how long to wait for their outcomes before concluding `timeout`. */
const DEADLINE_MARGIN_MS = 5000;
/** After `bye`, how long a missing outcome may still arrive (it is published before the bye). */
const BYE_GRACE_MS = 1000;

class WatchOperation extends Broadcast<WatchUpdate, WatchSummary> implements WatchHandle {
  readonly id: string;
  readonly #watching = new Map<string, { started: number; deadline: number }>();
  readonly #results = new Map<string, WatchHostResult>();
  readonly #deadline: number;
  #met = 0;
  /** The first result that makes `all` impossible. */
  #hopeless: WatchHostResult | undefined;
  #armed = false;
  #closing: Promise<WatchSummary> | undefined;
  /** Hosts whose `unwatch` reply is awaited while closing. */
  readonly #unwatching = new Set<string>();
  #unwatched = Promise.withResolvers<void>();

  constructor(scope: Scope, private readonly prep: PreparedWatch) {
    const body = { id: prep.id, condition: prep.condition, timeout: prep.timeout };
    super(scope, prep.resolved, {
      verb: "watch",
      body,
      byeGraceMs: BYE_GRACE_MS,
      presence: true,
      owed: "reporting an outcome",
    });
    this.id = prep.id;
    this.#deadline = this.began + prep.timeout * 1000 + DEADLINE_MARGIN_MS;
    this.listen(scope.link.subjects.watch("*", this.id), (m) => this.#onOutcome(m));
    this.open(prep.signal);
  }

  cancel(): Promise<WatchSummary> {
    this.#close("cancelled by the controller");
    return this.done;
  }

  protected override onAbort(): void {
    this.#close("cancelled by the controller");
  }

  #result(r: WatchHostResult): void {
    if (this.#results.has(r.host)) return;
    this.#results.set(r.host, r);
    this.#watching.delete(r.host);
    this.unfollow(r.host);
    if (r.status === "met") this.#met++;
    else if (r.status !== "timeout") this.#hopeless ??= r;
    this.push({ type: "result", ...r });
    this.#unwatchReplied(r.host);
    this.changed();
  }

  /** A result the controller concluded for `host`, timed from the request. */
  #concluded(host: string, status: WatchHostStatus, error: WireError | string): void {
    const now = Date.now();
    const started = this.#watching.get(host)?.started ?? this.began;
    const r: WatchHostResult = { host, status, elapsed: now - started, at: now, detail: "" };
    if (typeof error === "string") r.detail = error;
    else [r.detail, r.error] = [error.message, error];
    this.#result(r);
  }

  // ------------------------------------------------------------ inputs

  #onOutcome(m: Msg): void {
    const e = parseWatchEvent(decodeMap(m.data));
    this.scope.presence.heard(e.host);
    if (e.watch !== this.id || m.subject !== this.scope.link.subjects.watch(e.host, this.id)) {
      return this.ignore(m.subject, e.host, {
        code: "EBADMSG",
        message: `outcome of watch "${e.watch}" of ${e.host} on another subject`,
      });
    }
    if (!this.answering(e.host, m.subject)) return;
    const { v: _v, condition: _c, watch: _w, ...result } = e;
    this.#result(result);
  }

  protected onReply(kind: string, r: RawReply, m: Msg): void {
    if (kind === "unwatch") return this.#unwatchReplied(r.host);
    if (kind !== "watch" || !this.answering(r.host, m.subject) || this.#results.has(r.host)) return;
    if (!r.ok) {
      const status = r.error.code === "ENORESPONSE" ? "noresponse" : "failed";
      return this.#concluded(r.host, status, r.error);
    }
    const { started, deadline, existing } = parseWatchReply(r);
    const first = !this.#watching.has(r.host);
    this.#watching.set(r.host, { started, deadline });
    this.follow(r.host);
    if (first) {
      this.push({
        type: "watching",
        host: r.host,
        started,
        deadline,
        existing: existing === true,
      });
    }
    // Started while closing: the unwatch sent to the whole target comes after it; await it.
    if (this.#closing) this.#unwatching.add(r.host);
    this.changed();
  }

  protected override onPresence(host: string, p: Presence): void {
    if (p.type !== "hello" || this.#closing) return;
    if (this.#results.has(host) || !this.exp.hosts.has(host)) return;
    // A restarted agent lost the watch; one that reconnected may have missed the request.
    this.send("watch", this.policy.body, this.narrow([host]));
  }

  protected override onReconnect(): void {
    if (this.#closing) return;
    this.exp.restart(Date.now());
    const pending = [...this.exp.hosts].filter((h) => !this.#results.has(h));
    if (this.exp.explicit) {
      if (pending.length > 0) this.send("watch", this.policy.body, this.narrow(pending));
      return;
    }
    // Everyone selected but the hosts already done: a new watch there would stay behind.
    const done = [...this.#results.keys()];
    const target = this.resolved.target;
    const exclude = [target.exclude, done.length > 0 ? fold(done) : undefined]
      .filter((x) => x !== undefined).join(",");
    this.send("watch", this.policy.body, exclude === "" ? target : { ...target, exclude });
  }

  protected lost(host: string, error: WireError): void {
    this.#concluded(host, "lost", error);
  }

  // ------------------------------------------------------------ decisions

  protected decide(now: number): void {
    const hosts = this.exp.hosts;
    if (this.scope.link.connected && this.exp.complete(now) && this.exp.silentCount > 0) {
      const message = silenceReason(this.exp, this.began, this.scope.link.subjects.prefix);
      for (const host of this.exp.silent()) {
        this.#concluded(host, "noresponse", { code: "ENORESPONSE", message });
      }
    }
    if (now >= this.#deadline) {
      for (const host of hosts) {
        if (this.#results.has(host)) continue;
        this.#concluded(host, "timeout", {
          code: "ETIMEDOUT",
          message: `no outcome reported within the ${this.prep.timeout}s timeout`,
        });
      }
    } else this.wakeAt(this.#deadline);
    if (this.#closing) return;
    // Every host with a result is out of `watching`: the two counts add up.
    const placed = this.#results.size + this.#watching.size;
    if (!this.#armed && this.exp.settled(now) && placed >= hosts.size) {
      this.#armed = true;
      const watching = [...this.#watching.keys()].sort(compareHosts);
      this.push({ type: "armed", watching });
    }
    const settled = this.exp.complete(now) && this.#results.size >= hosts.size;
    if (this.prep.mode === "any") {
      if (this.#met > 0) this.#close("another host met the condition");
      else if (settled) this.#close("no host met the condition");
    } else {
      if (this.#hopeless) this.#close(`${this.#hopeless.host} cannot meet the condition`);
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
    const waiting = [...this.exp.hosts].filter((h) => !this.#results.has(h));
    // A glob still discovering may have watches in flight on hosts not heard of yet.
    const mayHold = waiting.length > 0 || !this.exp.complete(Date.now());
    this.#closing = (async () => {
      if (mayHold && this.scope.link.connected) {
        // Each agent answers the watch before the unwatch: once a host has answered the
        // unwatch, its refusal or its `cancelled` outcome is in.
        for (const h of waiting) this.#unwatching.add(h);
        this.send("unwatch", { watches: [this.id] }, this.resolved.target);
        if (this.#unwatching.size > 0) {
          await withTimeout(this.#unwatched.promise, this.scope.times.ackTimeoutMs, () => {});
        }
      }
      for (const host of [...this.exp.hosts].filter((h) => !this.#results.has(h))) {
        if (this.#watching.has(host)) {
          this.#concluded(host, "cancelled", `${why}; the agent did not confirm the cancel`);
        } else {
          this.#concluded(host, "noresponse", {
            code: "ENORESPONSE",
            message: `no answer before the watch ended (${why})`,
          });
        }
      }
      const results = [...this.#results.values()].sort((a, b) => compareHosts(a.host, b.host));
      const ok = this.prep.mode === "any"
        ? this.#met > 0
        : results.length > 0 && this.#met === results.length;
      this.finish({ id: this.id, mode: this.prep.mode, hosts: results, ok });
      return this.done;
    })().catch((e) => {
      this.abort(e);
      return this.done;
    });
    return this.#closing;
  }

  /** The reply to `unwatch`: the cancelled outcome was published before it. */
  #unwatchReplied(host: string): void {
    if (!this.#unwatching.delete(host)) return;
    if (this.#unwatching.size === 0) this.#unwatched.resolve();
  }
}

export function startWatch(scope: Scope, opts: WatchOptions | PreparedWatch): WatchHandle {
  return new WatchOperation(scope, prepareWatch(opts));
}
