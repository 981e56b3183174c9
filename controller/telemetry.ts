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
import type { PingReply, ProcInfo, PsReply, StreamName } from "../protocol/messages.ts";
import {
  type MachineTelemetry,
  parseMachineTelemetry,
  parseProcsTelemetry,
  type ProcsTelemetry,
} from "../protocol/telemetry_messages.ts";
import { fanout, type Scope } from "./fanout.ts";
import { Liveness } from "./liveness.ts";
import { Channel, type Operation } from "./operation.ts";
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

const TICK_MS = 500;

export function startTelemetry(scope: Scope, opts: TelemetryOptions = {}): TelemetryHandle {
  return new TelemetryFollow(scope, resolveTarget(opts), opts);
}

class TelemetryFollow extends Channel<TelemetryEvent, void> implements TelemetryHandle {
  readonly #liveness = new Liveness();
  readonly #down = new Set<string>();
  readonly #cleanup: (() => void)[] = [];

  constructor(
    private readonly scope: Scope,
    private readonly resolved: ResolvedTarget,
    opts: TelemetryOptions,
  ) {
    super();
    const { link } = scope;
    const s = link.subjects;
    const subs = [
      link.subscribe(s.tel("*"), (m) => this.#guard(() => this.#onMachine(m))),
      link.subscribe(s.telProcs("*"), (m) => this.#guard(() => this.#onProcs(m))),
      link.subscribe(s.presence("*"), (m) => this.#guard(() => this.#onPresence(m))),
    ];
    if (opts.processes) {
      subs.push(link.subscribe(s.proc("*", "*", "*"), (m) => this.#guard(() => this.#onProc(m))));
    }
    this.#cleanup.push(() => subs.forEach((sub) => sub.unsubscribe()));
    this.#cleanup.push(link.onLink((e) => e === "reconnect" && this.#liveness.restart(Date.now())));
    this.#cleanup.push(link.onDenied((e) => {
      this.#stop();
      this.fail(e);
    }));
    const tick = setInterval(() => this.#guard(() => this.#check()), TICK_MS);
    this.#cleanup.push(() => clearInterval(tick));
    if (opts.signal) {
      const abort = () => void this.close();
      if (opts.signal.aborted) queueMicrotask(abort);
      opts.signal.addEventListener("abort", abort, { once: true });
      this.#cleanup.push(() => opts.signal!.removeEventListener("abort", abort));
    }
    this.#first(opts.processes === true).catch((e) => {
      this.#stop();
      this.fail(e);
    });
  }

  close(): Promise<void> {
    this.#stop();
    this.end();
    return this.done;
  }

  /** Who is up (the ping), and with `processes`, what they run (a `ps`). */
  async #first(processes: boolean): Promise<void> {
    // Ask only once the subscriptions are in place: a sample sent meanwhile is not lost.
    await this.scope.link.flush();
    if (this.ended) return;
    const ping = fanout<PingReply>(this.scope, "ping", {}, this.resolved);
    const ps = processes ? fanout<PsReply>(this.scope, "ps", {}, this.resolved) : undefined;
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
        if (!r.ok || !Array.isArray(r.procs)) continue;
        for (const proc of r.procs) this.push({ type: "proc", host: r.host, proc });
      }
    }
    this.push({ type: "ready", at: Date.now() });
  }

  #guard(fn: () => void): void {
    if (this.ended) return;
    try {
      fn();
    } catch {
      // A body that does not decode or parse is someone else's problem: skip it.
    }
  }

  #selected(host: string): boolean {
    return this.resolved.matches(host, this.scope.known.get(host)?.labels);
  }

  /** Any message from `host` proves it alive; an `up` event when it was down or new. */
  #heard(host: string, now: number, info?: Partial<PingReply>): void {
    const period = typeof info?.heartbeat === "number" ? info.heartbeat : undefined;
    const fresh = this.#down.delete(host) || info !== undefined;
    this.#liveness.watch(host, now, period ?? this.scope.known.get(host)?.heartbeat);
    this.#liveness.heard(host, now, period);
    if (fresh) this.push({ type: "up", host, at: now, info: info ?? {} });
  }

  #wentDown(host: string, now: number, reason: DownReason): void {
    if (this.#down.has(host)) return;
    this.#down.add(host);
    this.#liveness.unwatch(host);
    this.push({
      type: "down",
      host,
      at: now,
      reason,
      lastSeen: this.scope.known.get(host)?.lastSeen,
    });
  }

  #onPresence(m: Msg): void {
    const host = m.subject.slice(this.scope.link.subjects.presence("").length);
    const body = decodeMap(m.data);
    const now = Date.now();
    const { v: _v, type, host: _h, ...info } = body;
    this.scope.known.seen(host, info as Partial<PingReply>, now);
    if (!this.#selected(host)) return;
    if (type === "bye") this.#wentDown(host, now, "bye");
    else this.#heard(host, now, info as Partial<PingReply>);
  }

  #onMachine(m: Msg): void {
    const sample = parseMachineTelemetry(decodeMap(m.data));
    if (m.subject !== this.scope.link.subjects.tel(sample.host) || !this.#selected(sample.host)) {
      return;
    }
    this.#heard(sample.host, Date.now());
    this.push({ type: "machine", host: sample.host, sample });
  }

  #onProcs(m: Msg): void {
    const sample = parseProcsTelemetry(decodeMap(m.data));
    const s = this.scope.link.subjects;
    if (m.subject !== s.telProcs(sample.host) || !this.#selected(sample.host)) return;
    this.#heard(sample.host, Date.now());
    this.push({ type: "procs", host: sample.host, sample });
  }

  #onProc(m: Msg): void {
    const where = this.scope.link.subjects.parseProc(m.subject);
    if (!where || !this.#selected(where.host)) return;
    const { host, proc, event } = where;
    if (event === "stdout" || event === "stderr") {
      this.push({ type: "output", host, proc, stream: event, data: m.data });
    } else if (event === "started" || event === "exit") {
      const { v: _v, ...info } = decodeMap(m.data);
      if (typeof info.id !== "string" || (info.state !== "running" && info.state !== "exited")) {
        return;
      }
      this.push({ type: "proc", host, proc: info as unknown as ProcInfo });
    }
  }

  #check(): void {
    if (!this.scope.link.connected) return;
    const now = Date.now();
    for (const { host } of this.#liveness.silent(now)) this.#wentDown(host, now, "lost");
  }

  #stop(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
  }
}
