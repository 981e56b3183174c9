/**
 * 1000 file watches on one agent, all in one directory, as a user would set
 * them up: files created before the watch, while the watches are being
 * requested, and after, one `touch` process after another in a shuffled
 * order. Every watch is met and none times out (before the fix, with 200
 * watches, 41 to 88 of them ended "did not appear within 60s" while their
 * file existed).
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { ask, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const N = 1000;

function shuffled<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

Deno.test(
  `${N} file watches on one agent, files created before, during and after`,
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("a1");
      const dir = `${world.dir}/files`;
      await Deno.mkdir(dir);
      const outcomes = new Map<string, Record<string, unknown>>();
      let allIn: () => void = () => {};
      const done = new Promise<void>((resolve) => allIn = resolve);
      const sub = world.nc.subscribe(world.subjects.watch("a1", "*"), {
        callback: (_e, m) => {
          const body = decodeMap(m.data);
          outcomes.set(body.watch as string, body);
          if (outcomes.size === N) allIn();
        },
      });
      await world.nc.flush();

      const names = shuffled(Array.from({ length: N }, (_, i) => `f${i}`));
      const before = names.slice(0, N / 5);
      const during = names.slice(N / 5, (2 * N) / 5);
      const after = names.slice((2 * N) / 5);
      for (const f of before) await Deno.writeTextFile(`${dir}/${f}`, "");
      // The watches are requested 50 at a time; a file of `during` is created with each batch.
      const order = shuffled(names);
      for (let i = 0; i < N; i += 50) {
        const batch = order.slice(i, i + 50);
        const touching = new Deno.Command("touch", {
          args: during.splice(0, 10).map((f) => `${dir}/${f}`),
        }).output();
        const replies = await Promise.all(
          batch.map((f) =>
            ask(world, "a1", "watch", {
              id: f,
              condition: { kind: "file", path: `${dir}/${f}` },
              timeout: 60,
            }, 30_000)
          ),
        );
        for (const r of replies) assert.equal(r.body.ok, true, JSON.stringify(r.body));
        assert.equal((await touching).code, 0);
      }
      // After: one `touch` process per file, one after another, shuffled.
      const script = shuffled(after).map((f) => `touch '${dir}/${f}'`).join("\n");
      const sh = await new Deno.Command("sh", { args: ["-c", script] }).output();
      assert.equal(sh.code, 0);

      await done;
      sub.unsubscribe();
      const notMet = [...outcomes.values()].filter((o) => o.status !== "met");
      assert.equal(notMet.length, 0, `${notMet.length} not met, e.g. ${JSON.stringify(notMet[0])}`);
      assert.deepEqual(new Set(outcomes.keys()), new Set(names));
    } finally {
      await world.close();
    }
  },
);
