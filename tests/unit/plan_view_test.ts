/**
 * The plan's terminal view: a line per state change with its time and node
 * set, failures named, and a status area with a row per component.
 */
import assert from "node:assert/strict";
import { MemoryOut } from "../../controller/render/out.ts";
import { PlanView } from "../../controller/render/plan.ts";

Deno.test("plan view: a line per change, a status row per component", () => {
  const out = new MemoryOut();
  const view = new PlanView(out, false);
  const at = Date.now();
  view.event({ type: "component", component: "db", status: "starting", hosts: [], at });
  view.event({
    type: "component",
    component: "web",
    status: "waiting",
    hosts: [],
    at,
    waitingFor: [{ component: "db", kind: "ready" }],
  });
  view.event({ type: "component", component: "db", status: "started", hosts: ["n-1"], at });
  view.event({ type: "readiness", component: "db", met: 0, needed: 1, at });
  const area = out.statuses.at(-1)!.split("\n");
  assert.match(area[0], /^plan: 1 started, 1 waiting, \d+\.\ds$/);
  assert.match(area[1], /^ {2}db {9}started +\d+\.\ds {2}n-1 {2}0\/1 ready$/);
  assert.match(area[2], /^ {2}web {8}waiting +\d+\.\ds {2}-$/);
  view.event({
    type: "component",
    component: "db",
    status: "failed",
    hosts: ["n-1"],
    at,
    failure: {
      component: "db",
      step: "ready",
      host: "n-1",
      error: { code: "ETIMEDOUT", message: "not ready within 30s" },
    },
  });
  const lines = out.err.trimEnd().split("\n");
  assert.match(lines[0], /^ +\d+\.\d\ds db +starting$/);
  assert.match(lines[1], /^ +\d+\.\d\ds web +waiting for db ready$/);
  assert.match(lines[2], /^ +\d+\.\d\ds db +started +on n-1$/);
  assert.match(
    lines[3],
    /^ +\d+\.\d\ds db +failed +on n-1: step ready on n-1: ETIMEDOUT not ready within 30s$/,
  );
});
