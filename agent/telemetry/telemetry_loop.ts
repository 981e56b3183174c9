/**
 * The telemetry timer: one machine sample and one sample of the managed
 * processes every interval, handed to the agent to publish. With telemetry
 * off (`--telemetry 0`) the agent never creates one, so nothing runs.
 */
import { setLongInterval, UNREF_CLOCK } from "../../protocol/runtime/timers.ts";
import type { MachineSample, ProcsSample } from "../../protocol/telemetry_messages.ts";
import { type ManagedPid, Sampler } from "./sampler.ts";

export interface TelemetrySink {
  /** The running managed processes, asked at each tick. */
  procs(): Iterable<ManagedPid>;
  /** Publish on `P.tel.<host>`. */
  machine(sample: MachineSample): void;
  /**
   * Publish on `P.tel.<host>.procs`. Called at each tick while some process
   * runs, and once more with an empty list when the last one is gone.
   */
  processes(sample: ProcsSample): void;
  /** A tick failed (it is retried at the next one); the agent logs it. */
  error(e: unknown): void;
}

export class TelemetryLoop {
  private sampler: Sampler | null = null;
  private stopTimer: (() => void) | undefined;
  private hadProcs = false;

  constructor(readonly intervalMs: number, private readonly sink: TelemetrySink) {
    if (!(intervalMs > 0)) throw new RangeError("telemetry interval must be positive");
  }

  get running(): boolean {
    return this.stopTimer !== undefined;
  }

  /** Samples at once (rates are null in that first sample), then every interval. */
  start(): void {
    if (this.stopTimer !== undefined) return;
    this.sampler = new Sampler();
    this.tick();
    // Telemetry alone must not keep the agent alive on shutdown.
    this.stopTimer = setLongInterval(() => this.tick(), this.intervalMs, UNREF_CLOCK);
  }

  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
    this.sampler?.close();
    this.sampler = null;
    this.hadProcs = false;
  }

  private tick(): void {
    const sampler = this.sampler;
    if (sampler === null) return;
    try {
      const machine = sampler.sample();
      const procs = sampler.sampleProcs(this.sink.procs());
      // The processes first: whoever has a tick's machine sample has its processes too.
      if (procs.procs.length > 0 || this.hadProcs) this.sink.processes(procs);
      this.hadProcs = procs.procs.length > 0;
      this.sink.machine(machine);
    } catch (e) {
      this.sink.error(e);
    }
  }
}
