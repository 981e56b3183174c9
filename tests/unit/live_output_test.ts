import assert from "node:assert/strict";
import { ChunkPool } from "../../agent/chunk_pool.ts";
import { type LiveBudget, LiveStream } from "../../agent/live_output.ts";
import type { ProcEvents } from "../../agent/proc_events.ts";
import type { DroppedEvent } from "../../protocol/messages.ts";

type Seen =
  | { kind: "output"; offset: number; text: string }
  | { kind: "dropped"; offset: number; bytes: number; reason: string };

/** A budget that blocks when told to, and the events a LiveStream publishes, in order. */
function setup(maxChunk = 1000) {
  const seen: Seen[] = [];
  let onOutput = () => {};
  const state = { blocked: null as DroppedEvent["reason"] | null, sent: 0, lent: 0 };
  const pool = new ChunkPool(4);
  const budget = {
    get linkUp() {
      return state.blocked !== "disconnected";
    },
    blocked: () => state.blocked,
    sent: (n: number, chunk?: Uint8Array) => {
      state.sent += n;
      if (chunk) {
        state.lent++;
        pool.lend(chunk, state.sent);
      }
    },
    maxChunk: () => maxChunk,
    pool,
  } as unknown as LiveBudget;
  const events = {
    output: (_stream: string, offset: number, data: Uint8Array) => {
      seen.push({ kind: "output", offset, text: new TextDecoder().decode(data) });
      onOutput();
    },
    dropped: (d: Omit<DroppedEvent, "v">) =>
      seen.push({ kind: "dropped", offset: d.offset, bytes: d.bytes, reason: d.reason }),
  } as unknown as ProcEvents;
  const live = new LiveStream(budget, events, "stdout");
  const published = () => new Promise<void>((resolve) => onOutput = resolve);
  return { seen, state, live, published, pool };
}

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("reads that follow each other are published as one message, at its first offset", async () => {
  const { seen, state, live, published } = setup();
  const next = published();
  live.chunk(0, bytes("hello "));
  live.chunk(6, bytes("world\n"));
  assert.deepEqual(seen, [], "held for the linger");
  await next; // the linger timer, not a sleep: resolved by the publish itself
  assert.deepEqual(seen, [{ kind: "output", offset: 0, text: "hello world\n" }]);
  assert.equal(state.sent, 12);
});

Deno.test("a full message goes at once; an overshoot is split at the limit", () => {
  const { seen, live } = setup(10);
  live.chunk(0, bytes("0123456"));
  live.chunk(7, bytes("789abcdefghij"));
  assert.deepEqual(seen, [
    { kind: "output", offset: 0, text: "0123456789" },
    { kind: "output", offset: 10, text: "abcdefghij" },
  ]);
  live.finish();
  assert.equal(seen.length, 2, "nothing left over");
});

Deno.test("under backpressure: what was gathered goes out, and the reader is told to wait", () => {
  const { seen, state, live } = setup();
  live.chunk(0, bytes("aaa"));
  assert.equal(live.held(), false);
  state.blocked = "backpressure";
  assert.equal(live.held(), true);
  assert.deepEqual(seen, [{ kind: "output", offset: 0, text: "aaa" }]);
  state.blocked = null;
  assert.equal(live.held(), false);
  live.chunk(3, bytes("bbbb"));
  live.finish();
  assert.deepEqual(seen, [
    { kind: "output", offset: 0, text: "aaa" },
    { kind: "output", offset: 3, text: "bbbb" },
  ]);
});

Deno.test("a range given up on is announced as dropped, with the budget's reason", () => {
  const { seen, state, live } = setup();
  live.chunk(0, bytes("x"));
  live.finish();
  state.blocked = "disconnected";
  live.skip(1, 2);
  live.finish();
  assert.deepEqual(seen, [
    { kind: "output", offset: 0, text: "x" },
    { kind: "dropped", offset: 1, bytes: 2, reason: "disconnected" },
  ]);
});

Deno.test("output gathered when the link goes down is skipped, not published into it", () => {
  const { seen, state, live } = setup();
  live.chunk(0, bytes("abc"));
  state.blocked = "disconnected";
  assert.equal(live.held(), true);
  state.blocked = null;
  live.chunk(3, bytes("def"));
  live.finish();
  assert.deepEqual(seen, [
    { kind: "dropped", offset: 0, bytes: 3, reason: "disconnected" },
    { kind: "output", offset: 3, text: "def" },
  ]);
});

/** What a spool reader does: reads `text` into the buffer the stream offers, then delivers it. */
function read(live: LiveStream, offset: number, text: string): Uint8Array | undefined {
  const data = bytes(text);
  const buf = live.readBuffer(data.length);
  if (buf === undefined) {
    live.chunk(offset, data);
    return undefined;
  }
  buf.set(data.subarray(0, buf.length));
  live.chunk(offset, buf.subarray(0, Math.min(buf.length, data.length)));
  return buf;
}

Deno.test("a fast reader reads into pooled chunks, each published at once and lent until acked", () => {
  const { seen, state, live, pool } = setup(10);
  assert.equal(live.readBuffer(4), undefined, "under half a message: a new array of its size");
  const first = read(live, 0, "0123456789");
  assert.ok(first, "a whole message: a pooled chunk");
  assert.deepEqual(seen, [{ kind: "output", offset: 0, text: "0123456789" }], "not lingering");
  const second = read(live, 10, "abcdef");
  assert.ok(second && second.buffer !== first.buffer, "the first is not acknowledged yet");
  assert.equal(state.lent, 2);
  pool.acked(10);
  const third = read(live, 16, "ghijklmnop");
  assert.equal(third?.buffer, first.buffer, "acknowledged: used again");
  assert.deepEqual(seen.map((e) => e.kind === "output" && e.text), [
    "0123456789",
    "abcdef",
    "ghijklmnop",
  ]);
});

Deno.test("a pooled read comes after the small reads gathered before it, in order", () => {
  const { seen, live } = setup(10);
  read(live, 0, "ab");
  read(live, 2, "cdefgh");
  assert.deepEqual(seen, [
    { kind: "output", offset: 0, text: "ab" },
    { kind: "output", offset: 2, text: "cdefgh" },
  ]);
});

Deno.test("a pooled read when the link is down is skipped, and its chunk is free at once", () => {
  const { seen, state, live, pool } = setup(10);
  const buf = live.readBuffer(10)!;
  state.blocked = "disconnected";
  buf.set(bytes("0123456789"));
  live.chunk(0, buf);
  state.blocked = null;
  assert.equal(state.lent, 0, "never published");
  assert.equal(pool.take(10).buffer, buf.buffer, "given back unpublished");
  read(live, 10, "x");
  live.finish();
  assert.deepEqual(seen, [
    { kind: "dropped", offset: 0, bytes: 10, reason: "disconnected" },
    { kind: "output", offset: 10, text: "x" },
  ]);
});
