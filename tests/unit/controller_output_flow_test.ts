/**
 * A run's output budget: what the controller holds stays bounded while the
 * reader lags, while chunks pile up past holes and while many streams read
 * their spools at once, and every byte still arrives exactly once, in order.
 * The spools are in-memory arrays; the reader's backlog is a number the test
 * sets, or a real Channel read slowly.
 */
import assert from "node:assert/strict";
import { Channel } from "../../controller/operation.ts";
import { OutputFlow } from "../../controller/output_flow.ts";
import { OutputStream } from "../../controller/output_stream.ts";

const KiB = 1024;

function spool(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 7 + seed) % 251);
}

/** A stream over `data`, delivering into `got`; reads answer after a turn of the event loop. */
function stream(data: Uint8Array, flow: OutputFlow, got: number[][], reads: number[] = []) {
  let next = 0;
  return new OutputStream("stdout", {
    data: (offset, d) => {
      assert.equal(offset, next, "in order, once");
      next += d.length;
      got.push([...d]);
    },
    missing: () => assert.fail("nothing is missing"),
  }, async (offset, limit) => {
    reads.push(limit);
    await new Promise((r) => setTimeout(r, 0));
    return data.slice(offset, offset + limit);
  }, flow);
}

function flat(got: number[][]): Uint8Array {
  return new Uint8Array(got.flat());
}

Deno.test("while the reader lags, live chunks are not taken; they come from the spool later", async () => {
  let backlog = 0;
  const flow = new OutputFlow(() => backlog, { backlog: 100, reading: 1000 });
  const data = spool(600, 1);
  const got: number[][] = [];
  const reads: number[] = [];
  const s = stream(data, flow, got, reads);
  s.chunk(0, data.slice(0, 100));
  assert.equal(flat(got).length, 100, "taken while the reader keeps up");
  backlog = 500; // the reader falls behind
  s.chunk(100, data.slice(100, 200));
  s.chunk(200, data.slice(200, 300));
  assert.equal(flat(got).length, 100, "not taken, not held");
  assert.equal(flow.held, 0);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(reads, [], "no spool read while the reader lags");
  backlog = 0;
  flow.consumed();
  s.chunk(300, data.slice(300, 600));
  await s.finish(600);
  assert.deepEqual(flat(got), data);
  assert.ok(reads.length > 0, "the range not taken was read from the spool");
  assert.equal(flow.held, 0);
  assert.equal(flow.reading, 0);
});

Deno.test("chunks past a hole are held up to the limit; the rest is fetched with the hole", async () => {
  const flow = new OutputFlow(() => 0, { backlog: 250, reading: 1000 });
  const data = spool(1000, 2);
  const got: number[][] = [];
  let most = 0;
  const s = new OutputStream("stdout", {
    data: (_o, d) => got.push([...d]),
    missing: () => assert.fail("nothing is missing"),
  }, async (offset, limit) => {
    await new Promise((r) => setTimeout(r, 5));
    return data.slice(offset, offset + limit);
  }, flow);
  // 0-100 is lost on the way; every later chunk lies past the hole.
  for (let at = 100; at < 1000; at += 100) {
    s.chunk(at, data.slice(at, at + 100));
    most = Math.max(most, flow.held);
  }
  assert.ok(most <= 250, `held ${most} bytes`);
  await s.finish(1000);
  assert.deepEqual(flat(got), data);
  assert.equal(flow.held, 0);
});

Deno.test("many streams reading their spools share the read budget without waiting on each other", async () => {
  const flow = new OutputFlow(() => 0, { backlog: 1 << 30, reading: 64 * KiB });
  let most = 0;
  const streams = Array.from({ length: 20 }, (_, i) => {
    const data = spool(700 * KiB + i, i);
    const got: number[][] = [];
    const s = new OutputStream("stdout", {
      data: (_o, d) => got.push([...d]),
      missing: () => assert.fail("nothing is missing"),
    }, async (offset, limit) => {
      most = Math.max(most, flow.reading);
      await new Promise((r) => setTimeout(r, 1));
      return data.slice(offset, offset + Math.min(limit, 16 * KiB));
    }, flow);
    return { s, data, got };
  });
  // Every stream's whole output is a hole (as after an outage): all read at once.
  await Promise.all(streams.map(({ s, data }) => s.finish(data.length)));
  for (const { data, got } of streams) assert.deepEqual(flat(got), data);
  assert.ok(most <= 64 * KiB + 512 * KiB, `at most the budget and one read: ${most}`);
  assert.equal(flow.reading, 0);
});

class Weighed extends Channel<Uint8Array, void> {
  consumedWeight = 0;
  protected override sizeOf(e: Uint8Array): number {
    return e.length;
  }
  protected override consumed(weight: number): void {
    this.consumedWeight += weight;
  }
}

Deno.test("a channel's backlog is what its reader has not read, and 0 once it left", async () => {
  const c = new Weighed();
  c.push(new Uint8Array(10));
  c.push(new Uint8Array(20));
  assert.equal(c.backlog, 0, "nobody reads yet: no pace to keep");
  assert.equal(c.queued, 2);
  const it = c[Symbol.asyncIterator]();
  await it.next();
  assert.equal(c.backlog, 30, "the event in the reader's hands counts until it asks again");
  assert.equal(c.queued, 1);
  await it.next();
  assert.equal(c.backlog, 20);
  assert.equal(c.queued, 0);
  await it.return!();
  assert.equal(c.backlog, 0);
  c.push(new Uint8Array(5));
  assert.equal(c.queued, 0, "nobody can read any more: dropped");
  assert.equal(c.consumedWeight, 30);
});
