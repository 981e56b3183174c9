/**
 * Ordered, gap-free delivery of one output stream: holes (a `dropped`
 * range, a lost chunk, bytes missing at exit) are fetched from a spool, later
 * chunks wait for them, and what cannot be fetched is reported as missing.
 * The spool here is an in-memory byte array behind a reader that can be
 * held back, so every interleaving is under the test's control.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { TuttiError, type WireError } from "../../protocol/errors.ts";
import { FETCH_AHEAD, OutputStream } from "../../controller/output_stream.ts";
import { LOGS_CHUNK_MAX } from "../../protocol/messages.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const SPOOL = enc.encode("0123456789abcdefghij");

interface Seen {
  text: string;
  offsets: number[];
  /** What was delivered, with recovered (spool) bytes in brackets: "01[234]56". */
  marked: string;
  missing: { offset: number; bytes: number; error: WireError }[];
  reads: [number, number][];
}

function setup(reader?: (offset: number, limit: number) => Promise<Uint8Array>) {
  const seen: Seen = { text: "", offsets: [], marked: "", missing: [], reads: [] };
  const gates: PromiseWithResolvers<void>[] = [];
  const read = reader ?? (async (offset: number, limit: number) => {
    seen.reads.push([offset, limit]);
    const gate = Promise.withResolvers<void>();
    gates.push(gate);
    await gate.promise;
    return SPOOL.slice(offset, offset + limit);
  });
  const s = new OutputStream("stdout", {
    data: (offset, data, recovered) => {
      assert.equal(offset, seen.text.length, "delivered in order, without holes");
      seen.offsets.push(offset);
      seen.text += dec.decode(data);
      seen.marked += recovered ? `[${dec.decode(data)}]` : dec.decode(data);
    },
    missing: (offset, bytes, error) => {
      seen.missing.push({ offset, bytes, error });
      seen.text += "?".repeat(bytes);
    },
  }, read);
  const chunk = (from: number, to: number) => s.chunk(from, SPOOL.slice(from, to));
  const release = async () => {
    while (gates.length > 0) {
      gates.shift()!.resolve();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { s, seen, chunk, release };
}

Deno.test("chunks in order are delivered at once, with no spool read", async () => {
  const { s, seen, chunk } = setup();
  chunk(0, 4);
  chunk(4, 10);
  await s.finish(10);
  assert.equal(seen.text, "0123456789");
  assert.equal(seen.marked, "0123456789", "nothing recovered");
  assert.deepEqual(seen.reads, []);
  assert.ok(s.complete);
});

Deno.test("a hole is fetched from the spool and later chunks wait for it", async () => {
  const { s, seen, chunk, release } = setup();
  chunk(0, 3);
  chunk(6, 8); // 3-6 lost on the way
  chunk(8, 10);
  assert.equal(seen.text, "012", "held back until the hole is filled");
  assert.deepEqual(seen.reads, [[3, 3]]);
  await release();
  assert.equal(seen.text, "0123456789");
  const done = s.finish(10);
  await release();
  await done;
});

Deno.test("a dropped range and the final count are fetched, then the stream completes", async () => {
  const { s, seen, chunk, release } = setup();
  chunk(0, 2);
  s.dropped(2, 5);
  chunk(7, 9);
  let complete = false;
  const done = s.finish(15).then(() => complete = true);
  await release();
  await release();
  await done;
  assert.ok(complete);
  assert.equal(seen.text, "0123456789abcde");
  assert.equal(seen.marked, "01[23456]78[9abcde]", "spool bytes marked recovered, live ones not");
  assert.deepEqual(seen.reads, [[2, 5], [9, 6]]);
});

Deno.test("duplicates and overlaps are trimmed", async () => {
  const { s, seen, chunk } = setup();
  chunk(0, 5);
  chunk(0, 5);
  chunk(3, 8);
  chunk(8, 10);
  chunk(2, 4);
  await s.finish(10);
  assert.equal(seen.text, "0123456789");
});

Deno.test("a live chunk that fills the hole while the fetch is in flight is not delivered twice", async () => {
  const { s, seen, chunk, release } = setup();
  chunk(0, 2);
  chunk(5, 6); // hole 2-5: fetch in flight
  chunk(2, 5); // the late live chunk arrives first
  assert.equal(seen.text, "012345");
  const done = s.finish(6);
  await release();
  await done;
  assert.equal(seen.text, "012345");
});

Deno.test("a range the spool cannot give is reported missing, and delivery goes on", async () => {
  const errors: WireError[] = [];
  const { s, seen, chunk } = setup((offset) => {
    if (offset === 2) {
      return Promise.reject(new TuttiError("ESRCH", 'no process "r1" on t-1'));
    }
    return Promise.resolve(SPOOL.slice(offset, offset));
  });
  chunk(0, 2);
  chunk(6, 8);
  await s.finish(8);
  errors.push(...seen.missing.map((m) => m.error));
  assert.equal(seen.text, "01????67");
  assert.deepEqual(seen.missing.map((m) => [m.offset, m.bytes]), [[2, 4]]);
  assert.deepEqual(errors, [{ code: "ESRCH", message: 'no process "r1" on t-1' }]);
});

Deno.test("an empty answer from the spool is an EIO hole, not an endless loop", async () => {
  const { s, seen } = setup(() => Promise.resolve(new Uint8Array(0)));
  await s.finish(4);
  assert.equal(seen.text, "????");
  assert.equal(seen.missing[0].error.code, "EIO");
});

Deno.test("a long hole is read in several requests", async () => {
  const reads: number[] = [];
  const big = new Uint8Array(1_300_000).map((_, i) => i % 251);
  const got: Uint8Array[] = [];
  const s = new OutputStream("stderr", {
    data: (_o, d) => got.push(d.slice()),
    missing: () => assert.fail("nothing is missing"),
  }, (offset, limit) => {
    reads.push(limit);
    return Promise.resolve(big.slice(offset, offset + limit));
  });
  await s.finish(big.length);
  assert.equal(reads.length, 3, "512 KiB at most per read");
  assert.deepEqual(new Uint8Array(Buffer.concat(got)), big);
});

Deno.test("the reads of a long hole are in flight together, and delivered in order", async () => {
  const big = new Uint8Array(LOGS_CHUNK_MAX * 5 + 10).map((_, i) => i % 251);
  const pending: { offset: number; limit: number; answer: () => void }[] = [];
  const got: Uint8Array[] = [];
  const s = new OutputStream(
    "stdout",
    {
      data: (_o, d, recovered) => {
        assert.ok(recovered);
        got.push(d.slice());
      },
      missing: () => assert.fail("nothing is missing"),
    },
    (offset, limit) =>
      new Promise((resolve) =>
        pending.push({ offset, limit, answer: () => resolve(big.slice(offset, offset + limit)) })
      ),
  );
  const done = s.finish(big.length);
  assert.deepEqual(pending.map((p) => p.offset), [0, 1, 2, 3].map((k) => k * LOGS_CHUNK_MAX));
  assert.equal(FETCH_AHEAD, 4);
  // Answered last first: nothing is delivered before the first one.
  for (const p of pending.splice(0).reverse()) p.answer();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(got.length, 4);
  assert.deepEqual(pending.map((p) => [p.offset, p.limit]), [[LOGS_CHUNK_MAX * 4, LOGS_CHUNK_MAX], [
    LOGS_CHUNK_MAX * 5,
    10,
  ]]);
  for (const p of pending.splice(0)) p.answer();
  await done;
  assert.deepEqual(new Uint8Array(Buffer.concat(got)), big);
});

Deno.test("an agent that answers less than asked is then asked for that much", async () => {
  const big = new Uint8Array(1000).map((_, i) => i % 251);
  const asked: [number, number][] = [];
  const got: number[] = [];
  const s = new OutputStream("stdout", {
    data: (o, d) => got.push(o, d.length),
    missing: () => assert.fail("nothing is missing"),
  }, (offset, limit) => {
    asked.push([offset, limit]);
    return Promise.resolve(big.slice(offset, offset + Math.min(limit, 300)));
  });
  await s.finish(big.length);
  // The first round learns the size (its later reads were misplaced and are asked again).
  assert.deepEqual(asked.slice(0, 1), [[0, 1000]]);
  assert.deepEqual(asked.slice(-3), [[300, 300], [600, 300], [900, 100]]);
  assert.deepEqual(got, [0, 300, 300, 300, 600, 300, 900, 100]);
});

Deno.test("a hole the agent cannot give is reported missing once, not piece by piece", async () => {
  let reads = 0;
  const missing: [number, number][] = [];
  const s = new OutputStream("stdout", {
    data: () => assert.fail("nothing to deliver"),
    missing: (o, b) => missing.push([o, b]),
  }, () => {
    reads++;
    return Promise.reject(new TuttiError("ENORESPONSE", "t-1: logs: no answer"));
  });
  await s.finish(LOGS_CHUNK_MAX * 10);
  assert.deepEqual(missing, [[0, LOGS_CHUNK_MAX * 10]]);
  assert.equal(reads, FETCH_AHEAD, "one round of reads");
});
