/**
 * The same fan-out through the controller library in this process, over a
 * connection opened once beforehand, as a long-running experiment script
 * would: tutti's fan-out without the CLI's process start.
 */
import { Controller } from "../controller/mod.ts";
import type { BenchContext, Contender } from "./context.ts";
import { Recorder } from "./figures.ts";

export async function libraryContender(
  ctx: BenchContext,
  n: number,
): Promise<{ contender: Contender; close: () => Promise<void> }> {
  const hosts = `b-[1-${n}]`;
  const c = await Controller.connect({ servers: [ctx.broker.url], stateDir: false });
  const contender: Contender = {
    rec: new Recorder(`tutti library: run({hosts: '${hosts}', argv: ['true']})`, "ms"),
    once: async (rec) => {
      const t0 = performance.now();
      try {
        const summary = await c.run({ hosts, argv: ["true"] }).done;
        const ms = performance.now() - t0;
        const ok = summary.hosts.filter((h) => h.status === "ok").length;
        if (!summary.ok || ok !== n) rec.fail(`${ok} of ${n} ok`);
        else rec.add(ms);
      } catch (e) {
        rec.fail((e as Error).message);
      }
    },
  };
  return { contender, close: () => c.close() };
}
