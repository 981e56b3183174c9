/**
 * A host's clock offset from made-up samples of the `clock` exchange:
 * NTP's arithmetic on one sample, the lowest-delay samples kept and
 * intersected, samples that cannot be (a clock stepped) dropped, and the
 * lead a run at an instant needs.
 */
import assert from "node:assert/strict";
import {
  type ClockSample,
  delayOf,
  estimateOffset,
  leadFor,
  MIN_LEAD_MS,
  offsetOf,
} from "../../controller/clock_estimate.ts";

/**
 * A sample of a host `offset` ms ahead, sent at `t0`, the request taking
 * `up` ms, the host `busy` ms, the answer `down` ms.
 */
function sample(offset: number, t0: number, up: number, down: number, busy = 0.05): ClockSample {
  const t1 = t0 + up + offset;
  const t2 = t1 + busy;
  return { t0, t1, t2, t3: t2 - offset + down };
}

const close = (a: number, b: number, eps = 1e-9) =>
  assert.ok(Math.abs(a - b) <= eps, `${a} is not ${b}`);

Deno.test("one sample: NTP's offset ((t1-t0)+(t2-t3))/2 and bound delay/2", () => {
  const s = { t0: 1000, t1: 1505, t2: 1506, t3: 1003 };
  close(delayOf(s), 2); // 3 ms there and back, 1 ms of it on the host
  close(offsetOf(s).offset, 504);
  close(offsetOf(s).bound, 1);
  const e = estimateOffset([s])!;
  close(e.offset, 504);
  close(e.bound, 1);
  assert.equal(e.used, 1);
  assert.equal(e.samples, 1);
  // A symmetric path gives the true offset exactly.
  close(estimateOffset([sample(-7.25, 5000, 0.4, 0.4)])!.offset, -7.25);
});

Deno.test("the lowest-delay samples are kept: queued ones do not pull the estimate", () => {
  const truth = 12.5;
  const samples = [
    sample(truth, 0, 0.2, 0.3), // the quick ones
    sample(truth, 10, 0.25, 0.2),
    sample(truth, 20, 0.3, 0.25),
    sample(truth, 30, 0.2, 0.2),
    // queued on the way out (a busy broker), then on the way back: far off by themselves
    sample(truth, 40, 30, 0.2),
    sample(truth, 50, 0.2, 25),
    sample(truth, 60, 12, 0.3),
    sample(truth, 70, 0.3, 18),
  ];
  for (const s of samples.slice(4)) assert.ok(Math.abs(offsetOf(s).offset - truth) > 5);
  const e = estimateOffset(samples)!;
  assert.equal(e.used, 4, "half of the samples, the quickest");
  assert.equal(e.samples, 8);
  assert.ok(Math.abs(e.offset - truth) <= e.bound, `${e.offset} ± ${e.bound} misses ${truth}`);
  assert.ok(e.bound <= 0.2, `bound ${e.bound}`);
  close(e.delay, 0.4);
});

Deno.test("the kept samples' intervals are intersected: tighter than the best one alone", () => {
  const truth = -3;
  // One sample quick on the way out, the other on the way back: each is lopsided alone.
  const a = sample(truth, 0, 0.05, 0.6);
  const b = sample(truth, 10, 0.6, 0.05);
  const e = estimateOffset([a, b], 1)!;
  assert.equal(e.used, 2);
  for (const s of [a, b]) assert.ok(e.bound < offsetOf(s).bound);
  assert.ok(Math.abs(e.offset - truth) <= e.bound);
  close(e.bound, 0.05);
});

Deno.test("intervals that do not meet (a clock stepped meanwhile): the best sample alone", () => {
  const before = sample(0, 0, 0.1, 0.1);
  const after = sample(40, 10, 0.2, 0.2); // the host's clock jumped 40 ms between the two
  const e = estimateOffset([before, after], 1)!;
  assert.equal(e.used, 1);
  close(e.offset, offsetOf(before).offset);
  close(e.bound, offsetOf(before).bound);
});

Deno.test("impossible samples (answered before asked) are dropped; none usable is null", () => {
  const bad = { t0: 100, t1: 100, t2: 110, t3: 101 }; // 10 ms on the host, 1 ms round trip
  assert.ok(delayOf(bad) < 0);
  assert.equal(estimateOffset([bad]), null);
  assert.equal(estimateOffset([]), null);
  assert.equal(estimateOffset([{ t0: NaN, t1: 1, t2: 2, t3: 3 }]), null);
  const good = sample(1, 200, 0.3, 0.3);
  const e = estimateOffset([bad, good])!;
  close(e.offset, 1);
  assert.equal(e.samples, 2);
  assert.equal(e.used, 1);
});

Deno.test("the lead before an instant grows with the slowest round trip", () => {
  assert.equal(leadFor(0), MIN_LEAD_MS);
  assert.equal(leadFor(10), MIN_LEAD_MS);
  assert.equal(leadFor(100), 450);
});
