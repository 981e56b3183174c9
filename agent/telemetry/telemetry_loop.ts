/**
 * The telemetry timer: one machine sample and one sample of the managed
 * processes every interval, handed to the agent to publish. With telemetry
 * off (`--telemetry 0`) the agent never creates one, so nothing runs.
 */
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
  private timer: ReturnType<typeof setTimeout> | undefined;
  private hadProcs = false;

  constructor(readonly intervalMs: number, private readonly sink: TelemetrySink) {
    if (!(intervalMs > 0)) throw new RangeError("telemetry interval must be positive");
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Samples at once (rates are null in that first sample), then every interval. */
  start(): void {
    if (this.timer !== undefined) return;
    this.sampler = new Sampler();
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // Telemetry alone must not keep the agent alive on shutdown.
    Deno.unrefTimer(this.timer);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sampler?.close();
    this.sampler = null;
    this.hadProcs = false;
  }

  private tick(): void {
    const sampler = this.sampler;
    if (sampler === null) return;
    try {
      this.sink.machine(sampler.sample());
      const procs = sampler.sampleProcs(this.sink.procs());
      if (procs.procs.length > 0 || this.hadProcs) this.sink.processes(procs);
      this.hadProcs = procs.procs.length > 0;
    } catch (e) {
      this.sink.error(e);
    }
  }
}
