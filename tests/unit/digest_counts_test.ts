import assert from "node:assert/strict";
import { DigestCounts } from "../../protocol/digest_counts.ts";

Deno.test("DigestCounts counts like a Map, through growth, with 0 and 2^32-1 as keys", () => {
  const counts = new DigestCounts();
  const map = new Map<number, number>();
  let x = 12345;
  for (let i = 0; i < 50_000; i++) {
    // xorshift32 over a small range, so that many digests repeat; and the edges.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const digest = i % 997 === 0 ? 0 : i % 991 === 0 ? 0xffffffff : (x >>> 0) % 20_000;
    const before = map.get(digest) ?? 0;
    map.set(digest, before + 1);
    assert.equal(counts.bump(digest), before, `digest ${digest}, bump ${i}`);
  }
  assert.ok(map.size > 10_000, "enough distinct digests to grow the table many times");
});

Deno.test("DigestCounts keeps digests that probe into the same slots apart", () => {
  const counts = new DigestCounts();
  // Multiples of 2^20 share their low bits: before the table's mixing, one bucket.
  for (let k = 0; k < 4000; k++) assert.equal(counts.bump(k * 2 ** 20 >>> 0), 0);
  for (let k = 0; k < 4000; k++) assert.equal(counts.bump(k * 2 ** 20 >>> 0), 1);
});
