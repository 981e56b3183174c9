/**
 * What the controller remembers of a plan between commands: for each
 * component, the definition it was brought up with (its digest), where it
 * ran, and what it left running (service process ids, programs started).
 * `plan status` compares it with what the hosts say, `plan down` takes down
 * what it lists, `plan apply` redoes what changed since.
 *
 * One JSON file per plan and prefix: `<state dir>/plans/<prefix>/<plan>.json`,
 * written to a temporary name and renamed, so a reader never sees half of it.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { ComponentStatus, PlanFailure, StepRecord } from "./plan_events.ts";
import type { Component } from "./plan_types.ts";

export interface ServiceState {
  step: string;
  /** The process id, the same on every host. */
  proc: string;
  hosts: string[];
}

export interface ComponentState {
  /** The definition it was brought up with: `plan down` and `apply` use it, not the edited file. */
  definition: Component;
  digest: string;
  status: ComponentStatus;
  hosts: string[];
  /** A subject token that makes this bring-up's process ids new. */
  epoch: string;
  services: ServiceState[];
  /** Supervised programs its steps started, per host set. */
  programs: { names: string[]; hosts: string[] }[];
  failure?: PlanFailure;
  /** ms since the epoch */
  updated: number;
}

export interface PlanState {
  v: 1;
  plan: string;
  /** The plan file, as given to `up`/`apply`. */
  source: string;
  prefix: string;
  components: Record<string, ComponentState>;
  /** The steps of the last operation (up, apply or down), for the Gantt chart and records. */
  steps: StepRecord[];
  updated: number;
}

export class PlanStateFile {
  constructor(readonly path: string) {}

  static at(stateDir: string, prefix: string, plan: string): PlanStateFile {
    return new PlanStateFile(`${stateDir}/plans/${prefix}/${plan}.json`);
  }

  /** The state, or null when this plan was never brought up here. */
  async read(): Promise<PlanState | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw new TuttiError("EIO", `cannot read plan state ${this.path}: ${(e as Error).message}`);
    }
    try {
      const state = JSON.parse(text) as PlanState;
      if (state?.v !== 1 || typeof state.components !== "object") throw new Error("not a v1 state");
      return state;
    } catch (e) {
      throw new TuttiError(
        "EINVAL",
        `plan state ${this.path} is not valid (${(e as Error).message}): remove it to start afresh`,
      );
    }
  }

  async write(state: PlanState): Promise<void> {
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(state, null, 1));
    await Deno.rename(tmp, this.path);
  }
}
