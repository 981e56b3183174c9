/**
 * One request to many hosts (`ping`, `ps`, `signal`): ONE broadcast on
 * `P.all.<verb>` with the target, replies collected on one inbox, every
 * expected host ending with its reply or `ENORESPONSE`. After a reconnect the
 * request goes out again to the hosts that have not answered (these verbs
 * are safe to repeat; duplicates are dropped).
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import { isErrorCode, type WireError } from "../protocol/errors.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import { fold } from "../protocol/selector.ts";
import type { PingReply, Target } from "../protocol/messages.ts";
import type { HostReply } from "./events.ts";
import { Expectation, type ExpectationTimes, silenceReason } from "./expectation.ts";
import { isNoRespondersMsg, type Link } from "./connection.ts";
import type { KnownHosts } from "./known_hosts.ts";
import { Channel, type Operation } from "./operation.ts";
import type { ResolvedTarget } from "./target.ts";

/** What every operation needs from the controller. */
export interface Scope {
  link: Link;
  known: KnownHosts;
  times: ExpectationTimes;
}

export function fanout<T>(
  scope: Scope,
  verb: string,
  body: object,
  resolved: ResolvedTarget,
): Operation<HostReply<T>, HostReply<T>[]> {
  return new Fanout<T>(scope, verb, body, resolved);
}

class Fanout<T> extends Channel<HostReply<T>, HostReply<T>[]> {
  readonly #replies = new Map<string, HostReply<T>>();
  readonly #exp: Expectation;
  readonly #inbox: string;
  readonly #sent = Date.now();
  readonly #cleanup: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly scope: Scope,
    private readonly verb: string,
    private readonly body: object,
    private readonly resolved: ResolvedTarget,
  ) {
    super();
    const { link } = scope;
    this.#exp = new Expectation(resolved, scope.known, scope.times, this.#sent);
    this.#inbox = link.inbox();
    const sub = link.subscribe(this.#inbox, (m) => this.#onReply(m));
    this.#cleanup.push(() => sub.unsubscribe());
    this.#cleanup.push(link.onLink((e) => e === "reconnect" && this.#resend()));
    this.#cleanup.push(link.onDenied((e) => {
      this.#stop();
      this.fail(e);
    }));
    this.#cleanup.push(() => clearTimeout(this.#timer));
    try {
      this.#send(resolved.target);
    } catch (e) {
      this.#stop();
      this.fail(e);
      return;
    }
    this.#check();
  }

  #send(target: Target): void {
    const { link } = this.scope;
    link.send(link.subjects.all(this.verb), this.verb, this.body, this.#inbox, target);
  }

  #onReply(m: Msg): void {
    if (this.ended) return;
    if (isNoRespondersMsg(m)) {
      this.#exp.nobody();
      return this.#check();
    }
    const r = parseReply<T>(m);
    if (!r || this.#replies.has(r.host) || !this.#exp.answer(r.host, Date.now())) return;
    this.scope.known.seen(
      r.host,
      this.verb === "ping" && r.ok ? r as Partial<PingReply> : undefined,
    );
    this.#replies.set(r.host, r);
    this.push(r);
    this.#check();
  }

  /** After a reconnect: the request again, to those that have not answered. */
  #resend(): void {
    if (this.ended) return;
    const silent = this.#exp.silent();
    if (!this.#exp.explicit || silent.length > 0) {
      this.#exp.restart(Date.now());
      const target = this.resolved.target;
      this.#send(this.#exp.explicit ? { ...target, hosts: fold(silent) } : target);
    }
    this.#check();
  }

  #check(): void {
    if (this.ended) return;
    clearTimeout(this.#timer);
    const now = Date.now();
    // While disconnected, silence proves nothing: wait for the link (and the re-send).
    if (this.scope.link.connected && this.#exp.complete(now)) return this.#finish();
    const next = [this.#exp.settledAt(), this.#exp.overdueAt()].filter((t) => t > now);
    const at = next.length > 0 ? Math.min(...next) : now + 100;
    this.#timer = setTimeout(() => this.#check(), at - now);
  }

  #finish(): void {
    this.#stop();
    const message = silenceReason(this.#exp, this.#sent, this.scope.link.subjects.prefix);
    for (const host of this.#exp.silent()) {
      const r: HostReply<T> = { host, ok: false, error: { code: "ENORESPONSE", message } };
      this.#replies.set(host, r);
      this.push(r);
    }
    this.end([...this.#replies.values()].sort((a, b) => compareHosts(a.host, b.host)));
  }

  #stop(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
  }
}

/** A reply as a `HostReply`, or null when it is not one (then it is ignored). */
export function parseReply<T>(m: Msg): HostReply<T> | null {
  let body: Record<string, unknown>;
  try {
    body = decodeMap(m.data);
  } catch {
    return null;
  }
  const host = body.host;
  if (typeof host !== "string") return null;
  if (body.ok === true) {
    const { v: _v, ok: _ok, host: _host, ...rest } = body;
    return { host, ok: true, ...(rest as T) };
  }
  return { host, ok: false, error: wireError(body.error) };
}

/** The `error` of a failed reply, made safe to print whatever the peer sent. */
export function wireError(x: unknown): WireError {
  const e = x as { code?: unknown; message?: unknown } | undefined;
  const code = isErrorCode(e?.code) ? e.code : "EINTERNAL";
  const message = typeof e?.message === "string"
    ? e.message
    : `malformed error reply (${JSON.stringify(e?.code ?? null)})`;
  return { code, message };
}
