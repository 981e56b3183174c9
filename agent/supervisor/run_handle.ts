/**
 * How the supervisor gets its processes started, without knowing by whom:
 * the agent's keeper (agent/keeper_launcher.ts: processes outlive the
 * agent, and a restarted agent adopts them) or the supervisor's own process
 * (direct_launcher.ts: for the supervisor alone, as its tests run it).
 *
 * A run's output is written to the program's files by whoever holds the
 * pipes; the supervisor sees each chunk after it is there (for `tail`,
 * `follow` and `attach`).
 */
import type { StreamName } from "../../protocol/messages.ts";
import type { ExitSignalName } from "../../protocol/signals.ts";
import type { LaunchSpec } from "./launch.ts";

export interface RunRequest {
  /** The supervised process (`web:0`). */
  process: string;
  /** Its definition (diff.ts specKey): a run is adopted only by an unchanged definition. */
  key: string;
  launch: LaunchSpec;
  /** Output files; null: discarded. */
  stdout: string | null;
  stderr: string | null;
}

export interface Reaped {
  code: number | null;
  signal: ExitSignalName | null;
  /** Set when the status could not be read at all. */
  unreadable?: string;
  /** ms since the epoch. */
  ended: number;
}

/** Gets each chunk once it is in its file; `view` may be reused once the returned promise settles. */
export type RunOutput = (stream: StreamName, view: Uint8Array) => Promise<void> | void;

export interface RunHandle {
  readonly pid: number;
  /** /proc start time, against pid reuse. */
  readonly startTicks: number | null;
  /** ms since the epoch. */
  readonly started: number;
  /** The leader is reaped (its group and pipes may live on). */
  readonly reaped: Promise<Reaped>;
  /** Both pipes are at end of file. */
  readonly drained: Promise<void>;
  onOutput(fn: RunOutput): void;
  /** Something about the run its supervisor should say (an output file it cannot write). */
  onNotice(fn: (message: string) => void): void;
  write(data: Uint8Array): Promise<void>;
  closeInput(): void;
  /** The run is over and its end dealt with: whatever held it may forget it. */
  release(): void;
}

/** A run an earlier agent started that still runs (or ended since) and can be taken over. */
export interface Adoptable {
  process: string;
  key: string;
  handle: RunHandle;
}

export interface Launcher {
  /** Starts a run; a spawn error throws (a TuttiError in supervisord's words). */
  start(req: RunRequest): Promise<RunHandle>;
  /** Runs left by an earlier agent, once: the supervisor adopts or stops each. */
  adoptable(): Adoptable[];
  /** Output files are closed and opened again on their next write (logrotate). */
  reopen(): void;
  /** `process` is gone from the configuration: its files are closed. */
  dispose(process: string): void;
}
