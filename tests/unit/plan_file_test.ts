/**
 * Reading plan files: a whole plan read into its components, the forms of
 * dependencies and readiness, and every problem named by line and key at
 * once (unknown keys with a suggestion, bad values, unknown components,
 * cycles, duplicate steps, readiness naming a step that is not a run).
 */
import assert from "node:assert/strict";
import { parsePlan, PlanError } from "../../controller/plan/plan_file.ts";
import { withDependents } from "../../controller/plan/plan_runner.ts";

const GOOD = `name: kv
defaults:
  cwd: /tmp
  env: {A: "1"}
  timeout: 60
components:
  store:
    hosts: kv-1
    steps:
      - put: {src: [a.py, b.py], dest: /tmp/kv/}
      - run: python3 /tmp/kv/a.py
        name: server
        detach: true
    ready: {port: 7000, timeout: 30}
    down:
      - run: rm -rf /tmp/kv
  servers:
    hosts: "kv-[2-3]"
    after: [store]
    steps:
      - run: [python3, /tmp/kv/b.py]
        name: serve
        detach: true
        env: {B: "2"}
    ready:
      output: {step: serve, pattern: listening}
      hosts: 1
  client:
    where: {role: client}
    after: {servers: ready, store: started}
    steps:
      - run: ./load
        sync: true
      - get: {src: /tmp/result, dest: results}
  batch:
    hosts: b-1
    after: {client: completed}
    steps:
      - start: web
      - stop: [web, db]
`;

Deno.test("a whole plan is read into checked components", () => {
  const plan = parsePlan(GOOD, { source: "kv.yaml" });
  assert.equal(plan.name, "kv");
  assert.deepEqual(plan.components.map((c) => c.name), ["store", "servers", "client", "batch"]);
  const [store, servers, client, batch] = plan.components;
  assert.deepEqual(store.steps.map((s) => s.name), ["put-1", "server"]);
  assert.deepEqual(store.steps[1], {
    kind: "run",
    shell: "python3 /tmp/kv/a.py",
    env: { A: "1" },
    cwd: "/tmp",
    detach: true,
    sync: false,
    name: "server",
    line: 11,
  });
  assert.deepEqual(store.ready, {
    condition: { kind: "port", port: 7000 },
    timeout: 30,
    hosts: null,
  });
  assert.equal(store.down.length, 1);
  assert.deepEqual(servers.after, [{ component: "store", kind: "ready" }]);
  assert.deepEqual((servers.steps[0] as { env: unknown }).env, { A: "1", B: "2" });
  assert.equal(servers.ready?.step, "serve");
  assert.equal(servers.ready?.hosts, 1);
  assert.deepEqual(client.where, { role: "client" });
  assert.deepEqual(client.after, [
    { component: "servers", kind: "ready" },
    { component: "store", kind: "started" },
  ]);
  assert.equal((client.steps[0] as { sync: boolean }).sync, true);
  assert.equal((client.steps[0] as { timeout?: number }).timeout, 60);
  assert.deepEqual(client.steps[1], {
    kind: "get",
    paths: ["/tmp/result"],
    dir: "results",
    name: "get-1",
    line: 34,
  });
  assert.deepEqual(batch.steps.map((s) => s.kind), ["start", "stop"]);
  assert.deepEqual(batch.steps[0], { kind: "start", names: ["web"], name: "start-1", line: 39 });
});

Deno.test("a component's digest changes with its definition only", () => {
  const a = parsePlan(GOOD, { source: "kv.yaml" });
  const b = parsePlan(GOOD.replace("pattern: listening", "pattern: listening now"), {
    source: "kv.yaml",
  });
  const digests = (p: typeof a) => Object.fromEntries(p.components.map((c) => [c.name, c.digest]));
  const da = digests(a);
  const db = digests(b);
  assert.notEqual(da.servers, db.servers);
  assert.equal(da.store, db.store);
  assert.equal(da.client, db.client);
  // Comments and blank lines are not the definition.
  const c = parsePlan(GOOD.replace("components:", "# a comment\n\ncomponents:"), {
    source: "kv.yaml",
  });
  assert.deepEqual(digests(c), da);
  // What apply redoes: the changed component and everything that depends on it.
  assert.deepEqual(
    [...withDependents(a.components, new Set(["servers"]))].sort(),
    ["batch", "client", "servers"],
  );
  assert.deepEqual([...withDependents(a.components, new Set(["batch"]))], ["batch"]);
});

function problems(text: string): string[] {
  try {
    parsePlan(text, { source: "p.yaml" });
  } catch (e) {
    assert.ok(e instanceof PlanError, String(e));
    assert.equal(e.code, "EINVAL");
    return e.message.split("\n");
  }
  assert.fail("the plan was accepted");
}

Deno.test("every problem is named by line and key, all at once", () => {
  const lines = problems(`name: kv
components:
  store:
    hosts: kv-1
    stpes: []
    steps:
      - run: true
        detatch: true
      - run: x
        name: dup
      - run: y
        name: dup
    ready: {port: 7000, file: /x}
  web:
    hosts: w-1
    after: {store: up, stor: ready}
    steps: [{run: a, timeout: -1}]
  lonely:
    steps: [{put: {src: a}}]
`);
  assert.deepEqual(lines, [
    "p.yaml:5: components.store.stpes: unknown key (did you mean steps?)",
    "p.yaml:7: components.store.steps[0].run: expected a command line or a list (program and arguments), got true",
    "p.yaml:8: components.store.steps[0].detatch: unknown key (did you mean detach?)",
    'p.yaml:12: components.store.steps[2].name: step name "dup" is used twice',
    "p.yaml:13: components.store.ready: one condition only, got port and file",
    'p.yaml:16: components.web.after: store: expected started, ready or completed, got "up"',
    "p.yaml:17: components.web.steps[0].timeout: expected seconds, more than 0 and at most 604800, got -1",
    "p.yaml:18: components.lonely: hosts or where is missing: say where the component runs",
    "p.yaml:19: components.lonely.steps[0].put: dest is missing",
  ]);
});

Deno.test("dependencies: unknown components, cycles, readiness on a step that is not a run", () => {
  assert.deepEqual(
    problems(`components:
  a: {hosts: h, after: [b], steps: [{run: x}]}
  b: {hosts: h, after: {c: started}, steps: [{run: x}]}
  c: {hosts: h, after: [a], steps: [{run: x}]}
  d: {hosts: h, after: [aa], steps: [{run: x}]}
`),
    [
      "p.yaml:2: components.a.after: dependency cycle: a -> b -> c -> a",
      'p.yaml:5: components.d.after: no component "aa" (did you mean a?)',
    ],
  );
  assert.deepEqual(
    problems(`components:
  a:
    hosts: h
    steps: [{put: {src: x, dest: y}, name: up}]
    ready: {output: {step: up, pattern: ok}}
`),
    [
      'p.yaml:5: components.a.ready: step "up" is not a run step of a (its run steps: none)',
    ],
  );
  assert.deepEqual(problems("components: [a, b]\n"), [
    "p.yaml:1: components: expected a map of components, got a list",
  ]);
  assert.deepEqual(problems("components:\n  a: {hosts: h, steps: [{run: x}\n"), [
    "p.yaml:3: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]",
    "p.yaml:3: YAML syntax: Flow map in block collection must be sufficiently indented and end with a }",
  ]);
  assert.deepEqual(problems("components:\n  a.b: {hosts: h, steps: [{run: x}]}\n"), [
    'p.yaml:2: components.a.b: component name "a.b" is not valid: use 1-32 characters from A-Z a-z 0-9 _ -',
  ]);
});
