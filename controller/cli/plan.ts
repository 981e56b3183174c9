/**
 * `controller plan ACTION`: a dependency plan (controller/plan/).
 *
 * - `up FILE`: brings every component up, each once what it waits for
 *   holds; a live line per state change, a Gantt chart (SVG) at the end.
 * - `apply FILE`: after an edit, redoes only what changed and what depends
 *   on it. `down FILE|NAME`: takes the plan down, dependents first.
 * - `status FILE|NAME`: the recorded state, checked against the hosts now.
 * - `check FILE`: reads the file and reports every problem, sends nothing.
 *
 * Exit status 1 when a component failed (or a take-down step did).
 */
import { flag, str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import {
  ALERT_OPTIONS,
  Alerter,
  alertsWanted,
  defaultStateDir,
  ganttSvg,
  openRecordDir,
  parseAlertOptions,
  type Plan,
  planApply,
  planDown,
  type PlanFailure,
  planRecord,
  planState,
  planStatus,
  planUp,
  readPlanFile,
  writeRecord,
} from "../mod.ts";
import { PlanView, statusText } from "../render/plan.ts";
import type { Verb } from "./verb.ts";

const ACTIONS = ["up", "apply", "down", "status", "check"];

export const planVerb: Verb = {
  name: "plan",
  summary: "a dependency plan: components brought up in order once what they need is ready",
  options: {
    ...ALERT_OPTIONS,
    record: { type: "string" },
    gantt: { type: "string" },
    "state-dir": { type: "string" },
    json: { type: "boolean" },
  },
  usage: `usage: controller plan up FILE [--gantt SVG] [--record DIR] [--alert-...] [--json]
       controller plan apply FILE [--gantt SVG] [--record DIR] [--alert-...] [--json]
       controller plan down FILE|NAME [--record DIR] [--json]
       controller plan status FILE|NAME [--json]
       controller plan check FILE
A plan (YAML) places components on node sets. Each has steps (run a command or a service, put
or get files, start or stop supervised programs), a readiness condition (a watch: port, file,
output, exit, state, command) and dependencies on other components being started, ready or
completed. up brings each component up as soon as what it waits for holds, so independent ones
run side by side; a failing step stops what depends on it and names host, step and error.
apply, after an edit, takes down and brings up again only the components whose definition
changed and those that depend on them. down takes every component down, dependents first:
its down steps, then its services killed and its programs stopped. See README "Plans".

  --record DIR         write the operation's record into DIR (created if needed): every
                       component's definition, every step on every host, the hosts' facts and
                       the Gantt chart; see \`controller record\`
  --alert-exec CMD, --alert-webhook URL, --alert-syslog, --alert-rate N, --alert-timeout D
                       an alert for each failed step (as \`controller alerts\` sends them)
  --gantt SVG          where to write the Gantt chart of every step on every host (default:
                       beside the plan's state, printed at the end)
  --state-dir DIR      where plans' states are kept (default $TUTTI_STATE_DIR, else
                       ~/.local/state/tutti)
  --json               one JSON object per event (or the status) on stdout`,

  async main(p, ctx) {
    const [action, target, ...extra] = p.positionals;
    if (action === undefined || !ACTIONS.includes(action)) {
      throw new UsageError(
        action === undefined
          ? `missing ACTION: ${ACTIONS.join(", ")}`
          : `unknown action ${JSON.stringify(action)}: ${ACTIONS.join(", ")}`,
      );
    }
    if (target === undefined) throw new UsageError(`plan ${action}: missing FILE`);
    if (extra.length > 0) throw new UsageError(`plan ${action}: too many arguments`);
    const stateDir = str(p.values, "state-dir") ?? defaultStateDir();
    const json = flag(p.values, "json");
    if (action === "check") {
      const plan = await readPlanFile(target);
      ctx.out.stdout(
        `${target}: plan ${plan.name}, ${plan.components.length} components: ${
          plan.components.map((c) => c.name).join(", ")
        }\n`,
      );
      return 0;
    }
    // down and status take the plan's name as well: what is up is in its state.
    const byName = (action === "down" || action === "status") && !/\.ya?ml$/.test(target);
    const plan: Plan = byName
      ? { name: target, source: target, components: [] }
      : await readPlanFile(target);
    const c = await ctx.connect();
    if (action === "status") {
      const s = await planStatus(c, plan.name, { stateDir });
      if (!s) {
        ctx.out.stderr(`plan ${plan.name}: never brought up (no state in ${stateDir})\n`);
        return 1;
      }
      ctx.out.stdout(json ? JSON.stringify(s) + "\n" : statusText(s));
      return s.components.some((x) => x.status === "failed") ? 1 : 0;
    }
    const recordDir = str(p.values, "record");
    if (recordDir !== undefined) await openRecordDir(recordDir);
    const alertOpts = parseAlertOptions(p.values);
    const alerter = alertsWanted(alertOpts)
      ? Alerter.open(alertOpts, (m) => ctx.out.stderr(`controller plan: ${m}\n`))
      : null;
    // The definitions `down` takes down are in the state, not in the file.
    const definitions = action === "down"
      ? Object.values((await planState(c, plan.name, { stateDir }))?.components ?? {})
        .map((x) => x.definition)
      : plan.components;
    const abort = new AbortController();
    const onInt = () => abort.abort();
    Deno.addSignalListener("SIGINT", onInt);
    try {
      const opts = {
        stateDir,
        signal: abort.signal,
        onFailure: (f: PlanFailure) =>
          void alerter?.stepFailed({ plan: plan.name, ...f, host: f.host ?? "" }),
      };
      const op = action === "up"
        ? planUp(c, plan, opts)
        : action === "apply"
        ? planApply(c, plan, opts)
        : planDown(c, plan, opts);
      const view = new PlanView(ctx.out, json);
      // The status area's times move on between events too.
      const ticking = json ? undefined : setInterval(() => view.tick(), 1000);
      let summary;
      try {
        for await (const e of op) view.event(e);
        summary = await op.done;
      } finally {
        clearInterval(ticking);
      }
      const base = `${stateDir}/plans/${c.prefix}/${plan.name}`;
      const gantt = str(p.values, "gantt") ?? `${base}.${summary.action}.svg`;
      await Deno.writeTextFile(gantt, ganttSvg(summary));
      const files = [`gantt: ${gantt}`];
      if (recordDir !== undefined) {
        const record = await planRecord(c, plan, summary, definitions);
        files.push(`record: ${await writeRecord(recordDir, record)}`);
      }
      view.end(summary, files);
      await alerter?.drain();
      return summary.ok ? 0 : 1;
    } finally {
      Deno.removeSignalListener("SIGINT", onInt);
    }
  },
};
