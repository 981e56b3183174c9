/**
 * The work queue at some scale and through a broker restart, on a real
 * nats-server with JetStream: 1000 tasks over 5 agents × 2 slots each run
 * exactly once with the right output and never more than 2 at once on a
 * host; the broker killed and restarted mid-queue loses nothing.
 */
import assert from "node:assert/strict";
import { until } from "./harness.ts";
import { jetStreamWorld, opts } from "./transfer_support.ts";
import { maxConcurrency, results } from "./queue_support.ts";

/** Each task appended its argument to its own file: exactly once means one line each. */
async function assertOnce(out: string, args: string[]): Promise<void> {
  for (const a of args) assert.equal(await Deno.readTextFile(`${out}/${a}`), `${a}\n`, a);
}

Deno.test("queue: 1000 tasks over 5 agents x 2 slots, each done exactly once", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    await world.agentsNamed(["w-1", "w-2", "w-3", "w-4", "w-5"]);
    const out = `${world.dir}/out`;
    await Deno.mkdir(out);
    const args = Array.from({ length: 1000 }, (_, i) => `a${i}`);
    await Deno.writeTextFile(`${world.dir}/list`, args.join("\n") + "\n");
    const r = await world.controller([
      "queue",
      "submit",
      "--hosts",
      "w-[1-5]",
      "--slots",
      "2",
      "--name",
      "big",
      "--tasks",
      `${world.dir}/list`,
      "--",
      `echo {} >> ${out}/{}; echo out-{}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1000 tasks: 1000 done in [\d.]+s on w-\[1-5\]/);
    await assertOnce(out, args);
    const tasks = await results(world, "big");
    assert.equal(tasks.length, 1000);
    assert.ok(tasks.every((t) => t.state === "done" && t.attempt === 1));
    for (const [host, n] of maxConcurrency(tasks)) assert.ok(n <= 2, `${host} ran ${n} at once`);
    const t = tasks[500];
    const logs = await world.controller(["logs", t.host, t.proc]);
    assert.equal(logs.stdout, `out-${t.args[0]}\n`);
  } finally {
    await close();
  }
});

Deno.test("queue: the broker restarted mid-queue loses nothing", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    await world.agentsNamed(["b-1", "b-2", "b-3"]);
    const out = `${world.dir}/out`;
    await Deno.mkdir(out);
    const args = Array.from({ length: 150 }, (_, i) => `a${i}`);
    const c = world.spawnController([
      "queue",
      "submit",
      "--hosts",
      "b-[1-3]",
      "--slots",
      "2",
      "--name",
      "bq",
      "--json",
      "--",
      `sleep 0.05; echo {} >> ${out}/{}`,
      ":::",
      ...args,
    ]);
    await until("30 tasks done", () => {
      try {
        return [...Deno.readDirSync(out)].length >= 30;
      } catch {
        return false;
      }
    }, 30_000);
    await world.broker.stop();
    await world.broker.restart();
    const r = await c.result(90_000);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(summary.counts, {
      pending: 0,
      running: 0,
      done: 150,
      failed: 0,
      cancelled: 0,
    });
    const tasks = await results(world, "bq");
    await assertOnce(out, args);
    assert.equal(tasks.length, 150);
    assert.ok(tasks.every((t) => t.state === "done"));
  } finally {
    await close();
  }
});
