/**
 * Nothing lost: 50 MB of stdout arrives byte-exact. The live stream, with
 * every range announced by `dropped` fetched back with `logs`, equals the
 * spool file, which equals what the program wrote; and the agent's memory
 * stays bounded while it streams.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { ask, rssBytes, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MiB = 1024 * 1024;

/** Deterministic pseudo-random bytes (xorshift32), so the source can be checked. */
function source(bytes: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(bytes / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, bytes);
}

async function sha256(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Received {
  chunks: Map<number, Uint8Array>;
  dropped: { offset: number; bytes: number; reason: string }[];
  exit: Promise<Record<string, unknown>>;
  close(): void;
}

async function receive(world: World, host: string, id: string): Promise<Received> {
  const chunks = new Map<number, Uint8Array>();
  const dropped: Received["dropped"] = [];
  const { promise: exit, resolve } = Promise.withResolvers<Record<string, unknown>>();
  const sub = world.nc.subscribe(world.subjects.proc(host, id, "*"), {
    callback: (_err, m) => {
      const event = m.subject.slice(m.subject.lastIndexOf(".") + 1);
      if (event === "stdout") chunks.set(Number(m.headers!.get("Tutti-Offset")), m.data);
      else if (event === "dropped") {
        dropped.push(decodeMap(m.data) as unknown as Received["dropped"][number]);
      } else if (event === "exit") resolve(decodeMap(m.data));
    },
  });
  await world.nc.flush();
  return { chunks, dropped, exit, close: () => sub.unsubscribe() };
}

/**
 * Rebuilds the stream from live chunks; every gap must be announced by a
 * `dropped` event and is filled with `logs`.
 */
async function reassemble(world: World, host: string, id: string, r: Received, size: number) {
  const out = new Uint8Array(size);
  const covered = new Uint8Array(size); // 1 where live bytes landed
  for (const [offset, data] of r.chunks) {
    out.set(data, offset);
    covered.fill(1, offset, offset + data.length);
  }
  const announced = new Uint8Array(size);
  for (const d of r.dropped) announced.fill(1, d.offset, d.offset + d.bytes);
  let fetched = 0;
  let pos = 0;
  while (pos < size) {
    if (covered[pos]) {
      pos++;
      continue;
    }
    assert.equal(
      announced[pos],
      1,
      `byte ${pos} missing from the live stream without a dropped event`,
    );
    const reply = await ask(world, host, "logs", { proc: id, offset: pos, limit: 512 * 1024 });
    assert.equal(reply.body.ok, true, JSON.stringify(reply.body.error));
    const data = reply.body.data as Uint8Array;
    assert.ok(data.length > 0);
    // Fill only the uncovered part of what came back.
    let i = 0;
    while (i < data.length && !covered[pos + i]) {
      out[pos + i] = data[i];
      i++;
    }
    fetched += i;
    pos += i;
  }
  return { out, fetched };
}

Deno.test(
  "50 MB of stdout arrives byte-exact and the agent's RSS stays bounded",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("a1");
      const size = 50 * MiB;
      const src = source(size, 42);
      const path = `${world.dir}/source.bin`;
      await Deno.writeFile(path, src);
      const want = await sha256(src);

      const r = await receive(world, "a1", "big");
      let maxRss = rssBytes(agent.pid);
      const sampler = setInterval(() => maxRss = Math.max(maxRss, rssBytes(agent.pid)), 25);
      let exit: Record<string, unknown>;
      try {
        const run = await ask(world, "a1", "run", { id: "big", argv: ["cat", path] });
        assert.equal(run.body.ok, true, JSON.stringify(run.body));
        exit = await r.exit;
      } finally {
        clearInterval(sampler);
        r.close();
      }
      assert.equal(exit.code, 0);
      assert.equal(exit.stdout, size);

      const spool = await Deno.readFile(`${agent.stateDir}/spool/big.stdout`);
      assert.equal(spool.length, size);
      assert.equal(await sha256(spool), want, "spool equals what the program wrote");

      const { out } = await reassemble(world, "a1", "big", r, size);
      assert.equal(await sha256(out), want, "live stream + fetched ranges equal the source");
      assert.ok(maxRss < 250 * MiB, `agent RSS peaked at ${(maxRss / MiB).toFixed(1)} MiB`);
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "a tiny live window holds output back and replays it: nothing dropped, nothing lost",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("a1", { args: ["--live-window", "1"] });
      const size = 20 * MiB;
      const src = source(size, 7);
      const path = `${world.dir}/source.bin`;
      await Deno.writeFile(path, src);

      const r = await receive(world, "a1", "burst");
      await ask(world, "a1", "run", { id: "burst", argv: ["cat", path] });
      const exit = await r.exit;
      r.close();
      assert.equal(exit.stdout, size);
      assert.deepEqual(r.dropped, [], "held back while the window was spent, never skipped");
      const { out, fetched } = await reassemble(world, "a1", "burst", r, size);
      assert.equal(fetched, 0, "every byte came live");
      assert.equal(await sha256(out), await sha256(src));
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "a spool that cannot be written is reported by logs as EIO; the child is not blocked",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("a1");
      // Writes to /dev/full fail with ENOSPC: a full disk for this one spool file.
      await Deno.symlink("/dev/full", `${agent.stateDir}/spool/full.stdout`);
      const r = await receive(world, "a1", "full");
      await ask(world, "a1", "run", {
        id: "full",
        shell: "head -c 300000 /dev/zero; echo done >&2",
      });
      const exit = await r.exit;
      r.close();
      assert.equal(exit.code, 0);
      assert.equal(exit.stdout, 300000, "every byte was read from the child");
      const logs = await ask(world, "a1", "logs", { proc: "full", stream: "stdout" });
      assert.equal((logs.body.error as { code: string }).code, "EIO");
      assert.match((logs.body.error as { message: string }).message, /from byte 0/);
      const err = await ask(world, "a1", "logs", { proc: "full", stream: "stderr" });
      assert.equal(new TextDecoder().decode(err.body.data as Uint8Array), "done\n");
    } finally {
      await world.close();
    }
  },
);
