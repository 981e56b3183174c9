/**
 * Following the selected hosts as they live: their presence, their machine
 * and process telemetry (`P.tel.<host>`, `P.tel.<host>.procs`, published by
 * agents started with `--telemetry`), and optionally their processes and
 * output. This is what `controller top` and the dashboard consume.
 *
 * The subscriptions are in place before a `ping` goes to the selection, so
 * nothing is missed between the two; the ping's answers say who is up and at
 * what telemetry period (`ready` follows them). A host is reported `down`
 * when it does not answer that ping, says `bye`, or sends nothing (no
 * presence, no telemetry) for three heartbeat periods while the controller
 * is connected; any message from it later brings it back `up`.
 *
 * The stream runs until `close()` or the `signal` aborts.
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import type { PingReply, Presence, ProcInfo, StreamName } from "../protocol/messages.ts";
import {
  type MachineTelemetry,
  parseMachineTelemetry,
  parseProcsTelemetry,
  type ProcsTelemetry,
} from "../protocol/telemetry_messages.ts";
import { Broadcast } from "./broadcast/broadcast.ts";
import type { Scope } from "./broadcast/scope.ts";
import { parseProcInfo, presencePing } from "../protocol/events.ts";
import { parsePingReply, parsePsReply } from "../protocol/replies.ts";
import { fanout } from "./fanout.ts";
import type { Operation } from "./operation.ts";
import { type HostSpec, type ResolvedTarget, resolveTarget } from "./target.ts";

export interface TelemetryOptions extends HostSpec {
  /**
   * Also follow the hosts' processes: every process the agents know (running
   * or kept exited) at the start, then their `started` and `exit` events and
   * their live output.
   */
  processes?: boolean;
  signal?: AbortSignal;
}

export type DownReason = "noresponse" | "bye" | "lost";

export type TelemetryEvent =
  /** The host answered the first ping, or sent presence (`info`: what it says about itself). */
  | { type: "up"; host: string; at: number; info: Partial<PingReply> }
  /** It did not answer the first ping, said bye, or went silent for three heartbeats. */
  | { type: "down"; host: string; at: number; reason: DownReason; lastSeen?: number }
  /** The first ping is over: every selected host has been heard or reported down. */
  | { type: "ready"; at: number }
  | { type: "machine"; host: string; sample: MachineTelemetry }
  | { type: "procs"; host: string; sample: ProcsTelemetry }
  /** (`processes`) A process as the agent knows it: at the start, when it starts and exits. */
  | { type: "proc"; host: string; proc: ProcInfo }
  /** (`processes`) Live output bytes of a process (best effort: this is a view, not `run`). */
  | { type: "output"; host: string; proc: string; stream: StreamName; data: Uint8Array };

export interface TelemetryHandle extends Operation<TelemetryEvent, void> {
  /** Stops following; `done` resolves. */
  close(): Promise<void>;
}

export function startTelemetry(scope: Scope, opts: TelemetryOptions = {}): TelemetryHandle {
  return new TelemetryFollow(scope, resolveTarget(opts), opts);
}

class TelemetryFollow extends Broadcast<TelemetryEvent, void> implements TelemetryHandle {
  readonly #down = new Set<string>();

  constructor(scope: Scope, resolved: ResolvedTarget, private readonly opts: TelemetryOptions) {
    // Nothing is owed: a host that says bye is down at once.
    super(scope, resolved, {
      verb: "telemetry",
      body: {},
      byeGraceMs: 0,
      owed: "a word",
      presence: true,
    });
    const s = scope.link.subjects;
    this.listen(s.tel("*"), (m) => {
      const sample = parseMachineTelemetry(decodeMap(m.data));
      this.#onSample(m, { type: "machine", host: sample.host, sample }, s.tel(sample.host));
    });
    this.listen(s.telProcs("*"), (m) => {
      const sample = parseProcsTelemetry(decodeMap(m.data));
      this.#onSample(m, { type: "procs", host: sample.host, sample }, s.telProcs(sample.host));
    });
    if (opts.processes) this.listen(s.proc("*", "*", "*"), (m) => this.#onProc(m));
    this.open(opts.signal);
  }

  close(): Promise<void> {
    this.finish();
    return this.done;
  }

  protected override onAbort(): void {
    this.finish();
  }

  /** Who is up (a ping), and with `processes`, what they run (a `ps`). */
  protected override begin(): void {
    this.#first(this.opts.processes === true).catch((e) => this.abort(e));
  }

  async #first(processes: boolean): Promise<void> {
    // Ask only once the subscriptions are in place: a sample sent meanwhile is not lost.
    await this.scope.link.flush();
    if (this.ended) return;
    const ping = fanout(
      this.scope,
      { verb: "ping", body: {}, parse: parsePingReply },
      this.resolved,
    );
    const ps = processes
      ? fanout(this.scope, { verb: "ps", body: {}, parse: parsePsReply }, this.resolved)
      : undefined;
    for await (const r of ping) {
      if (this.ended) return;
      const now = Date.now();
      if (r.ok) {
        const { host, ok: _ok, ...info } = r;
        this.#heard(host, now, info);
      } else if (r.error.code === "ENORESPONSE") {
        this.#wentDown(r.host, now, "noresponse");
      }
    }
    if (ps) {
      for await (const r of ps) {
        if (this.ended) return;
        if (!r.ok) continue;
        for (const proc of r.procs) this.push({ type: "proc", host: r.host, proc });
      }
    }
    this.push({ type: "ready", at: Date.now() });
  }

  protected onReply(): void {}

  protected decide(): void {}

  protected lost(host: string): void {
    this.#wentDown(host, Date.now(), "lost");
  }

  #selected(host: string): boolean {
    return this.resolved.matches(host, this.scope.known.get(host)?.labels);
  }

  /** Any message from `host` proves it alive; an `up` event when it was down or new. */
  #heard(host: string, now: number, info?: Partial<PingReply>): void {
    const fresh = this.#down.delete(host) || info !== undefined;
    // The period its ping answer names: a host that dies before its first beat is judged by it.
    this.scope.presence.heard(host, now, info?.heartbeat);
    this.follow(host);
    if (fresh) this.push({ type: "up", host, at: now, info: info ?? {} });
  }

  #wentDown(host: string, now: number, reason: DownReason): void {
    if (this.#down.has(host)) return;
    this.#down.add(host);
    this.unfollow(host);
    this.push({
      type: "down",
      host,
      at: now,
      reason,
      lastSeen: this.scope.known.get(host)?.lastSeen,
    });
  }

  protected override onPresence(host: string, p: Presence, now: number): void {
    if (!this.#selected(host)) return;
    if (p.type === "bye") this.#wentDown(host, now, "bye");
    else this.#heard(host, now, presencePing(p));
  }

  /** A telemetry sample, checked against the subject it came on (the host's own). */
  #onSample(m: Msg, e: TelemetryEvent & { type: "machine" | "procs" }, subject: string): void {
    if (m.subject !== subject) {
      return this.ignore(m.subject, e.host, {
        code: "EBADMSG",
        message: `${e.type} telemetry of ${e.host} on another host's subject`,
      });
    }
    if (!this.#selected(e.host)) return;
    this.#heard(e.host, Date.now());
    this.push(e);
  }

  #onProc(m: Msg): void {
    const where = this.scope.link.subjects.parseProc(m.subject);
    if (!where || !this.#selected(where.host)) return;
    const { host, proc, event } = where;
    if (event === "stdout" || event === "stderr") {
      this.push({ type: "output", host, proc, stream: event, data: m.data });
    } else if (event === "started" || event === "exit") {
      this.push({
        type: "proc",
        host,
        proc: parseProcInfo(decodeMap(m.data), `${event} event`, host),
      });
    }
  }
}
