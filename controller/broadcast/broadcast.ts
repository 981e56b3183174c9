/**
 * The broadcast core: the one mechanism under every controller operation.
 * An operation (`run`, `watch`, a fan-out, `programs`, telemetry) is a small
 * strategy on it that says what it sends and how it decides a host is done;
 * everything else is here, written and tested once:
 *
 * - one reply subscription (`P.reply.<id>.>`: a request of verb V goes out
 *   with the reply subject `P.reply.<id>.V`, and host H answers on
 *   `P.reply.<id>.V.H`; one operation may send several verbs) and the
 *   strategy's own subscriptions, all made before the first request leaves,
 *   all removed when the operation ends;
 * - expectations: which hosts must answer, and when silence becomes
 *   "no response" (expectation.ts); narrowing a re-sent request to some
 *   hosts;
 * - presence, from the connection's one tracker (presence.ts): the hosts the
 *   strategy `follow`s are lost (`ELOST`) when they say `bye` and owe an
 *   answer past a grace, or go silent for three heartbeats (followed.ts);
 * - the link: after a reconnect the strategy re-sends (by default the
 *   request again to the hosts that have not answered); a permission the
 *   server refuses fails the operation with `EPERM` at once;
 * - decisions: `decide(now)` runs once per burst of messages (a microtask
 *   after a change), on every tick, and at the expectation's deadlines, so
 *   the work per reply stays constant however many hosts answer.
 *
 * A reply's host is the last token of its subject, which the server's
 * permissions let only that host's key publish (protocol/permissions.ts);
 * a reply whose body names another host is refused (`EBADMSG`), so no
 * agent answers for another, not even inside a broadcast.
 *
 * The guard policy, one for every operation: a message from a peer that
 * does not decode or parse (`EBADMSG`, `EPROTO`, thrown only by protocol/
 * parsers), or that comes from a host the operation is not about, is
 * counted (`ignored`) and reported to the connection's diagnostics; it is
 * never fatal and never silent. Anything else thrown while handling a
 * message is a bug of the controller: the operation ends with `EINTERNAL`,
 * the original error as its `cause` (the CLI prints its stack).
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../../protocol/codec.ts";
import { TuttiError, type WireError } from "../../protocol/errors.ts";
import type { Target } from "../../protocol/messages.ts";
import { fold } from "../../protocol/selector.ts";
import { isNoRespondersMsg } from "../connection.ts";
import { Channel } from "../operation.ts";
import type { ResolvedTarget } from "../target.ts";
import { Expectation } from "./expectation.ts";
import { Followed } from "./followed.ts";
import type { PingReply, Presence } from "../../protocol/messages.ts";
import { type HostReply, parseReply } from "../../protocol/replies.ts";
import type { Scope } from "./scope.ts";

/** How often deadlines, byes and silences are looked at. */
const TICK_MS = 200;

export interface BroadcastPolicy {
  /** The operation's request verb; it also names the operation in diagnostics. */
  verb: string;
  /** The request's body (without `v` and `target`), sent by the default `begin`. */
  body: object;
  /** After a followed host said `bye`, how long its answer may still come. */
  byeGraceMs: number;
  /** What such a host failed to do, for the ELOST message ("reporting an exit"). */
  owed: string;
  /**
   * Whether the operation listens to presence (hello, bye, beats): needed to
   * follow hosts. A plain fan-out does without, and so spares the
   * connection every agent's heartbeat while it runs.
   */
  presence: boolean;
}

/** The reply fields of a host, not yet parsed for the verb. */
export type RawReply = HostReply<Record<string, unknown>>;

export abstract class Broadcast<E, R> extends Channel<E, R> {
  protected readonly exp: Expectation;
  /** When the operation began (its first request), ms since the epoch. */
  protected readonly began = Date.now();
  /** The token of this operation's reply subjects. */
  readonly #replyId: string;
  readonly #cleanup: (() => void)[] = [];
  readonly #followed: Followed;
  #decideQueued = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #ignored = 0;

  constructor(
    protected readonly scope: Scope,
    protected readonly resolved: ResolvedTarget,
    protected readonly policy: BroadcastPolicy,
  ) {
    super();
    this.exp = new Expectation(resolved, scope.known, scope.times, this.began);
    this.#replyId = scope.link.replyId();
    this.#followed = new Followed(
      scope.presence,
      policy,
      (host, error) => this.lost(host, error),
      (fn) =>
        this.#guard(() => {
          if (!this.scope.link.connected) return;
          fn();
          this.changed();
        }, "liveness"),
    );
  }

  /** Messages from peers this operation ignored (see the guard policy above). */
  get ignored(): number {
    return this.#ignored;
  }

  /** Hosts expected so far (named, known and matching, or answering). */
  get expected(): number {
    return this.exp.hosts.size;
  }

  // ------------------------------------------------------------ for strategies

  /**
   * Subscribes to replies and presence, watches the link, then `begin`s.
   * The last call of a strategy's constructor, after its own `listen`s.
   */
  protected open(signal?: AbortSignal): void {
    try {
      const { link } = this.scope;
      this.listen(link.subjects.replies(this.#replyId), (m) => this.#onReply(m));
      if (this.policy.presence) {
        this.#cleanup.push(
          this.scope.presence.listen((host, p, now) =>
            this.#guard(() => this.#onPresence(host, p, now), `presence of ${host}`, host)
          ),
        );
      }
      this.#cleanup.push(
        link.onLink((e) => this.#guard(() => e === "reconnect" && this.onReconnect(), "link")),
        link.onDenied((e) => this.abort(e)),
      );
      const tick = setInterval(() => this.#guard(() => this.#tick(), "tick"), TICK_MS);
      this.#cleanup.push(() => clearInterval(tick), () => clearTimeout(this.#timer));
      if (signal) {
        const abort = () => this.#guard(() => this.onAbort(), "abort");
        if (signal.aborted) queueMicrotask(abort);
        signal.addEventListener("abort", abort, { once: true });
        this.#cleanup.push(() => signal.removeEventListener("abort", abort));
      }
      this.begin();
      this.changed();
    } catch (e) {
      this.abort(e);
    }
  }

  /** A subscription of the operation, guarded, removed when it ends. */
  protected listen(subject: string, fn: (m: Msg) => void): void {
    const sub = this.scope.link.subscribe(subject, (m) => this.#guard(() => fn(m), m.subject));
    this.#cleanup.push(() => sub.unsubscribe());
  }

  /** Publishes `verb` to the target's agents; their replies come to `onReply(verb, ...)`. */
  protected send(verb: string, body: object, target: Target): void {
    const { link } = this.scope;
    link.send(
      link.subjects.all(verb),
      verb,
      body,
      link.subjects.replyTo(this.#replyId, verb),
      target,
    );
  }

  /** The original target, limited to `hosts` (exclude and labels still apply). */
  protected narrow(hosts: string[]): Target {
    return { ...this.resolved.target, hosts: fold(hosts) };
  }

  /**
   * Whether `host` is one this operation is about, recording its first
   * answer (and in the known-hosts cache, what `info` says of it). A host a
   * named selection does not name is reported as ignored.
   */
  protected answering(host: string, subject: string, info?: Partial<PingReply>): boolean {
    if (this.exp.answered.has(host)) {
      if (info) this.scope.known.seen(host, info);
      return true;
    }
    if (!this.exp.answer(host, Date.now())) {
      this.ignore(subject, host, {
        code: "EINVAL",
        message: `${host} answered, but the selection does not name it`,
      });
      return false;
    }
    this.scope.known.seen(host, info);
    return true;
  }

  /** From now on `host` owes an answer: it is lost if it says bye or goes silent. */
  protected follow(host: string): void {
    this.#followed.add(host);
  }

  protected unfollow(host: string): void {
    this.#followed.delete(host);
  }

  /** Decide on the next turn: one decision for a whole burst of messages. */
  protected changed(): void {
    if (this.#decideQueued || this.ended) return;
    this.#decideQueued = true;
    queueMicrotask(() => {
      this.#decideQueued = false;
      this.#guard(() => this.#decide(), "decide");
    });
  }

  /** Also decide at `at` (a strategy's own deadline). */
  protected wakeAt(at: number): void {
    if (at >= this.#timerAt || this.ended) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      this.#guard(() => this.#decide(), "decide");
    }, Math.max(0, at - Date.now()));
  }

  /** Counts and reports a message that cannot be used. */
  protected ignore(subject: string, host: string | undefined, error: WireError): void {
    this.#ignored++;
    this.scope.diagnostics.ignored({
      op: this.policy.verb,
      subject,
      ...(host === undefined ? {} : { host }),
      error,
      at: Date.now(),
    });
  }

  /** Ends the operation with its result, removing every subscription and timer. */
  protected finish(result: R): void {
    this.#stop();
    this.end(result);
  }

  /** Ends the operation with an error. */
  protected abort(error: unknown): void {
    this.#stop();
    this.fail(error);
  }

  // ------------------------------------------------------------ hooks

  /** Sends the first request (default: the policy's verb and body to the whole target). */
  protected begin(): void {
    this.send(this.policy.verb, this.policy.body, this.resolved.target);
  }

  /** A host's reply: `kind` is the verb it answers, `reply.host` the subject's host. */
  protected abstract onReply(kind: string, reply: RawReply, m: Msg): void;

  /** Decides what can be decided now (hosts done, the end); runs often, must be cheap. */
  protected abstract decide(now: number): void;

  /** A followed host was lost (bye without an answer, or silent). */
  protected abstract lost(host: string, error: WireError): void;

  /** Presence from any host (after the core's own bookkeeping). */
  protected onPresence(_host: string, _p: Presence, _now: number): void {}

  /**
   * After a reconnect: the request again, to the hosts that have not
   * answered (a named selection), or to the whole target (discovery).
   */
  protected onReconnect(): void {
    const silent = this.exp.silent();
    if (this.exp.explicit && silent.length === 0) return;
    this.exp.restart(Date.now());
    this.send(
      this.policy.verb,
      this.policy.body,
      this.exp.explicit ? this.narrow(silent) : this.resolved.target,
    );
    this.changed();
  }

  /** The caller's AbortSignal fired. */
  protected onAbort(): void {
    this.abort(new DOMException(`${this.policy.verb} aborted`, "AbortError"));
  }

  // ------------------------------------------------------------ the mechanism

  #onReply(m: Msg): void {
    const where = this.scope.link.subjects.parseReply(m.subject, this.#replyId);
    if (where?.host === null && isNoRespondersMsg(m)) {
      // Nobody at all listens on `P.all.<verb>`: no agent of this prefix is connected.
      if (where.kind === this.policy.verb) this.exp.nobody();
      return this.changed();
    }
    if (!where?.host) {
      throw new TuttiError("EBADMSG", "not an answer: its subject must end in the host's name");
    }
    const { kind, host } = where;
    const reply = parseReply(decodeMap(m.data), (fields) => fields);
    if (reply.host !== host) {
      return this.ignore(m.subject, host, {
        code: "EBADMSG",
        message: `a reply on ${host}'s subject says it is from ${JSON.stringify(reply.host)}`,
      });
    }
    this.scope.presence.heard(host);
    this.onReply(kind, reply, m);
  }

  #onPresence(host: string, p: Presence, now: number): void {
    this.#followed.heard(host, p, now);
    this.onPresence(host, p, now);
  }

  #tick(): void {
    if (this.scope.link.connected && this.#followed.size > 0) this.#followed.check(Date.now());
    this.#decide();
  }

  #decide(): void {
    if (this.ended) return;
    const now = Date.now();
    this.decide(now);
    if (this.ended) return;
    // Discovery's end and "no response" are decided on time, not on the next tick.
    const next = Math.min(
      ...[this.exp.settledAt(), this.exp.overdueAt()].filter((t) => t > now),
    );
    if (Number.isFinite(next)) this.wakeAt(next);
  }

  /**
   * Runs `fn` for one input. A peer's malformed message is ignored and
   * reported; anything else thrown is the controller's bug: EINTERNAL.
   */
  #guard(fn: () => void, subject: string, host?: string): void {
    if (this.ended) return;
    try {
      fn();
    } catch (e) {
      if (e instanceof TuttiError && (e.code === "EBADMSG" || e.code === "EPROTO")) {
        return this.ignore(subject, host, e.toWire());
      }
      const why = e instanceof Error ? e.message : String(e);
      this.abort(
        new TuttiError("EINTERNAL", `${this.policy.verb}: internal error: ${why}`, { cause: e }),
      );
    }
  }

  #stop(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
  }
}
