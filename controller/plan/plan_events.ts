/**
 * What a plan operation (`up`, `apply`, `down`) reports while it goes, and
 * what it returns: each component's state, each step on each host with its
 * times (what the Gantt chart draws), and each failure named by component,
 * step and host.
 */
import type { WireError } from "../../protocol/errors.ts";
import type { DependencyKind } from "./plan_types.ts";

/**
 * Where a component is:
 * - `pending`: not reached yet; `waiting`: for its dependencies;
 * - `starting`: its steps run; `started`: they are all done;
 * - `ready`: its readiness watch holds; `completed`: its services exited 0;
 * - `failed`: one of its steps (or its readiness) failed;
 * - `blocked`: a dependency failed or was blocked, so it never started;
 * - `cancelled`: the operation was aborted before it was over;
 * - `kept`: `apply` left it as it was (its definition did not change);
 * - `stopping`, `down`: taken down by `plan down` (or `apply` before redoing it).
 */
export type ComponentStatus =
  | "pending"
  | "waiting"
  | "starting"
  | "started"
  | "ready"
  | "completed"
  | "failed"
  | "blocked"
  | "cancelled"
  | "kept"
  | "stopping"
  | "down";

/** One step (or readiness wait, or take-down step) on one host. */
export interface StepRecord {
  component: string;
  /** The step's name; `ready` for the readiness watch; `down:<name>` for a take-down step. */
  step: string;
  host: string;
  /** ms since the epoch: when it began and ended on that host (`end` null while it runs). */
  start: number;
  end: number | null;
  status: "running" | "ok" | "failed";
  /** A run step: its process id on the host (`controller logs HOST ID`). */
  proc?: string;
  /** For people: `exited with code 0`, `127.0.0.1:7000 is listening`. */
  detail?: string;
  error?: WireError;
}

/** A failure, named precisely: which component, which step, which host, what error. */
export interface PlanFailure {
  component: string;
  step: string;
  /** Null when the step failed as a whole (no host matched, an upload that failed). */
  host: string | null;
  error: WireError;
}

export type PlanEvent =
  | {
    type: "component";
    component: string;
    status: ComponentStatus;
    /** The node set it resolved to, once known. */
    hosts: string[];
    at: number;
    /** failed, blocked: why. */
    failure?: PlanFailure;
    /** waiting: what for. */
    waitingFor?: { component: string; kind: DependencyKind }[];
  }
  | { type: "step"; record: StepRecord }
  /** A readiness watch: how many hosts are ready of how many needed. */
  | { type: "readiness"; component: string; met: number; needed: number; at: number };

export interface ComponentResult {
  name: string;
  status: ComponentStatus;
  hosts: string[];
  /** ms since the epoch; null when it never began or is not over. */
  started: number | null;
  ended: number | null;
  failure?: PlanFailure;
}

export interface PlanSummary {
  plan: string;
  action: "up" | "apply" | "down";
  /** True when no component failed or was blocked or cancelled. */
  ok: boolean;
  /** ms since the epoch */
  started: number;
  ended: number;
  components: ComponentResult[];
  steps: StepRecord[];
  failures: PlanFailure[];
  /** apply: the components redone (changed, or depending on one that changed), in order. */
  redone?: string[];
}
