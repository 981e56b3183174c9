/**
 * Spawn rate on one agent: K `run true` requests sent at once over the raw
 * protocol, until the K-th exit event, beside the same K local spawns of
 * `true` at once from this (Deno) process, the agent's own way of spawning.
 */
import { encode, PROTOCOL_VERSION } from "../protocol/codec.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { Recorder, type Row, row } from "./figures.ts";
import { ProcExits } from "./proc_exits.ts";

const HOST = "b-1";
const TIMEOUT_MS = 60_000;

export async function spawnRateSection(ctx: BenchContext): Promise<Row[]> {
  await ctx.pool.grow(1);
  const { nc, pool } = ctx;
  const k = ctx.opts.quick ? 50 : 200;
  const run = pool.subjects.host(HOST, "run");
  const exits = await ProcExits.open(nc, pool.subjects, HOST);
  const tag = Date.now().toString(36);
  let batch = 0;

  const tutti = new Recorder(`tutti: ${k} run true at once on one agent`, "ms");
  const local = new Recorder(`${k} local spawns of true at once`, "ms");
  const tuttiOnce = (rec: Recorder) => async () => {
    const ids = Array.from({ length: k }, (_, i) => `sr-${tag}-${batch}-${i}`);
    batch++;
    const done = ids.map((id) => exits.expect(id, TIMEOUT_MS));
    const t0 = performance.now();
    for (const id of ids) {
      nc.publish(run, encode({ v: PROTOCOL_VERSION, id, argv: ["true"] }));
    }
    try {
      const all = await Promise.all(done);
      const bad = all.filter((e) => e.body.code !== 0).length;
      if (bad > 0) rec.fail(`${bad} of ${k} exited non-zero`);
      else rec.add(Math.max(...all.map((e) => e.at)) - t0);
    } catch (e) {
      for (const d of done) d.catch(() => {});
      rec.fail((e as Error).message);
    }
  };
  const localOnce = (rec: Recorder) => async () => {
    const t0 = performance.now();
    const all = await Promise.all(
      Array.from(
        { length: k },
        () =>
          new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" }).spawn()
            .status,
      ),
    );
    const bad = all.filter((s) => !s.success).length;
    if (bad > 0) rec.fail(`${bad} of ${k} exited non-zero`);
    else rec.add(performance.now() - t0);
  };
  const rounds = Math.max(3, Math.ceil(ctx.opts.rounds / 2));
  try {
    say(`spawn rate: ${k} at once, warm-up, then ${rounds} rounds`);
    const scratch = () => new Recorder("warm-up", "ms");
    await interleave(1, [tuttiOnce(scratch()), localOnce(scratch())]);
    await interleave(rounds, [tuttiOnce(tutti), localOnce(local)]);
  } finally {
    exits.close();
  }
  const t = tutti.done();
  const l = local.done();
  const rate = (ms: number) => Math.round(k / (ms / 1000));
  return [
    row(
      "spawnrate",
      `spawn rate, ${k} true at once on one agent`,
      t,
      l,
      undefined,
      `${rate(t.summary.median)} vs ${rate(l.summary.median)} processes/s (medians)`,
    ),
  ];
}
