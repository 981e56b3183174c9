/**
 * `programs` on many hosts: ONE broadcast on `P.all.programs`, one reply per
 * host. Start, stop, restart, reload and apply may take a while on the
 * agents (until RUNNING, until stoptime has passed), longer than a silent
 * host should be waited for, so they ask for an early acknowledgement
 * (`ack: true`): a host that has not acknowledged within the ack timeout is
 * `ENORESPONSE` (as for every fan-out), one that has is waited for until
 * its result, until it is lost (bye, or three heartbeats missed: `ELOST`),
 * or until the action's timeout has passed (`ETIMEDOUT`).
 *
 * After a reconnect the request goes out again to the hosts that have not
 * acknowledged it (each action is safe to repeat there: it never reached
 * them, or it did and they answer again with the same result).
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import { TuttiError } from "../protocol/errors.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import {
  checkProgramPattern,
  CONFIG_MAX,
  NAMED_ACTIONS,
  PROGRAM_ACTIONS,
  type ProgramAction,
  type ProgramsReply,
  type ProgramsRequest,
  SLOW_ACTIONS,
} from "../protocol/program_messages.ts";
import { fold } from "../protocol/selector.ts";
import type { Target } from "../protocol/messages.ts";
import { isNoRespondersMsg } from "./connection.ts";
import type { HostReply } from "./events.ts";
import { Expectation, silenceReason } from "./expectation.ts";
import { parseReply, type Scope } from "./fanout.ts";
import { Liveness } from "./liveness.ts";
import { Channel, type Operation } from "./operation.ts";
import { type HostSpec, type ResolvedTarget, resolveTarget } from "./target.ts";

export interface ProgramsOptions extends HostSpec {
  /**
   * Processes (`web:0`, `nginx`), programs (`web`), `web:*` or `all`.
   * Needed by start, stop and restart; status without names lists all.
   */
  names?: string[];
  /** apply: the YAML text of the configuration to push. */
  config?: string;
  /** apply: the file name the agents use in messages (default `pushed`). */
  file?: string;
  /** Seconds the agents may take to finish the action (default 60). */
  timeout?: number;
}

export type ProgramsOperation = Operation<HostReply<ProgramsReply>, HostReply<ProgramsReply>[]>;

/** How long past the action's timeout a host's answer is still waited for. */
const TIMEOUT_MARGIN_MS = 5000;
/** After `bye`, how long a stopping agent may take to send the result it owes. */
const BYE_GRACE_MS = 15_000;
const TICK_MS = 200;
export const DEFAULT_PROGRAMS_TIMEOUT_S = 60;

/** The checked wire request: throws EINVAL (bad action, name, config) before anything is sent. */
export function programsRequest(action: ProgramAction, opts: ProgramsOptions): ProgramsRequest {
  if (!PROGRAM_ACTIONS.includes(action)) {
    throw new TuttiError(
      "EINVAL",
      `unknown action ${JSON.stringify(action)}: ${PROGRAM_ACTIONS.join(", ")}`,
    );
  }
  const names = opts.names ?? [];
  for (const n of names) checkProgramPattern("name", n);
  if (NAMED_ACTIONS.includes(action) && names.length === 0) {
    throw new TuttiError("EINVAL", `${action} needs at least one name (or all)`);
  }
  const req: ProgramsRequest = { action };
  if (names.length > 0) req.names = [...names];
  if (action === "apply") {
    if (opts.config === undefined) throw new TuttiError("EINVAL", "apply needs the configuration");
    if (opts.config.length > CONFIG_MAX) {
      throw new TuttiError("EINVAL", `the configuration is larger than ${CONFIG_MAX} characters`);
    }
    req.config = opts.config;
    if (opts.file !== undefined) req.file = opts.file;
  }
  if (SLOW_ACTIONS.includes(action)) {
    req.ack = true;
    const t = opts.timeout ?? DEFAULT_PROGRAMS_TIMEOUT_S;
    if (!(t > 0)) throw new TuttiError("EINVAL", `timeout ${t}: expected seconds > 0`);
    req.timeout = t;
  }
  return req;
}

export function startPrograms(
  scope: Scope,
  action: ProgramAction,
  opts: ProgramsOptions,
): ProgramsOperation {
  const resolved = resolveTarget(opts);
  const request = programsRequest(action, opts);
  return new AckedFanout<ProgramsReply>(scope, "programs", request, resolved);
}

interface Pending {
  acked: number;
  byeAt?: number;
}

/**
 * A fan-out whose hosts may acknowledge first (`{ok: true, accepted: true}`)
 * and answer later. Without `ack` in the request, the reply is the answer.
 */
export class AckedFanout<T> extends Channel<HostReply<T>, HostReply<T>[]> {
  readonly #replies = new Map<string, HostReply<T>>();
  readonly #pending = new Map<string, Pending>();
  readonly #exp: Expectation;
  readonly #liveness = new Liveness();
  readonly #inbox: string;
  readonly #cleanup: (() => void)[] = [];
  readonly #sent = Date.now();
  readonly #timeoutMs: number;

  constructor(
    private readonly scope: Scope,
    private readonly verb: string,
    private readonly body: { timeout?: number; ack?: boolean },
    private readonly resolved: ResolvedTarget,
  ) {
    super();
    const { link } = scope;
    this.#timeoutMs = (body.timeout ?? DEFAULT_PROGRAMS_TIMEOUT_S) * 1000;
    this.#exp = new Expectation(resolved, scope.known, scope.times, this.#sent);
    this.#inbox = link.inbox();
    const subs = [link.subscribe(this.#inbox, (m) => this.#guard(() => this.#onReply(m)))];
    if (body.ack) {
      subs.push(
        link.subscribe(link.subjects.presence("*"), (m) => this.#guard(() => this.#onPresence(m))),
      );
    }
    this.#cleanup.push(() => subs.forEach((s) => s.unsubscribe()));
    this.#cleanup.push(link.onLink((e) => this.#guard(() => e === "reconnect" && this.#resend())));
    this.#cleanup.push(link.onDenied((e) => {
      this.#stop();
      this.fail(e);
    }));
    const tick = setInterval(() => this.#guard(() => this.#check()), TICK_MS);
    this.#cleanup.push(() => clearInterval(tick));
    try {
      this.#send(resolved.target);
    } catch (e) {
      this.#stop();
      this.fail(e);
    }
  }

  #guard(fn: () => void): void {
    if (this.ended) return;
    try {
      fn();
    } catch (e) {
      this.#stop();
      this.fail(e);
    }
  }

  #send(target: Target): void {
    const { link } = this.scope;
    link.send(link.subjects.all(this.verb), this.verb, this.body, this.#inbox, target);
  }

  #onReply(m: Msg): void {
    if (isNoRespondersMsg(m)) {
      this.#exp.nobody();
      return this.#check();
    }
    const r = parseReply<T & { accepted?: boolean }>(m);
    if (!r || this.#replies.has(r.host) || !this.#exp.answer(r.host, Date.now())) return;
    this.scope.known.seen(r.host);
    if (r.ok && r.accepted === true) {
      if (!this.#pending.has(r.host)) {
        const now = Date.now();
        this.#pending.set(r.host, { acked: now });
        this.#liveness.watch(r.host, now, this.scope.known.get(r.host)?.heartbeat);
      }
    } else {
      this.#answer(r as HostReply<T>);
    }
    this.#check();
  }

  #answer(r: HostReply<T>): void {
    this.#pending.delete(r.host);
    this.#liveness.unwatch(r.host);
    this.#replies.set(r.host, r);
    this.push(r);
  }

  #onPresence(m: Msg): void {
    const host = m.subject.slice(this.scope.link.subjects.presence("").length);
    const p = this.#pending.get(host);
    if (!p) return;
    let body: Record<string, unknown>;
    try {
      body = decodeMap(m.data);
    } catch {
      return;
    }
    const now = Date.now();
    const heartbeat = typeof body.heartbeat === "number" ? body.heartbeat : undefined;
    this.#liveness.heard(host, now, heartbeat);
    if (body.type === "bye") p.byeAt ??= now;
    else if (body.type === "hello") p.byeAt = undefined;
  }

  /** After a reconnect: the request again, to those that have not acknowledged it. */
  #resend(): void {
    const now = Date.now();
    this.#liveness.restart(now);
    const silent = this.#exp.silent();
    if (!this.#exp.explicit || silent.length > 0) {
      this.#exp.restart(now);
      const target = this.resolved.target;
      this.#send(this.#exp.explicit ? { ...target, hosts: fold(silent) } : target);
    }
    this.#check();
  }

  #check(): void {
    const now = Date.now();
    if (this.scope.link.connected) {
      for (const { host, ms } of this.#liveness.silent(now)) {
        if (!this.#pending.has(host)) continue;
        this.#answer({
          host,
          ok: false,
          error: {
            code: "ELOST",
            message: `no heartbeat from ${host} for ${(ms / 1000).toFixed(1)}s`,
          },
        });
      }
      for (const [host, p] of this.#pending) {
        if (p.byeAt !== undefined && now - p.byeAt > BYE_GRACE_MS) {
          this.#answer({
            host,
            ok: false,
            error: { code: "ELOST", message: "the agent stopped (bye) without answering" },
          });
        }
      }
    }
    for (const [host, p] of this.#pending) {
      if (now - p.acked > this.#timeoutMs + TIMEOUT_MARGIN_MS) {
        this.#answer({
          host,
          ok: false,
          error: {
            code: "ETIMEDOUT",
            message: `acknowledged, but no result within ${this.#timeoutMs / 1000}s`,
          },
        });
      }
    }
    // While disconnected, silence proves nothing: wait for the link (and the re-send).
    if (!this.scope.link.connected || !this.#exp.complete(now) || this.#pending.size > 0) return;
    this.#stop();
    const message = silenceReason(this.#exp, this.#sent, this.scope.link.subjects.prefix);
    for (const host of this.#exp.silent()) {
      if (this.#replies.has(host)) continue;
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
