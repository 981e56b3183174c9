/**
 * `--gather`'s store: hosts with the same output share one copy, outputs
 * that part are told apart exactly, and past its memory limit the store
 * moves every distinct output to a temporary file (unlinked at once) and
 * gathers exactly the same groups as it does in memory.
 */
import assert from "node:assert/strict";
import type { ProcInfo } from "../../protocol/messages.ts";
import type { HostOutcome, RunEvent } from "../../controller/events.ts";
import { CaptureStore } from "../../controller/render/capture_store.ts";
import { GatherView } from "../../controller/render/gather.ts";
import { MemoryOut } from "../../controller/render/out.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(c: { pieces(): Iterable<Uint8Array> }): string {
  let s = "";
  for (const p of c.pieces()) s += dec.decode(p.slice());
  return s;
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

Deno.test("hosts writing the same bytes share one copy, however their chunks fall", () => {
  const store = new CaptureStore();
  const a = store.capture();
  const b = store.capture();
  const c = store.capture();
  const text = "hello world\n".repeat(20);
  a.append(enc.encode(text.slice(0, 100)));
  b.append(enc.encode(text.slice(0, 3)));
  b.append(enc.encode(text.slice(3, 200)));
  a.append(enc.encode(text.slice(100)));
  b.append(enc.encode(text.slice(200)));
  c.append(enc.encode(text));
  assert.equal(store.blobs, 1, "one distinct output");
  assert.equal(store.memoryBytes, text.length);
  assert.ok(a.sameAs(b) && b.sameAs(c));
  assert.equal(bytes(a), text);
  const tiny = [store.capture(), store.capture()];
  for (const t of tiny) t.append(enc.encode("Linux\n"));
  assert.ok(tiny[0].sameAs(tiny[1]));
  assert.equal(store.blobs, 1, "tiny outputs stay with their hosts");
});

Deno.test("an output that parts from the others gets its own copy, the common start included", () => {
  const store = new CaptureStore();
  const a = store.capture();
  const b = store.capture();
  const header = "a long common header\n".repeat(5);
  a.append(enc.encode(`${header}linux\n`));
  b.append(enc.encode(header));
  b.append(enc.encode("darwin\n"));
  assert.equal(store.blobs, 2);
  assert.equal(bytes(a), `${header}linux\n`);
  assert.equal(bytes(b), `${header}darwin\n`);
  assert.ok(!a.sameAs(b));
  const c = store.capture();
  c.append(enc.encode(`${header}darwin\n`));
  assert.ok(c.sameAs(b));
  assert.equal(store.blobs, 2, "a third host joins the blob it matches");
});

Deno.test("past the memory limit every distinct output goes to a file, unlinked at once", () => {
  const dir = Deno.makeTempDirSync({ prefix: "tutti-capture-" });
  try {
    const store = new CaptureStore({ spillBytes: 1000, dir });
    const a = store.capture();
    const b = store.capture();
    const big = new Uint8Array(700).fill(0x61);
    a.append(big);
    b.append(big);
    assert.ok(!store.spilled, "the same 700 bytes twice are 700 in memory");
    b.append(enc.encode("b's own end"));
    a.append(new Uint8Array(600).fill(0x62));
    assert.ok(store.spilled);
    assert.equal(store.memoryBytes, 0, "nothing of it in memory");
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no file left in the directory");
    for (let i = 0; i < 3000; i++) a.append(enc.encode(`${i}\n`));
    assert.equal(bytes(b), "a".repeat(700) + "b's own end");
    const want = "a".repeat(700) + "b".repeat(600) +
      Array.from({ length: 3000 }, (_, i) => `${i}\n`).join("");
    assert.equal(bytes(a), want);
    assert.equal(a.lastByte(), 0x0a);
    store.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

function proc(host: string, code: number): ProcInfo {
  return {
    id: "r1",
    host,
    pid: 100,
    argv: ["sh"],
    cwd: "/",
    state: "exited",
    started: 1,
    ended: 2,
    code,
    signal: null,
    timedOut: false,
    stdout: 0,
    stderr: 0,
  };
}

Deno.test("gathering through files gives the same groups as in memory (random outputs)", () => {
  const next = random(Number(Deno.env.get("TUTTI_FUZZ_SEED") ?? 11));
  for (let round = 0; round < 20; round++) {
    const hosts = Array.from({ length: 2 + Math.floor(next() * 10) }, (_, i) => `h-${i + 1}`);
    // A few kinds of output; hosts of one kind write the same bytes in different chunks.
    const kinds = Array.from({ length: 1 + Math.floor(next() * 3) }, (_, k) => {
      const n = Math.floor(next() * 3000);
      return Array.from({ length: n }, (_, i) => `${k}:${i % 97}\n`).join("");
    });
    const kindOf = new Map(hosts.map((h) => [h, Math.floor(next() * kinds.length)]));
    const events: RunEvent[] = [];
    const offsets = new Map<string, number>();
    let left = true;
    while (left) {
      left = false;
      for (const h of hosts) {
        const text = kinds[kindOf.get(h)!];
        const at = offsets.get(h) ?? 0;
        if (at >= text.length) continue;
        left = true;
        const size = 1 + Math.floor(next() * 500);
        const stream = h === "h-2" && next() < 0.2 ? "stderr" : "stdout";
        events.push({
          type: "output",
          host: h,
          stream,
          offset: at,
          data: enc.encode(text.slice(at, at + size)),
        });
        offsets.set(h, at + size);
      }
    }
    const outcomes: HostOutcome[] = hosts.map((h, i) => ({
      host: h,
      status: i % 4 === 3 ? "failed" : "ok",
      proc: proc(h, i % 4 === 3 ? 1 : 0),
    }));
    const dir = Deno.makeTempDirSync({ prefix: "tutti-gather-test-" });
    try {
      const inMemory = new MemoryOut();
      const spilled = new MemoryOut();
      const m = new GatherView(inMemory);
      const f = new GatherView(spilled, "exit 0", { spillBytes: 64, dir });
      for (const e of events) {
        m.event(e);
        f.event(e);
      }
      const summary = { id: "r1", hosts: outcomes, ok: false };
      const groups = (v: GatherView) => v.groups(outcomes).map((g) => [g.hosts, g.what]);
      assert.deepEqual(groups(f), groups(m), `round ${round}`);
      const spilledAny = kinds.some((k) => k.length > 64);
      assert.equal(f.store.spilled, spilledAny, `round ${round}`);
      m.end(summary);
      f.end(summary);
      assert.equal(spilled.out, inMemory.out, `round ${round}: stdout`);
      assert.equal(spilled.err, inMemory.err, `round ${round}: stderr`);
      assert.ok(m.store.blobs === 0 && f.store.blobs === 0, "closed at the end");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});
