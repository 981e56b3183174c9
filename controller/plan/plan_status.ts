/**
 * `plan status`: what the plan's state says each component is, checked
 * against the hosts now: whether each service it launched still runs there
 * (or how it ended), and whether its readiness condition still holds.
 */
import type { Controller } from "../controller.ts";
import type { ComponentStatus } from "./plan_events.ts";
import type { PlanState } from "./plan_state.ts";
import { conditionFor } from "./plan_file.ts";
import { howItEnded, procId } from "./step_runner.ts";
import { planState } from "./plan_runner.ts";

/** Seconds a readiness condition is given to hold again when checked. */
const RECHECK_S = 3;

export interface ServiceLive {
  step: string;
  proc: string;
  running: string[];
  /** Hosts where it ended, and how: `exited with code 0`, `was killed by SIGTERM`. */
  ended: { host: string; how: string }[];
  /** Hosts that did not answer, or no longer know the process. */
  unknown: string[];
}

export interface ComponentLive {
  name: string;
  /** As last recorded by up, apply or down. */
  status: ComponentStatus;
  hosts: string[];
  services: ServiceLive[];
  /** Hosts meeting the readiness condition now, of those needed (when it has one). */
  ready?: { met: number; needed: number };
  updated: number;
}

export interface PlanStatus {
  state: PlanState;
  components: ComponentLive[];
}

export async function planStatus(
  c: Controller,
  plan: string,
  opts: { stateDir?: string } = {},
): Promise<PlanStatus | null> {
  const state = await planState(c, plan, opts);
  if (!state) return null;
  const components = await Promise.all(
    Object.entries(state.components).map(async ([name, st]): Promise<ComponentLive> => {
      const services = await Promise.all(st.services.map(async (s): Promise<ServiceLive> => {
        const replies = await c.ps({ hosts: s.hosts.join(",") }, { procs: [s.proc], all: true })
          .done;
        const live: ServiceLive = {
          step: s.step,
          proc: s.proc,
          running: [],
          ended: [],
          unknown: [],
        };
        for (const r of replies) {
          const p = r.ok ? r.procs[0] : undefined;
          if (!p) live.unknown.push(r.host);
          else if (p.state === "running") live.running.push(r.host);
          else {
            live.ended.push({
              host: r.host,
              how: howItEnded(p),
            });
          }
        }
        return live;
      }));
      const out: ComponentLive = {
        name,
        status: st.status,
        hosts: st.hosts,
        services,
        updated: st.updated,
      };
      const ready = st.definition.ready;
      if (ready && st.hosts.length > 0 && ["ready", "completed"].includes(st.status)) {
        const condition = conditionFor(ready, (step) => procId(plan, name, step, st.epoch));
        const summary = await c.watch({ hosts: st.hosts.join(","), condition, timeout: RECHECK_S })
          .done;
        out.ready = {
          met: summary.hosts.filter((h) => h.status === "met").length,
          needed: ready.hosts ?? st.hosts.length,
        };
      }
      return out;
    }),
  );
  return { state, components };
}
