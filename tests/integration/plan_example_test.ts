/**
 * The README's example plan (examples/kv), run for real through the CLI on
 * five agents: files put on every node, a key-value store, two front servers
 * that wait for it to listen, a client load started at one instant on both
 * client nodes once every front server is ready, results brought back. Then
 * `plan status` and `plan down`. The plan's ports and directory are moved
 * to ones of this test's own, so that it can run beside others.
 */
import assert from "node:assert/strict";
import { exists, freePort, jsonLines } from "./harness.ts";
import { jetStreamWorld, opts } from "./transfer_support.ts";

const EXAMPLE = new URL("../../examples/kv/", import.meta.url).pathname;

interface StepJson {
  component: string;
  step: string;
  host: string;
  start: number;
  end: number | null;
  status: string;
}

Deno.test(
  "the example plan: store, front servers, a client load at one instant, results",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      const dir = `${world.dir}/kv`;
      const work = `${world.dir}/work`;
      await Deno.mkdir(dir);
      const store = freePort();
      const front = freePort();
      for (const f of ["kv_store.py", "kv_front.py", "kv_load.py"]) {
        await Deno.copyFile(`${EXAMPLE}${f}`, `${dir}/${f}`);
      }
      const text = (await Deno.readTextFile(`${EXAMPLE}kv.yaml`))
        .replaceAll("/tmp/tutti-kv", work)
        .replaceAll("7000", String(store))
        .replaceAll("7102", String(front))
        .replaceAll("7103", String(front + 1))
        .replace("$((7100 + ${TUTTI_HOST##*-}))", `$((${front - 2} + \${TUTTI_HOST##*-}))`);
      assert.notEqual(text, await Deno.readTextFile(`${EXAMPLE}kv.yaml`));
      await Deno.writeTextFile(`${dir}/kv.yaml`, text);
      await world.agentsNamed(["kv-1", "kv-2", "kv-3", "kv-4", "kv-5"]);

      const up = await world.controller(["plan", "up", `${dir}/kv.yaml`, "--json"]);
      assert.equal(up.code, 0, up.stdout + up.stderr);
      const events = jsonLines<Record<string, unknown>>(up.stdout);
      const summary = events.at(-1)!;
      assert.equal(summary.type, "summary");
      assert.equal(summary.ok, true);
      const states = Object.fromEntries(
        (summary.components as { name: string; status: string; hosts: string[] }[])
          .map((c) => [c.name, `${c.status} ${c.hosts.join(",")}`]),
      );
      assert.deepEqual(states, {
        code: "completed kv-1,kv-2,kv-3,kv-4,kv-5",
        store: "ready kv-1",
        front: "ready kv-2,kv-3",
        client: "completed kv-4,kv-5",
      });

      // Order: each component began only once what it waits for held.
      const steps = events.filter((e) => e.type === "step").map((e) => e.record as StepJson);
      const last = (c: string, s: string) =>
        Math.max(...steps.filter((r) => r.component === c && r.step === s).map((r) => r.end!));
      const first = (c: string, s: string) =>
        Math.min(...steps.filter((r) => r.component === c && r.step === s).map((r) => r.start));
      assert.ok(first("store", "store") >= last("code", "put-1"));
      assert.ok(first("front", "front") >= last("store", "ready"));
      assert.ok(first("client", "load") >= last("front", "ready"));

      // The results came back, one per client, each with every operation right.
      for (const host of ["kv-4", "kv-5"]) {
        const r = JSON.parse(await Deno.readTextFile(`${dir}/results/${host}/result.json`));
        assert.equal(r.client, host);
        assert.equal(r.ops, 1000);
        assert.equal(r.errors, 0);
      }
      // The Gantt chart has a row for each component and host.
      const svg = await Deno.readTextFile(
        `${world.dir}/controller/plans/${world.prefix}/kv.up.svg`,
      );
      for (const row of ["code kv-5", "store kv-1", "front kv-3", "client kv-4"]) {
        assert.ok(svg.includes(`>${row}<`), row);
      }

      const status = await world.controller(["plan", "status", "kv"]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /store +ready +kv-1 +ready now \(1\/1\)/);
      assert.match(status.stdout, /front \(kv-front-front-\w+\): running on kv-\[2-3\]/);

      const down = await world.controller(["plan", "down", `${dir}/kv.yaml`]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stderr, /plan kv down: 4 components: 4 down/);
      // Nothing of the plan runs any more, and the code is gone from the nodes.
      const ps = await world.controller(["ps", "--hosts", "kv-[1-5]", "--json"]);
      assert.doesNotMatch(ps.stdout, /kv-(store|front)-/);
      for (const h of ["kv-1", "kv-5"]) assert.equal(exists(`${work}/${h}`), false);
      const after = await world.controller(["plan", "status", "kv"]);
      assert.match(after.stdout, /no component is up/);
    } finally {
      await close();
    }
  },
);
