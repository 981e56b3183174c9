/**
 * What a transfer (`put`, `get`) tells as it goes, and its result: one
 * outcome per host, in the same words as `run`'s (`ok`, `failed` with the
 * error, `no response`, `lost`), with the host's byte counts.
 */
import type { HostOutcome } from "../events.ts";

export type TransferEvent =
  /** The controller stored `done` of the `total` bytes it must upload (put). */
  | { type: "upload"; done: number; total: number }
  /** A host's bytes done (fetched, resumed or skipped) of its total. */
  | { type: "progress"; host: string; done: number; total: number }
  /** A host finished, well or not. */
  | { type: "result"; result: TransferResult };

export interface TransferResult extends HostOutcome {
  /** Files written, and files already there with the same content. */
  files: number;
  skipped: number;
  /** Bytes moved over the network for this host (fetched by it, or read from it). */
  bytes: number;
  /** Bytes of an interrupted earlier try that were kept, not moved again. */
  resumed: number;
}

export interface TransferSummary {
  hosts: TransferResult[];
  /** True when there was at least one host and every host is `ok`. */
  ok: boolean;
  /** Bytes the controller uploaded (put: each distinct content at most once). */
  uploaded: number;
  /** Bytes of every file to move, per host. */
  total: number;
}
