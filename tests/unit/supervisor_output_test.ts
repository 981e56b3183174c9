/**
 * A program with huge output: every byte reaches its file, the agent's
 * memory stays bounded (nothing buffers the stream), `tail` keeps 64 KiB.
 */
import { ok, strictEqual } from "node:assert/strict";
import { TAIL_BYTES } from "../../agent/supervisor/output.ts";
import { world } from "./supervisor_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;

Deno.test(
  "hundreds of MB of output leave memory bounded and reach the file whole",
  opts,
  async () => {
    const w = await world();
    try {
      const out = `${w.dir}/big.out`;
      await w.sup.load({
        path: w.config(`
programs:
  yes:
    cmd: sh -c 'yes | head -c ${TOTAL}'
    stdout: ${out}
    starttime: 0
    autorestart: never
`),
      });
      const base = Deno.memoryUsage().rss;
      let peak = base;
      // Sampling, not synchronisation: the exit event below ends the wait.
      const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
      const exited = await w.rec.reached("yes", "EXITED", 1, 120_000).finally(() =>
        clearInterval(sampler)
      );
      strictEqual(exited.code, 0);
      peak = Math.max(peak, Deno.memoryUsage().rss);
      strictEqual(Deno.statSync(out).size, TOTAL, "every byte is in the file");
      const growth = peak - base;
      // Buffering the stream would take all of it (256 MiB); the pumps reuse one buffer per stream.
      ok(growth < 32 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB`);
      const { data, offset } = w.sup.tail("yes", "stdout");
      strictEqual(data.length, TAIL_BYTES);
      strictEqual(offset, TOTAL - TAIL_BYTES);
      ok(new TextDecoder().decode(data).endsWith("y\ny\n"));
    } finally {
      await w.close();
    }
  },
);
