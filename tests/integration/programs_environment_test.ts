/**
 * What a program's definition does to the process, checked from inside the
 * child (env, workingdir, umask, stdout: discard, the default stderr file),
 * and what `controller programs status` prints.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { exists, until, World } from "./harness.ts";
import { closeWorld, marker, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("env, workingdir, umask and stdout: discard take effect in the child", opts, async () => {
  const world = await World.create();
  try {
    const tag = marker();
    const out = `${world.dir}/seen`;
    const work = `${world.dir}/work`;
    Deno.mkdirSync(out);
    Deno.mkdirSync(work);
    // $$ is the shell: its fd 1 is the program's stdout (the redirections are its commands').
    const script = [
      `echo "$STARTED_BY $ANSWER $TUTTI_PROCESS" > ${out}/env`,
      `pwd > ${out}/cwd`,
      `umask > ${out}/umask`,
      `fd1=$(readlink /proc/$$/fd/1)`,
      `echo "$fd1" > ${out}/stdout`,
      `touch made`,
      `echo to-stdout`,
      `echo to-stderr >&2`,
      `touch ${out}/done`,
      `exec sleep 1000.${tag}`,
    ].join("; ");
    const config = writeConfig(
      world,
      `programs:
  probe:
    cmd: ["/bin/sh", "-c", ${JSON.stringify(script)}]
    workingdir: ${work}
    umask: 027
    stdout: discard
    env: {STARTED_BY: tutti, ANSWER: 42}
    starttime: 0.2
`,
    );
    const { agent, log } = await supervisingAgent(world, "h1", config);
    await log.reached("probe", "RUNNING");
    // The child's writes have no event of their own: polled, with a deadline.
    await until("the probe to finish writing", () => exists(`${out}/done`));
    const read = (f: string) => Deno.readTextFileSync(`${out}/${f}`).trim();
    strictEqual(read("env"), "tutti 42 probe");
    strictEqual(read("cwd"), work);
    strictEqual(read("umask"), "0027");
    strictEqual(read("stdout"), "/dev/null");
    strictEqual(Deno.statSync(`${work}/made`).mode! & 0o777, 0o640);
    // stderr went to its default file under the state dir; stdout nowhere.
    const programsDir = `${agent.stateDir}/programs`;
    await until("stderr in its file", () => exists(`${programsDir}/probe.stderr`));
    strictEqual(Deno.readTextFileSync(`${programsDir}/probe.stderr`), "to-stderr\n");
    ok(!exists(`${programsDir}/probe.stdout`), "no stdout file");
    const tail = await world.controller(["programs", "tail", "--hosts", "h1", "probe"]);
    strictEqual(tail.code, 0, tail.stderr);
    strictEqual(tail.stdout, "");
    const err = await world.controller(["programs", "tail", "--stderr", "--hosts", "h1", "probe"]);
    strictEqual(err.stdout, "to-stderr\n");
    log.close();
  } finally {
    await closeWorld(world);
  }
});

Deno.test(
  "controller programs status prints supervisorctl's lines prefixed by host",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const config = writeConfig(
        world,
        `programs:
  nginx:
    cmd: sleep 1000.${tag}
    starttime: 0.2
  web:
    cmd: sleep 1001.${tag}
    numprocs: 2
    starttime: 0.2
  manual:
    cmd: sleep 1002.${tag}
    autostart: false
`,
      );
      const one = await supervisingAgent(world, "h1", config);
      const two = await supervisingAgent(world, "h2", config);
      for (const { log } of [one, two]) {
        for (const p of ["nginx", "web:0", "web:1"]) await log.reached(p, "RUNNING");
      }

      const r = await world.controller(["programs", "status", "--hosts", "h[1-2]"]);
      strictEqual(r.code, 0, r.stderr);
      strictEqual(r.stderr, "");
      const lines = r.stdout.trimEnd().split("\n");
      deepStrictEqual(lines.map((l) => l.split(/\s+/).slice(0, 3).join(" ")), [
        "h1: nginx RUNNING",
        "h1: web:0 RUNNING",
        "h1: web:1 RUNNING",
        "h1: manual STOPPED",
        "h2: nginx RUNNING",
        "h2: web:0 RUNNING",
        "h2: web:1 RUNNING",
        "h2: manual STOPPED",
      ]);
      // supervisorctl's columns: names padded to 30 + 3, states to 10.
      match(lines[0], /^h1: nginx {28}RUNNING {3}pid \d+, uptime 0:00:0\d$/);
      strictEqual(lines[3], `h1: ${"manual".padEnd(33)}${"STOPPED".padEnd(10)}Not started`);

      const json = await world.controller(["programs", "status", "--hosts", "h1", "--json", "web"]);
      strictEqual(json.code, 0, json.stderr);
      const rows = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      deepStrictEqual(rows.map((x) => [x.host, x.name, x.program, x.state]), [
        ["h1", "web:0", "web", "RUNNING"],
        ["h1", "web:1", "web", "RUNNING"],
      ]);
      ok(rows.every((x) => typeof x.pid === "number" && typeof x.uptime === "number"));

      // An unknown name fails the host, a host that does not answer too.
      const bad = await world.controller([
        "programs",
        "status",
        "--hosts",
        "h1,h9",
        "--ack-timeout",
        "1s",
        "nginx",
        "nope",
      ]);
      strictEqual(bad.code, 1);
      match(bad.stdout, /^h1: nginx +RUNNING +pid \d+/);
      ok(bad.stderr.includes("h1: ESRCH nope: no such process\n"), bad.stderr);
      ok(bad.stderr.endsWith("2 hosts: 0 ok, 1 failed (h1), 1 no response (h9)\n"), bad.stderr);
      one.log.close();
      two.log.close();
    } finally {
      await closeWorld(world);
    }
  },
);
