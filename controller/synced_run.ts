/**
 * A run that starts on every host at one instant (`RunOptions.sync`/`at`,
 * `controller run --at`): two operations on the broadcast core, one after
 * the other, seen by the caller as one run.
 *
 * 1. The clocks (clock.ts): each selected host's offset to this
 *    controller's clock, with its error bound. Hosts that cannot be measured
 *    (an agent too old to know `clock`, no answer) are reported as failed
 *    here and never get the run: an old agent would start it at once.
 * 2. The instant: the one asked for, or the earliest that leaves time to
 *    reach every host (leadFor the slowest round trip). One that is too
 *    near once the clocks are known fails the whole run with EINVAL, and
 *    nothing is started anywhere.
 * 3. The run (run.ts) to the measured hosts only, its request carrying each
 *    host's instant on its own clock (`startUs` = instant + offset). Each
 *    `started` event gets when the process started on this controller's
 *    clock (its `startedUs` minus the offset), and the summary how close
 *    together they started (`sync`).
 */
import { TuttiError } from "../protocol/errors.ts";
import type { ProcInfo } from "../protocol/messages.ts";
import { compareHosts } from "../protocol/nodeset.ts";
import { preciseNow, toMicros } from "../protocol/runtime/precise_clock.ts";
import type { Scope } from "./broadcast/scope.ts";
import { ClockOperation } from "./clock.ts";
import { CLOCK_END_MS, type ClockEstimate, leadFor } from "./clock_estimate.ts";
import type { HostOutcome, RunEvent, RunSummary, RunSync, StartSync } from "./events.ts";
import { Channel } from "./operation.ts";
import type { RunHandle } from "./run.ts";
import type { PreparedRun } from "./run_request.ts";

export class SyncedRun extends Channel<RunEvent, RunSummary> implements RunHandle {
  readonly id: string;
  readonly #clock: ClockOperation;
  #run: RunHandle | null = null;
  #unmeasured: HostOutcome[] = [];

  constructor(
    scope: Scope,
    prepared: PreparedRun,
    run: (p: PreparedRun) => RunHandle,
  ) {
    super();
    this.id = prepared.id;
    const asked = prepared.sync!.at;
    this.#clock = new ClockOperation(scope, prepared.resolved, {
      endBy: asked === null ? undefined : asked - CLOCK_END_MS,
    });
    this.#go(prepared, asked, run).catch((e) => this.fail(e));
  }

  get expected(): number {
    return this.#run ? this.#run.expected + this.#unmeasured.length : this.#clock.expected;
  }

  get ignored(): number {
    return this.#clock.ignored + (this.#run?.ignored ?? 0);
  }

  async #go(
    prepared: PreparedRun,
    asked: number | null,
    start: (p: PreparedRun) => RunHandle,
  ): Promise<void> {
    const clocks = await this.#clock.done;
    this.#unmeasured = clocks.failures;
    for (const f of clocks.failures) this.push({ type: "error", host: f.host, error: f.error! });
    const measured = [...clocks.estimates.keys()].sort(compareHosts);
    if (measured.length === 0) {
      return this.end({ id: this.id, hosts: sorted(clocks.failures), ok: false });
    }
    const now = preciseNow();
    const lead = leadFor(clocks.roundTrip);
    const at = asked ?? Math.ceil(now + lead);
    if (at - now < lead) {
      const when = new Date(at).toISOString();
      throw new TuttiError(
        "EINVAL",
        `the start instant ${when} is ${
          at > now ? `only ${(at - now).toFixed(0)} ms ahead` : `${(now - at).toFixed(0)} ms past`
        } once the clocks of ${measured.length} host(s) are measured, and reaching them all may ` +
          `take ${lead.toFixed(0)} ms (slowest round trip ${clocks.roundTrip.toFixed(1)} ms): ` +
          `nothing was started; choose a later instant`,
      );
    }
    const startUs: Record<string, number> = {};
    for (const host of measured) startUs[host] = toMicros(at + clocks.estimates.get(host)!.offset);
    for (const host of measured) {
      const e = clocks.estimates.get(host)!;
      const clock = { offset: micro(e.offset), bound: micro(e.bound), delay: micro(e.delay) };
      this.push({ type: "scheduled", host, at, ...clock });
    }
    const run = this.#run = start(prepared.at(at, startUs));
    const starts = new Map<string, StartSync>();
    const sync = (proc: ProcInfo) => {
      const s = startSync(proc, at, clocks.estimates.get(proc.host));
      if (s) starts.set(proc.host, s);
      return s;
    };
    for await (const e of run) {
      if (e.type === "started") {
        const s = sync(e.proc);
        this.push(s ? { ...e, sync: s } : e);
      } else this.push(e);
    }
    const summary = await run.done;
    const hosts = sorted([
      ...summary.hosts.map((o) => {
        const s = starts.get(o.host) ?? (o.proc ? sync(o.proc) : undefined);
        return s ? { ...o, sync: s } : o;
      }),
      ...clocks.failures,
    ]);
    this.end({
      id: summary.id,
      hosts,
      ok: summary.ok && clocks.failures.length === 0,
      sync: runSync(at, hosts, clocks.estimates),
    });
  }
}

/** When `proc` started on the controller's clock: to a µs when its agent recorded `startedUs`. */
export function startSync(
  proc: ProcInfo,
  at: number,
  clock: ClockEstimate | undefined,
): StartSync | undefined {
  if (!clock) return undefined;
  const hostMs = proc.startedUs !== undefined ? proc.startedUs / 1000 : proc.started;
  const start = micro(hostMs - clock.offset);
  return { at, start, late: micro(start - at), bound: micro(clock.bound) };
}

/** How close together the started processes started. */
export function runSync(
  at: number,
  hosts: HostOutcome[],
  clocks: Map<string, ClockEstimate>,
): RunSync {
  const started = hosts.filter((o) => o.sync !== undefined);
  const lates = started.map((o) => o.sync!.late);
  const bound = micro(Math.max(0, ...started.map((o) => clocks.get(o.host)?.bound ?? 0)));
  if (lates.length === 0) {
    return { at, started: 0, skew: null, earliest: null, latest: null, bound };
  }
  const earliest = Math.min(...lates);
  const latest = Math.max(...lates);
  return { at, started: lates.length, skew: micro(latest - earliest), earliest, latest, bound };
}

/** ms to the µs: the precision of the times measured (and JSON without 15-digit fractions). */
function micro(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function sorted(outcomes: HostOutcome[]): HostOutcome[] {
  return outcomes.sort((a, b) => compareHosts(a.host, b.host));
}
