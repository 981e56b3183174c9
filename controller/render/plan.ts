/**
 * How a plan reads on a terminal. Each change of a component's state is a
 * line on stderr, with the time since the start and its node set:
 *
 * ```text
 *   0.00s store    starting   on kv-1
 *   0.41s store    ready      on kv-1 (1/1 hosts)
 *   0.41s servers  starting   on kv-[2-3]
 *   1.37s client   failed     on c-[1-2]: step load on c-2: EEXIT exited with code 1: ...
 * ```
 *
 * and below them a status area keeps a row per component (its state, for
 * how long, its node set, how many hosts are ready), redrawn in place. At
 * the end, one line per component, the failures, and the summary. With
 * `--json`, one JSON object per event on stdout instead.
 */
import {
  type ComponentLive,
  type ComponentStatus,
  describeFailure,
  fold,
  type PlanEvent,
  type PlanStatus,
  type PlanSummary,
} from "../mod.ts";
import type { Out } from "./out.ts";

const NAME_WIDTH = 10;

export class PlanView {
  readonly #began = Date.now();
  readonly #states = new Map<
    string,
    { status: ComponentStatus; hosts: string[]; ready?: string; since: number }
  >();

  constructor(private readonly out: Out, private readonly json: boolean) {}

  event(e: PlanEvent): void {
    if (this.json) {
      this.out.stdout(JSON.stringify(e) + "\n");
      return;
    }
    if (e.type === "component") {
      const was = this.#states.get(e.component);
      this.#states.set(e.component, {
        status: e.status,
        hosts: e.hosts.length > 0 ? e.hosts : was?.hosts ?? [],
        ready: was?.ready,
        since: e.at,
      });
      const where = e.hosts.length > 0 ? ` on ${fold(e.hosts)}` : "";
      const why = e.failure
        ? `: ${e.status === "failed" ? describeFailure(e.failure, false) : e.failure.error.message}`
        : e.waitingFor
        ? ` for ${e.waitingFor.map((d) => `${d.component} ${d.kind}`).join(", ")}`
        : "";
      if (e.status !== "pending") {
        this.out.stderr(
          `${
            `${this.#clock(e.at)} ${e.component.padEnd(NAME_WIDTH)} ${e.status.padEnd(10)}${where}`
              .trimEnd()
          }${why}\n`,
        );
      }
    } else if (e.type === "readiness") {
      const s = this.#states.get(e.component);
      if (s) s.ready = `${e.met}/${e.needed} ready`;
    }
    this.out.status(this.line());
  }

  /** Redraws the status area (its times), once something is shown. */
  tick(): void {
    if (!this.json && this.#states.size > 0) this.out.status(this.line());
  }

  /**
   * The status area: a row per component (its state, since when, its node
   * set, its readiness count while it waits for it), under a line of counts.
   */
  line(): string {
    const now = Date.now();
    const counts = new Map<string, number>();
    for (const s of this.#states.values()) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const rows = [...this.#states].map(([name, s]) =>
      `  ${name.padEnd(NAME_WIDTH)} ${s.status.padEnd(10)} ${
        `${((now - s.since) / 1000).toFixed(1)}s`.padStart(7)
      }  ${s.hosts.length ? fold(s.hosts) : "-"}${
        s.ready && s.status === "started" ? `  ${s.ready}` : ""
      }`
    );
    const head = `plan: ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}, ${
      ((now - this.#began) / 1000).toFixed(1)
    }s`;
    return [head, ...rows].join("\n");
  }

  end(summary: PlanSummary, files: string[] = []): void {
    this.out.status(null);
    if (this.json) {
      this.out.stdout(JSON.stringify({ type: "summary", ...summary, steps: undefined }) + "\n");
      return;
    }
    this.out.stderr(summaryText(summary, files));
  }

  #clock(at: number): string {
    return `${((at - this.#began) / 1000).toFixed(2)}s`.padStart(8);
  }
}

/** The end of an operation: a row per component, the failures, one summary line. */
export function summaryText(summary: PlanSummary, files: string[] = []): string {
  const lines: string[] = [""];
  for (const c of summary.components) {
    const took = c.started !== null && c.ended !== null
      ? `${((c.ended - c.started) / 1000).toFixed(2)}s`
      : "";
    lines.push(
      `  ${c.name.padEnd(NAME_WIDTH)} ${c.status.padEnd(10)} ${took.padStart(8)}  ${
        c.hosts.length ? fold(c.hosts) : "-"
      }`,
    );
  }
  for (const f of summary.failures) lines.push(`  ! ${describeFailure(f)}`);
  const n = summary.components.length;
  const counts = new Map<string, number>();
  for (const c of summary.components) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const parts = [...counts].map(([s, k]) => `${k} ${s}`).join(", ");
  const wall = ((summary.ended - summary.started) / 1000).toFixed(2);
  lines.push(
    `plan ${summary.plan} ${summary.action}: ${n} component${n === 1 ? "" : "s"}: ${parts}` +
      ` in ${wall}s${summary.redone ? ` (redone: ${summary.redone.join(", ") || "none"})` : ""}`,
  );
  for (const f of files) lines.push(f);
  return lines.join("\n") + "\n";
}

/** `plan status`: a row per component, its services on its hosts, its readiness now. */
export function statusText(s: PlanStatus): string {
  const lines = [
    `plan ${s.state.plan} (${s.state.source}), last changed ${
      new Date(s.state.updated).toISOString()
    }`,
  ];
  if (s.components.length === 0) lines.push("  no component is up");
  for (const c of s.components) {
    lines.push(
      `  ${c.name.padEnd(NAME_WIDTH)} ${c.status.padEnd(10)} ${
        c.hosts.length ? fold(c.hosts) : "-"
      }${readyText(c)}`,
    );
    for (const sv of c.services) {
      const parts: string[] = [];
      if (sv.running.length) parts.push(`running on ${fold(sv.running)}`);
      for (const e of sv.ended) parts.push(`${e.how} on ${e.host}`);
      if (sv.unknown.length) parts.push(`unknown on ${fold(sv.unknown)}`);
      lines.push(`    ${sv.step} (${sv.proc}): ${parts.join(", ") || "no host"}`);
    }
  }
  return lines.join("\n") + "\n";
}

function readyText(c: ComponentLive): string {
  if (!c.ready) return "";
  return c.ready.met >= c.ready.needed
    ? `  ready now (${c.ready.met}/${c.ready.needed})`
    : `  NOT ready now (${c.ready.met}/${c.ready.needed})`;
}
