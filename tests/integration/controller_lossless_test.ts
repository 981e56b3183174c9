/**
 * Nothing lost: an agent with a tiny live window skips most of a large
 * output live (announcing `dropped` ranges); the controller fetches every
 * skipped range from the spool and prints the output byte-exact, in order.
 */
import assert from "node:assert/strict";
import { ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "a 16 KiB live window holds output back, drops none of it: byte-exact",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("w-1", { args: ["--live-window", "16KiB"] });
      const watch = await ProcWatch.open(world, "w-1", "big");
      const r = await world.controller([
        "run",
        "--hosts",
        "w-1",
        "--id",
        "big",
        "--gather",
        "--",
        "sh",
        "-c",
        "head -c 3000000 /dev/urandom; printf end",
      ]);
      assert.equal(r.code, 0, r.stderr);
      await watch.exit("big");
      assert.deepEqual(watch.of("big", "dropped"), [], "held back and replayed, never skipped");
      const spool = await Deno.readFile(`${agent.stateDir}/spool/big.stdout`);
      assert.equal(spool.length, 3_000_003);
      const header = new TextEncoder().encode(
        "---------------\nw-1 (exit 0)\n---------------\n",
      );
      const expected = new Uint8Array(header.length + spool.length + 1);
      expected.set(header);
      expected.set(spool, header.length);
      expected[expected.length - 1] = 0x0a; // gather ends the last line
      assert.equal(r.stdoutBytes.length, expected.length);
      assert.deepEqual(r.stdoutBytes, expected);
    } finally {
      await world.close();
    }
  },
);
