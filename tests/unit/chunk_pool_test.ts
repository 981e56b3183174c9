import assert from "node:assert/strict";
import { ChunkPool } from "../../agent/chunk_pool.ts";

Deno.test("a lent chunk is used again only once the server acknowledged past it", () => {
  const pool = new ChunkPool(4);
  const a = pool.take(8);
  pool.lend(a, 8);
  const b = pool.take(8);
  assert.notEqual(b, a, "not before its ack: the client may not have copied it yet");
  pool.lend(b, 16);
  pool.acked(12);
  assert.equal(pool.lentCount, 1);
  assert.equal(pool.take(8), a, "acknowledged past its mark: free again");
  assert.notEqual(pool.take(8), b, "b's mark (16) is not acknowledged");
});

Deno.test("chunks lent on a link that went down are never handed out again", () => {
  const pool = new ChunkPool(4);
  const a = pool.take(8);
  pool.lend(a, 8);
  pool.forget();
  pool.acked(100); // a new link's count: must not free the old link's chunks
  assert.equal(pool.lentCount, 0);
  assert.notEqual(pool.take(8), a);
});

Deno.test("free chunks are capped, trimmed when a stream ends, and dropped when the size changes", () => {
  const pool = new ChunkPool(2);
  const chunks = [pool.take(8), pool.take(8), pool.take(8)];
  chunks.forEach((c, i) => pool.lend(c, (i + 1) * 8));
  pool.acked(24);
  const again = [pool.take(8), pool.take(8), pool.take(8)];
  assert.equal(again.filter((c) => chunks.includes(c)).length, 2, "only `keep` were kept");
  again.forEach((c) => pool.giveBack(c));
  pool.trim(1);
  const kept = pool.take(8);
  assert.ok(again.includes(kept));
  assert.ok(!again.includes(pool.take(8)), "trimmed to one");
  pool.giveBack(kept);
  const bigger = pool.take(16);
  assert.equal(bigger.length, 16, "a chunk of the old size is not handed out for a new size");
});
