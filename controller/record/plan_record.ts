/**
 * The record of a plan operation (`plan up|apply|down --record DIR`): the
 * shared header (the hosts every component reached, and what each host
 * was), the definition of every component as it was carried out, each
 * component's outcome, every step on every host with its times and
 * outcome, the failures, and the Gantt chart. `record diff` compares two
 * by step and host (`recordOutcomes`, key `host/component.step`).
 */
import type { Controller } from "../controller.ts";
import type { Component, Plan } from "../plan/plan_types.ts";
import type { ComponentResult, PlanFailure, PlanSummary, StepRecord } from "../plan/plan_events.ts";
import { ganttSvg } from "../plan/gantt_svg.ts";
import { recordHeader } from "./record_header.ts";
import type { RecordHeader, RecordOutcome } from "./record_types.ts";

export interface PlanBody {
  name: string;
  source: string;
  action: PlanSummary["action"];
  ok: boolean;
  /** Each component's definition, as carried out (down: as it was brought up). */
  definitions: Component[];
  components: ComponentResult[];
  steps: StepRecord[];
  failures: PlanFailure[];
  redone?: string[];
  /** The Gantt chart of the steps, an SVG document. */
  gantt: string;
}

/** A type, not an interface: so that it is one of `AnyRecord`'s (an open body). */
export type PlanRecord = RecordHeader & { kind: "plan"; plan: PlanBody };

/**
 * Builds the record of `summary`: asks every host the plan reached for its
 * facts (a ping), so a host that went away meanwhile has none.
 */
export async function planRecord(
  c: Controller,
  plan: Plan,
  summary: PlanSummary,
  definitions: Component[] = plan.components,
): Promise<PlanRecord> {
  const hosts = [...new Set(summary.components.flatMap((x) => x.hosts))];
  const pings = hosts.length === 0 ? [] : await c.ping({ hosts: hosts.join(",") }).done;
  const header = recordHeader({
    kind: "plan",
    id: `${plan.name}-${summary.action}-${summary.started.toString(36)}`,
    started: summary.started,
    ended: summary.ended,
    selector: {},
    hosts,
    pings,
  });
  return {
    ...header,
    kind: "plan",
    plan: {
      name: plan.name,
      source: plan.source,
      action: summary.action,
      ok: summary.ok,
      definitions,
      components: summary.components,
      steps: summary.steps,
      failures: summary.failures,
      ...(summary.redone ? { redone: summary.redone } : {}),
      gantt: ganttSvg(summary),
    },
  };
}

/** One outcome per step and host: `n-2/front.serve`. */
export function planOutcomes(r: PlanRecord): RecordOutcome[] {
  return r.plan.steps.map((s): RecordOutcome => {
    const o: RecordOutcome = {
      key: `${s.host}/${s.component}.${s.step}`,
      host: s.host,
      status: s.status,
    };
    if (s.error) o.error = s.error.code;
    if (s.end !== null) o.duration = s.end - s.start;
    return o;
  });
}
