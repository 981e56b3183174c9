/**
 * `run` on many hosts: ONE broadcast, then every host followed to its exit
 * status, with nothing lost on the way. A strategy on the broadcast core
 * (broadcast/broadcast.ts), which owns the inbox, presence, liveness,
 * expectations and the guard policy.
 *
 * 1. Subscribe to `P.proc.*.<id>.>`, then publish the request once on
 *    `P.all.run` with the target. The id is the same on every host (chosen
 *    by `prepareRun` when the caller did not), so the process can be
 *    addressed later as a group, and a re-sent request never starts a
 *    second copy.
 * 2. Each host's events drive its `HostRun` (host_run.ts), which completes
 *    the output from the spool before reporting the exit.
 * 3. Re-sync: after a reconnect of the controller, on a `hello` from a host
 *    still pending, and every `resyncMs`, a `ps` for the id to the pending
 *    hosts recovers exits whose events were lost; an agent that no longer
 *    knows the id was restarted (`ELOST`). Hosts that never acked get the
 *    request again (same id: at most one process).
 * 4. A running host is followed: lost (`ELOST`) when its agent says `bye`
 *    and reports no exit, or goes silent (the core's rule); with a
 *    `timeout`, stragglers past timeout + grace + a margin are `ETIMEDOUT`.
 * 5. With `stdin`, an `InputFeed` (run_input.ts) sends the input once for
 *    all hosts on `P.stdin.<id>`, paced by their `input` events, and judges
 *    each host's input at its exit. A run without it has none of this.
 * 6. A run at an instant (`startUs`, after synced_run.ts measured the
 *    clocks) is answered twice: `accepted` once the host holds it for its
 *    instant, and the process once started. A host that accepted is
 *    followed (lost if it goes silent) until it starts; it is re-synced
 *    only once its instant is well past, and a timeout counts from the
 *    instant.
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import { TuttiError, type WireError } from "../protocol/errors.ts";
import { H } from "../protocol/headers.ts";
import type { Presence } from "../protocol/messages.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import { fold } from "../protocol/selector.ts";
import { Broadcast, type RawReply } from "./broadcast/broadcast.ts";
import { silenceReason } from "./broadcast/expectation.ts";
import type { Scope } from "./broadcast/scope.ts";
import { parseDroppedEvent, parseProcInfo } from "../protocol/events.ts";
import { parsePsReply, parseRunReply } from "../protocol/replies.ts";
import { parseRunScheduled } from "../protocol/clock_messages.ts";
import { parseInputProgress } from "../protocol/input_messages.ts";
import type { RunEvent, RunSummary } from "./events.ts";
import { HostRun } from "./host_run.ts";
import { readRangeWhile } from "./logs.ts";
import type { Operation } from "./operation.ts";
import { OutputFlow } from "./output_flow.ts";
import { type PreparedRun, prepareRun, type RunOptions } from "./run_request.ts";
import { InputFeed } from "./run_input.ts";
import { SyncedRun } from "./synced_run.ts";

export interface RunHandle extends Operation<RunEvent, RunSummary> {
  readonly id: string;
  /** Hosts expected so far (named, known and matching, or answering). */
  readonly expected: number;
  /** Messages from peers this run ignored (malformed, or from hosts it is not about). */
  readonly ignored: number;
  /** Events not yet handed to the reader: 0 at the end of a burst. */
  readonly queued: number;
  /**
   * Output bytes the reader has not read yet. Past 8 MiB the run takes no
   * more live output (output_flow.ts): what the hosts write meanwhile is read
   * from their spools once the reader has caught up.
   */
  readonly backlog: number;
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
/** A host held for an instant that has not said it started this long after is asked (`ps`). */
const INSTANT_RESYNC_MS = 2000;

class RunOperation extends Broadcast<RunEvent, RunSummary> implements RunHandle {
  readonly id: string;
  readonly #hosts = new Map<string, HostRun>();
  /** Hosts running or finishing: the run is not over while one is. */
  readonly #busy = new Set<string>();
  readonly #deadline: number;
  readonly #resyncMs: number;
  #lastResync: number;
  readonly #resyncQueue = new Set<string>();
  readonly #detach: boolean;
  readonly #input: InputFeed | null = null;
  /** Hosts that hold the run for its instant (accepted, not started yet). */
  readonly #scheduled = new Set<string>();
  /** What the run holds of its hosts' output; the reader's backlog sets its pace. */
  readonly #flow = new OutputFlow(() => this.backlog);

  constructor(scope: Scope, private readonly prepared: PreparedRun) {
    super(scope, prepared.resolved, {
      verb: "run",
      body: prepared.request,
      byeGraceMs: BYE_GRACE_MS,
      presence: true,
      owed: "reporting an exit",
    });
    const opts = prepared.options;
    this.id = prepared.id;
    this.#detach = opts.detach ?? false;
    this.#resyncMs = opts.resyncMs ?? DEFAULT_RESYNC_MS;
    this.#lastResync = this.began;
    // A run at an instant starts then: its timeout counts from there.
    const start = Math.max(this.began, prepared.instant ?? 0);
    this.#deadline = opts.timeout === undefined || this.#detach
      ? Infinity
      : start + (opts.timeout + (opts.grace ?? DEFAULT_GRACE_S)) * 1000 + TIMEOUT_MARGIN_MS;
    for (const h of this.exp.hosts) this.#host(h);
    this.listen(scope.link.subjects.proc("*", this.id, ">"), (m) => this.#onEvent(m));
    if (opts.stdin !== undefined) this.#input = this.#feed(opts.stdin, opts.stdinWindow!);
    this.open();
  }

  #feed(source: NonNullable<RunOptions["stdin"]>, window: number): InputFeed {
    const { link } = this.scope;
    const subject = link.subjects.stdin(this.id);
    const feed = new InputFeed(source, this.id, window, {
      publish: (data, headers) => link.publishRaw(subject, data, headers),
      maxPayload: () => link.nc.info?.max_payload ?? 1024 * 1024,
      // An expected host that has not started, before it is overdue, will need the input from 0.
      mayJoin: (now) =>
        now < this.exp.overdueAt() && (!this.exp.explicit || this.exp.silentCount > 0),
      ended: (host, written, error) =>
        this.push({ type: "input", host, written, ...(error && { error }) }),
      stop: (hosts) => {
        // Their input cannot be whole: the processes must not take part of it for all of it.
        this.send("signal", { procs: [this.id], signal: "SIGTERM", grace: 5 }, this.narrow(hosts));
      },
    });
    this.done.then(() => feed.close(), () => feed.close());
    return feed;
  }

  #host(host: string): HostRun {
    let h = this.#hosts.get(host);
    if (!h) {
      h = new HostRun(host, {
        emit: (e) => this.push(e),
        read: (host, stream, offset, limit) =>
          readRangeWhile(
            () => !this.ended && !this.#hosts.get(host)?.done,
            this.scope.link,
            host,
            this.id,
            stream,
            offset,
            limit,
          ).then((data) => {
            this.scope.presence.heard(host);
            return data;
          }),
        changed: (h) => this.#changed(h),
        detach: this.#detach,
        inputVerdict: (host, proc, existing) => this.#input?.verdict(host, proc, existing),
        flow: this.#flow,
      });
      this.#hosts.set(host, h);
    }
    return h;
  }

  /** The host behind an event or reply, if it is one this run is about. */
  #answering(host: string, subject: string): HostRun | undefined {
    return this.answering(host, subject) ? this.#host(host) : undefined;
  }

  protected override sizeOf(e: RunEvent): number {
    return e.type === "output" ? e.data.length : 0;
  }

  protected override consumed(): void {
    this.#flow.consumed();
  }

  #changed(h: HostRun): void {
    this.#scheduled.delete(h.host);
    if (h.phase === "running" || h.phase === "finishing") {
      this.#busy.add(h.host);
      this.follow(h.host);
      if (h.phase === "running") this.#input?.hostStarted(h.host);
    } else {
      this.#busy.delete(h.host);
      if (h.phase === "done") {
        this.unfollow(h.host);
        this.#input?.hostGone(h.host);
      }
    }
    this.changed();
  }

  // ------------------------------------------------------------ inputs

  #onEvent(m: Msg): void {
    const where = this.scope.link.subjects.parseProc(m.subject);
    if (!where || where.proc !== this.id) return;
    this.scope.presence.heard(where.host);
    switch (where.event) {
      case "started": {
        const proc = parseProcInfo(decodeMap(m.data), "started event", where.host);
        return this.#answering(where.host, m.subject)?.started(proc, false);
      }
      case "stdout":
      case "stderr": {
        const offset = Number(m.headers?.get(H.offset));
        if (!Number.isSafeInteger(offset) || offset < 0) {
          throw new TuttiError("EBADMSG", `${where.event} event: header ${H.offset} is missing`);
        }
        return this.#answering(where.host, m.subject)?.output(where.event, offset, m.data);
      }
      case "dropped": {
        const d = parseDroppedEvent(decodeMap(m.data));
        return this.#answering(where.host, m.subject)?.dropped(d.stream, d.offset, d.bytes);
      }
      case "exit": {
        const proc = parseProcInfo(decodeMap(m.data), "exit event", where.host);
        this.#answering(where.host, m.subject)?.exited(proc);
        return;
      }
      case "input": {
        if (this.#input === null) return;
        const p = parseInputProgress(decodeMap(m.data));
        if (this.#answering(where.host, m.subject)) this.#input.progress(where.host, p);
        return;
      }
    }
  }

  protected onReply(kind: string, r: RawReply, m: Msg): void {
    if (kind === "run") {
      if (r.ok && r.accepted === true) {
        // Held for its instant: it owes the start, and is followed until then.
        parseRunScheduled(r);
        const h = this.#answering(r.host, m.subject);
        if (h?.phase !== "waiting") return;
        if (!this.#scheduled.has(h.host)) this.push({ type: "held", host: h.host });
        this.#scheduled.add(h.host);
        this.#busy.add(h.host);
        this.follow(h.host);
        return this.changed();
      }
      const reply = r.ok ? parseRunReply(r) : undefined;
      const h = this.#answering(r.host, m.subject);
      if (!h) return;
      if (!r.ok) h.refused(r.error);
      else h.started(reply!.proc, reply!.existing === true);
    } else if (kind === "ps") {
      const h = this.#hosts.get(r.host);
      if (!r.ok || !h || h.done) return;
      const proc = parsePsReply(r).procs.find((p) => p.id === this.id);
      if (proc) {
        this.#answering(r.host, m.subject);
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

  protected override onPresence(host: string, p: Presence): void {
    const h = this.#hosts.get(host);
    if (!h || h.done || p.type !== "hello") return;
    // It (re)connected: it may have missed the request, or the exit may have been lost.
    if (h.phase === "waiting") this.send("run", this.prepared.request, this.narrow([host]));
    else this.#resync([host]);
  }

  protected override onReconnect(): void {
    const waiting = this.exp.silent();
    if (waiting.length > 0) {
      this.exp.restart(Date.now());
      const target = this.exp.explicit ? this.narrow(waiting) : this.resolved.target;
      this.send("run", this.prepared.request, target);
    }
    this.#resync(this.#pending());
  }

  protected lost(host: string, error: WireError): void {
    const h = this.#hosts.get(host);
    if (h?.phase === "running" || this.#scheduled.has(host)) h?.fail(error);
  }

  // ------------------------------------------------------------ re-sync and spool reads

  #pending(): string[] {
    // A host held for its instant is asked only once it should have started long ago: the
    // `started` event and the reply may both have been lost.
    const late = (this.prepared.instant ?? Infinity) + INSTANT_RESYNC_MS <= Date.now();
    return [...this.#busy].filter((h) =>
      this.#hosts.get(h)?.phase === "running" || (late && this.#scheduled.has(h))
    );
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
      this.send("ps", { procs: [this.id] }, { hosts: fold(list) });
    });
  }

  // ------------------------------------------------------------ deadlines and the end

  protected decide(now: number): void {
    const connected = this.scope.link.connected;
    if (connected) this.#input?.tick(now);
    if (connected && now - this.#lastResync >= this.#resyncMs) {
      this.#lastResync = now;
      this.#resync(this.#pending());
    }
    if (now >= this.#deadline) {
      const secs = this.prepared.options.timeout!;
      for (const host of [...this.#busy]) {
        this.#hosts.get(host)!.fail({
          code: "ETIMEDOUT",
          message: `no exit reported within the ${secs}s timeout`,
        });
      }
      return this.#complete();
    }
    if (Number.isFinite(this.#deadline)) this.wakeAt(this.#deadline);
    if (this.#busy.size > 0) return;
    if (connected ? this.exp.complete(now) : this.exp.silentCount === 0) this.#complete();
  }

  #complete(): void {
    const message = silenceReason(this.exp, this.began, this.scope.link.subjects.prefix);
    for (const host of this.exp.silent()) {
      const h = this.#host(host);
      if (h.phase === "waiting") h.fail({ code: "ENORESPONSE", message });
    }
    const hosts = [...this.#hosts.values()]
      .filter((h) => h.outcome !== undefined)
      .map((h) => h.outcome!)
      .sort((a, b) => compareHosts(a.host, b.host));
    const ok = hosts.length > 0 && hosts.every((h) => h.status === "ok");
    this.finish({ id: this.id, hosts, ok });
  }
}

/**
 * Validates everything (sending nothing when something is bad, see
 * `prepareRun`), then starts; a run at an instant measures the clocks first
 * (synced_run.ts).
 */
export function startRun(scope: Scope, opts: RunOptions | PreparedRun): RunHandle {
  const prepared = prepareRun(opts);
  if (prepared.sync !== null && prepared.instant === undefined) {
    return new SyncedRun(scope, prepared, (p) => new RunOperation(scope, p));
  }
  return new RunOperation(scope, prepared);
}
