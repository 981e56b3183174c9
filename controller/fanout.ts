/**
 * One request to many hosts, one reply each (`ping`, `ps`, `signal`,
 * `shutdown`, `programs`): a strategy on the broadcast core. Every expected
 * host ends with its reply or `ENORESPONSE`; after a reconnect the request
 * goes out again to the hosts that have not answered (these verbs are safe
 * to repeat; duplicate replies are dropped).
 *
 * A request with `ack: true` (the slow `programs` actions: until RUNNING,
 * until stoptime has passed) is first acknowledged (`{ok: true, accepted:
 * true}`) and answered later: a host that has not acknowledged within the
 * ack timeout is `ENORESPONSE` as for every fan-out; one that has is
 * followed until its answer, until it is lost (bye, or silent: `ELOST`), or
 * until the action's timeout has passed (`ETIMEDOUT`).
 */
import type { Msg } from "@nats-io/transport-node";
import type { WireError } from "../protocol/errors.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import { Broadcast, type RawReply } from "./broadcast/broadcast.ts";
import { silenceReason } from "./broadcast/expectation.ts";
import type { Scope } from "./broadcast/scope.ts";
import type { PingReply } from "../protocol/messages.ts";
import type { HostReply } from "../protocol/replies.ts";
import type { Operation } from "./operation.ts";
import type { ResolvedTarget } from "./target.ts";

export type FanoutOperation<T> = Operation<HostReply<T>, HostReply<T>[]>;

export interface FanoutRequest<T extends object> {
  verb: string;
  /** The request body (without `v` and `target`). */
  body: object;
  /** The body asks for `ack: true`: hosts acknowledge first and answer within `timeoutS`. */
  acked?: { timeoutS: number };
  /** The fields of an ok reply, checked (a malformed reply is ignored and reported). */
  parse: (fields: Record<string, unknown>) => T;
  /**
   * What an ok reply says about its host (a ping's labels, heartbeat and
   * version), kept in the known-hosts cache with the sighting.
   */
  hostInfo?: (r: T) => Partial<PingReply>;
}

/** How long past an acknowledged action's timeout its answer is still waited for. */
const TIMEOUT_MARGIN_MS = 5000;
/** After `bye`, how long a stopping agent may take to send the answer it owes. */
const BYE_GRACE_MS = 15_000;

export function fanout<T extends object>(
  scope: Scope,
  request: FanoutRequest<T>,
  resolved: ResolvedTarget,
): FanoutOperation<T> {
  return new Fanout<T>(scope, request, resolved);
}

class Fanout<T extends object> extends Broadcast<HostReply<T>, HostReply<T>[]> {
  readonly #replies = new Map<string, HostReply<T>>();
  /** Hosts that acknowledged and owe their answer, in the order they did (time order). */
  readonly #acked = new Map<string, number>();
  readonly #timeoutMs: number;

  constructor(scope: Scope, private readonly request: FanoutRequest<T>, resolved: ResolvedTarget) {
    super(scope, resolved, {
      verb: request.verb,
      body: request.body,
      byeGraceMs: BYE_GRACE_MS,
      owed: "answering",
      // Only hosts that acknowledged are followed: a plain fan-out needs no presence.
      presence: request.acked !== undefined,
    });
    this.#timeoutMs = (request.acked?.timeoutS ?? 0) * 1000;
    this.open();
  }

  protected onReply(kind: string, r: RawReply, m: Msg): void {
    if (kind !== this.request.verb) return;
    if (this.#replies.has(r.host)) return; // a duplicate, after a re-send
    const accepted = this.request.acked !== undefined && r.ok && r.accepted === true;
    const reply: HostReply<T> | undefined = accepted
      ? undefined
      : r.ok
      ? Object.assign(this.request.parse(r), { host: r.host, ok: true as const })
      : r;
    const info = reply?.ok && this.request.hostInfo ? this.request.hostInfo(reply) : undefined;
    if (!this.answering(r.host, m.subject, info)) return;
    if (reply) this.#answer(reply);
    else if (!this.#acked.has(r.host)) {
      this.#acked.set(r.host, Date.now());
      this.follow(r.host);
    }
    this.changed();
  }

  #answer(r: HostReply<T>): void {
    this.#acked.delete(r.host);
    this.unfollow(r.host);
    this.#replies.set(r.host, r);
    this.push(r);
  }

  protected lost(host: string, error: WireError): void {
    if (this.#acked.has(host)) this.#answer({ host, ok: false, error });
  }

  protected decide(now: number): void {
    // Acknowledged in time order: only the oldest ones can be past their timeout.
    for (const [host, at] of this.#acked) {
      if (now - at <= this.#timeoutMs + TIMEOUT_MARGIN_MS) {
        this.wakeAt(at + this.#timeoutMs + TIMEOUT_MARGIN_MS + 1);
        break;
      }
      this.#answer({
        host,
        ok: false,
        error: {
          code: "ETIMEDOUT",
          message: `acknowledged, but no result within ${this.#timeoutMs / 1000}s`,
        },
      });
    }
    // While disconnected, silence proves nothing: wait for the link (and the re-send).
    if (!this.scope.link.connected || !this.exp.complete(now) || this.#acked.size > 0) return;
    const message = silenceReason(this.exp, this.began, this.scope.link.subjects.prefix);
    for (const host of this.exp.silent()) {
      if (!this.#replies.has(host)) {
        this.#answer({ host, ok: false, error: { code: "ENORESPONSE", message } });
      }
    }
    this.finish([...this.#replies.values()].sort((a, b) => compareHosts(a.host, b.host)));
  }
}
