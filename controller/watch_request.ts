/**
 * What a `watch` asks for and what it reports, checked in full before
 * anything is sent: `prepareWatch` throws `EBADSEL` for a bad selector and
 * `EINVAL` naming a bad field, and chooses the watch id when the caller gave
 * none. What it returns is what `Controller.watch` takes.
 */
import { TuttiError, type WireError } from "../protocol/errors.ts";
import { newId } from "../protocol/runtime/ids.ts";
import { checkToken } from "../protocol/subjects.ts";
import {
  DEFAULT_WATCH_TIMEOUT_S,
  MAX_WATCH_TIMEOUT_S,
  parseWatchCondition,
  type WatchCondition,
} from "../protocol/watch_messages.ts";
import type { Operation } from "./operation.ts";
import { type HostSpec, type ResolvedTarget, resolveTarget } from "./target.ts";

export type WatchMode = "all" | "any";

export interface WatchOptions extends HostSpec {
  condition: WatchCondition;
  /** Seconds each agent waits before its outcome is `timeout` (default 300, at most 86400). */
  timeout?: number;
  /** `all` (default): every selected host must meet the condition; `any`: one is enough. */
  mode?: WatchMode;
  /** The watch id on every host (a subject token); chosen by the controller when absent. */
  id?: string;
  /** Aborting cancels the watch on every host still waiting, then ends the operation. */
  signal?: AbortSignal;
}

/**
 * How one host ended: its agent's outcome, or what the controller concluded
 * (`noresponse`: it never answered; `lost`: it vanished while watching).
 */
export type WatchHostStatus = "met" | "timeout" | "failed" | "cancelled" | "noresponse" | "lost";

export interface WatchHostResult {
  host: string;
  status: WatchHostStatus;
  /** ms from the start of the watch on that host (from the request when the controller concluded). */
  elapsed: number;
  /** ms since the epoch */
  at: number;
  /** For people: `127.0.0.1:9000 is listening`, `no answer within 5.0s`. */
  detail: string;
  /** The matching line of an `output` watch. */
  line?: string;
  /** A refusal (`EINVAL`, `ESRCH`, ...) or the controller's conclusion (`ENORESPONSE`, `ELOST`). */
  error?: WireError;
}

export type WatchUpdate =
  /** The agent holds the watch (`existing`: it already did, a retry). */
  | { type: "watching"; host: string; started: number; deadline: number; existing: boolean }
  /**
   * Once: the set of hosts is final and each holds the watch or has its
   * result. From here on nothing that happens on them is missed.
   */
  | { type: "armed"; watching: string[] }
  /** The host's one result. */
  | ({ type: "result" } & WatchHostResult);

export interface WatchSummary {
  id: string;
  mode: WatchMode;
  /** One entry per expected or answering host, sorted by host name. */
  hosts: WatchHostResult[];
  /** `all`: at least one host and every one met the condition; `any`: at least one met it. */
  ok: boolean;
}

export interface WatchHandle extends Operation<WatchUpdate, WatchSummary> {
  readonly id: string;
  /** Hosts expected so far. */
  readonly expected: number;
  /** Messages from peers this watch ignored (malformed, or from hosts it is not about). */
  readonly ignored: number;
  /** Cancels the watch on every host still waiting; resolves once it is done. */
  cancel(): Promise<WatchSummary>;
}

/** A fresh watch id: `w`, the time in base 36 and four random characters. */
export function newWatchId(): string {
  return newId("w");
}

export interface PreparedWatch {
  readonly prepared: "watch";
  resolved: ResolvedTarget;
  id: string;
  condition: WatchCondition;
  timeout: number;
  mode: WatchMode;
  signal?: AbortSignal;
}

/** Checks a watch without sending anything: `EBADSEL` for a bad selector, `EINVAL` naming a field. */
export function prepareWatch(opts: WatchOptions | PreparedWatch): PreparedWatch {
  if ("prepared" in opts) return opts;
  const resolved = resolveTarget(opts);
  const id = checkToken("watch id", opts.id ?? newWatchId());
  const condition = parseWatchCondition(opts.condition);
  const timeout = opts.timeout ?? DEFAULT_WATCH_TIMEOUT_S;
  if (!(typeof timeout === "number" && timeout >= 0.01 && timeout <= MAX_WATCH_TIMEOUT_S)) {
    throw new TuttiError(
      "EINVAL",
      `watch timeout ${timeout}: expected 0.01 to ${MAX_WATCH_TIMEOUT_S} seconds`,
    );
  }
  const mode = opts.mode ?? "all";
  if (mode !== "all" && mode !== "any") {
    throw new TuttiError("EINVAL", `watch mode ${JSON.stringify(mode)}: expected "all" or "any"`);
  }
  return { prepared: "watch", resolved, id, condition, timeout, mode, signal: opts.signal };
}
