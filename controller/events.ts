/**
 * What the controller library hands out: the typed events of every
 * operation and the per-host results they end with. Renderers consume these
 * and nothing else, so a new view never touches the fan-out code.
 */
import type { WireError } from "../protocol/errors.ts";
import type { ProcInfo, StreamName } from "../protocol/messages.ts";

import type { HostReply } from "../protocol/replies.ts";

/**
 * One host's answer to a fan-out request (`ping`, `ps`, `signal`): the
 * reply's fields, or the wire error it sent, or one the controller
 * concluded (`ENORESPONSE` when it did not answer in time).
 */
export type { HostReply };

/** A host's clock as a run at an instant measured it (controller/clock_estimate.ts). */
export interface HostClock {
  host: string;
  /** Its clock minus the controller's, ms. */
  offset: number;
  /** The offset is right within ± this, ms. */
  bound: number;
  /** Its smallest round trip, ms. */
  delay: number;
}

/** When a process of a run at an instant started, on the controller's clock. */
export interface StartSync {
  /** The instant, ms since the epoch. */
  at: number;
  /** The process's start, ms since the epoch (to a µs when its agent records it). */
  start: number;
  /** `start - at`, ms. */
  late: number;
  /** Its host's clock bound, ms: `start` is right within ± this. */
  bound: number;
}

/** The events of one `run`, per host, in the order the controller learnt them. */
export type RunEvent =
  /**
   * A run at an instant: the host's clock is measured and the instant chosen
   * (`at`, ms since the epoch on the controller's clock), the same for every
   * host; the request goes out now. These come together, one per measured
   * host, before any other event of theirs; hosts that could not be measured
   * have had their `error` already.
   */
  | ({ type: "scheduled"; at: number } & HostClock)
  /** A run at an instant: the host holds the process for it (it starts then unless signalled). */
  | { type: "held"; host: string }
  /**
   * The agent spawned the process (or already had it: an idempotent retry).
   * `sync`: a run at an instant, when it started.
   */
  | { type: "started"; host: string; proc: ProcInfo; existing: boolean; sync?: StartSync }
  /**
   * Output bytes, in order and without gaps for each host and stream.
   * `recovered`: they were not received live (the agent dropped them, or the
   * broker was unreachable) and were fetched from the agent's spool.
   */
  | {
    type: "output";
    host: string;
    stream: StreamName;
    offset: number;
    data: Uint8Array;
    recovered?: true;
  }
  /**
   * Bytes that could be neither received live nor fetched from the agent's
   * spool (the agent vanished, its spool failed): never silent.
   */
  | {
    type: "missing";
    host: string;
    stream: StreamName;
    offset: number;
    bytes: number;
    error: WireError;
  }
  /**
   * A run with `stdin`: the host's input ended, every byte of it written into
   * the process's stdin and stdin closed, or early with `error` (EPIPE: the
   * process closed its stdin or exited first; EIO: the input could not be
   * read or sent). Comes once per host, before its `exit`.
   */
  | { type: "input"; host: string; written: number; error?: WireError }
  /** The process ended; every output byte of it came before this event. */
  | { type: "exit"; host: string; proc: ProcInfo }
  /** The host will not run or report it: spawn error, no response, lost, timed out. */
  | { type: "error"; host: string; error: WireError };

/**
 * How a host ended a request, for summaries and exit codes:
 * - `ok`: exited 0 (a detached run: started; other requests: answered ok)
 * - `failed`: ran and failed (exit code, signal, timeout) or refused (spawn error, ...)
 * - `noresponse`: never answered (`ENORESPONSE`)
 * - `lost`: answered, then vanished (`ELOST`)
 */
export type OutcomeStatus = "ok" | "failed" | "noresponse" | "lost";

export interface HostOutcome {
  host: string;
  status: OutcomeStatus;
  /** The process as last known (its exit status when it exited). */
  proc?: ProcInfo;
  /** Why it failed, when not by its exit status alone (a run's input that did not all go in). */
  error?: WireError;
  /** A run at an instant: when its process started. */
  sync?: StartSync;
}

/** How close to its instant a run at an instant started (ms). */
export interface RunSync {
  /** The instant, ms since the epoch on the controller's clock. */
  at: number;
  /** Hosts whose process started (their outcomes have `sync`). */
  started: number;
  /** The latest start minus the earliest (null when none started). */
  skew: number | null;
  /** The earliest and the latest start, from the instant. */
  earliest: number | null;
  latest: number | null;
  /** The largest clock bound of those hosts: every start is right within ± this. */
  bound: number;
}

export interface RunSummary {
  /** The process id, the same on every host. */
  id: string;
  /** One entry per expected or answering host, sorted by host name. */
  hosts: HostOutcome[];
  /** True when there was at least one host and every host is `ok`. */
  ok: boolean;
  /** A run at an instant: how close to it the processes started. */
  sync?: RunSync;
}

/** The status of a host whose process exited. */
export function exitStatus(proc: ProcInfo): OutcomeStatus {
  return proc.code === 0 && !proc.timedOut ? "ok" : "failed";
}

/** The status of a host that answered with, or was given, an error. */
export function errorStatus(error: WireError): OutcomeStatus {
  if (error.code === "ENORESPONSE") return "noresponse";
  if (error.code === "ELOST") return "lost";
  return "failed";
}

/** The outcome of one fan-out reply. */
export function replyOutcome<T>(r: HostReply<T>): HostOutcome {
  return r.ok
    ? { host: r.host, status: "ok" }
    : { host: r.host, status: errorStatus(r.error), error: r.error };
}
