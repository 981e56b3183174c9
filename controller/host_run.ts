/**
 * One host's part in a `run`, as a small state machine:
 *
 *   waiting ──started──▶ running ──exit──▶ finishing ──output complete──▶ done
 *      │                    │
 *      └──refused / fail────┴──fail (lost, timed out)──────────────────▶ done
 *
 * `started` may come from the run reply, the `started` event or a re-sync
 * `ps`, whichever arrives first; `exit` from the `exit` event or a `ps`. The
 * `exit` event is emitted only once both output streams are complete, so a
 * consumer sees every byte of a host before its exit status. Every change of
 * phase goes through `#enter`.
 */
import type { WireError } from "../protocol/errors.ts";
import type { ProcInfo, StreamName } from "../protocol/messages.ts";
import { errorStatus, exitStatus, type HostOutcome, type RunEvent } from "./events.ts";
import type { OutputFlow } from "./output_flow.ts";
import { OutputStream, type SpoolReader } from "./output_stream.ts";

export type Phase = "waiting" | "running" | "finishing" | "done";

export interface HostRunContext {
  emit(e: RunEvent): void;
  /** Reads a range of this host's spooled output. */
  read(host: string, stream: StreamName, offset: number, limit: number): Promise<Uint8Array>;
  /** Told whenever the phase changes. */
  changed(h: HostRun): void;
  /** A detached run is done for a host once it has started there. */
  detach: boolean;
  /**
   * A run with input: at the exit, the error the host's input ended with
   * (the host then failed, whatever its exit code), or undefined.
   */
  inputVerdict?(host: string, proc: ProcInfo, existing: boolean): WireError | undefined;
  /** The run's budget for the output it holds (one for all its hosts). */
  flow?: OutputFlow;
}

export class HostRun {
  #phase: Phase = "waiting";
  proc: ProcInfo | undefined;
  outcome: HostOutcome | undefined;
  /** When the agent said `bye` while this run was pending on it. */
  byeAt: number | undefined;
  readonly #streams: Record<StreamName, OutputStream>;
  /** Output that arrived before the start was known; emitted right after `started`. */
  #early: RunEvent[] = [];
  /** The agent had the process before this run's request (an idempotent retry). */
  #existing = false;

  constructor(readonly host: string, private readonly ctx: HostRunContext) {
    const stream = (name: StreamName) => {
      const read: SpoolReader = (offset, limit) => ctx.read(host, name, offset, limit);
      return new OutputStream(
        name,
        {
          data: (offset, data, recovered) =>
            this.#output({
              type: "output",
              host,
              stream: name,
              offset,
              data,
              ...(recovered ? { recovered } : {}),
            }),
          missing: (offset, bytes, error) =>
            this.#output({ type: "missing", host, stream: name, offset, bytes, error }),
        },
        read,
        ctx.flow,
      );
    };
    this.#streams = { stdout: stream("stdout"), stderr: stream("stderr") };
  }

  get phase(): Phase {
    return this.#phase;
  }

  get done(): boolean {
    return this.#phase === "done";
  }

  /** The agent has the process (`existing`: it had it before this request). */
  started(proc: ProcInfo, existing: boolean): void {
    if (this.#phase !== "waiting") return;
    this.proc = proc;
    this.#existing = existing;
    this.#enter("running");
    this.ctx.emit({ type: "started", host: this.host, proc, existing });
    for (const e of this.#early.splice(0)) this.ctx.emit(e);
    if (this.ctx.detach) return this.#finish({ host: this.host, status: "ok", proc });
    if (proc.state === "exited") this.exited(proc);
  }

  /** The agent answered the run with an error (spawn failure, EEXIST, ...). */
  refused(error: WireError): void {
    if (this.#phase !== "waiting") return;
    this.fail(error);
  }

  output(stream: StreamName, offset: number, data: Uint8Array): void {
    if (this.#phase === "done") return;
    this.#streams[stream].chunk(offset, data);
  }

  dropped(stream: StreamName, offset: number, bytes: number): void {
    if (this.#phase === "done") return;
    this.#streams[stream].dropped(offset, bytes);
  }

  /** The process's final info: complete the output, then report the exit. */
  async exited(proc: ProcInfo): Promise<void> {
    if (this.#phase === "waiting") this.started(proc, false);
    if (this.#phase !== "running") return;
    this.proc = proc;
    this.#enter("finishing");
    await Promise.all([
      this.#streams.stdout.finish(proc.stdout),
      this.#streams.stderr.finish(proc.stderr),
    ]);
    // The host may have been given up on while its output was being fetched.
    if ((this.#phase as Phase) !== "finishing") return;
    const input = this.ctx.inputVerdict?.(this.host, proc, this.#existing);
    this.ctx.emit({ type: "exit", host: this.host, proc });
    if (input) this.#finish({ host: this.host, status: "failed", proc, error: input });
    else this.#finish({ host: this.host, status: exitStatus(proc), proc });
  }

  /** The controller gives up on this host: no response, lost, timed out. */
  fail(error: WireError): void {
    if (this.#phase === "done") return;
    this.ctx.emit({ type: "error", host: this.host, error });
    this.#finish({ host: this.host, status: errorStatus(error), error, proc: this.proc });
  }

  #output(e: RunEvent): void {
    if (this.#phase === "done") return;
    if (this.#phase === "waiting") this.#early.push(e);
    else this.ctx.emit(e);
  }

  #finish(outcome: HostOutcome): void {
    this.outcome = outcome;
    this.#early = [];
    this.#enter("done");
  }

  #enter(phase: Phase): void {
    this.#phase = phase;
    this.ctx.changed(this);
  }
}
