/**
 * A program with huge output: every byte reaches its file, the supervisor's
 * memory stays bounded (nothing buffers the stream), `tail` keeps 64 KiB.
 *
 * The supervisor runs in a process of its own (supervisor_output_fixture.ts)
 * that measures its own resident memory: in the test runner's process,
 * other test files running in parallel would be counted too.
 */
import { ok, strictEqual } from "node:assert/strict";
import { TAIL_BYTES } from "../../agent/supervisor/output.ts";

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
const FIXTURE = new URL("./supervisor_output_fixture.ts", import.meta.url).pathname;

Deno.test("hundreds of MB of output leave memory bounded and reach the file whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tutti-sup-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", FIXTURE, dir, String(TOTAL)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    strictEqual(out.code, 0, stderr);
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    strictEqual(r.code, 0, "the program exited 0");
    strictEqual(r.size, TOTAL, "every byte is in the file");
    const growth = r.peak - r.base;
    // Buffering the stream would take all of it (256 MiB); the pumps reuse one buffer per stream.
    ok(growth < 32 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB`);
    strictEqual(r.tailBytes, TAIL_BYTES);
    strictEqual(r.offset, TOTAL - TAIL_BYTES);
    strictEqual(r.tail, "y\ny\n");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
