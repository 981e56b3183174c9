/**
 * Fan-in: many hosts writing a lot at once into one controller, with real
 * agents on a real broker. Every host's bytes come out exactly (checksums
 * per host) in the prefixed view, whole lines never mixed, long lines in
 * marked pieces; a reader that lags holds the run to its budget while
 * nothing is lost; one endless line is printed in pieces while the
 * controller's memory stays bounded; and `--gather` through temporary files
 * groups exactly as it does in memory.
 */
import assert from "node:assert/strict";
import { Controller } from "../../controller/mod.ts";
import { FLOW_LIMITS } from "../../controller/output_flow.ts";
import { GatherView } from "../../controller/render/gather.ts";
import { MemoryOut } from "../../controller/render/out.ts";
import { PIECE_BYTES } from "../../controller/render/prefixed_lines.ts";
import { present } from "../../controller/render/view.ts";
import { concatBytes } from "../../protocol/runtime/bytes.ts";
import { CONTROLLER_JS, DENO, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const enc = new TextEncoder();

async function sha256(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Each host's bytes, put back together from the prefixed view (`h: ` starts a line, `h+ ` continues it). */
function unprefix(out: Uint8Array, hosts: string[]): Map<string, Uint8Array[]> {
  const by = new Map<string, Uint8Array[]>(hosts.map((h) => [h, []]));
  const heads = hosts.map((h) => ({ h, line: enc.encode(`${h}: `), more: enc.encode(`${h}+ `) }));
  let start = 0;
  while (start < out.length) {
    let nl = out.indexOf(0x0a, start);
    if (nl < 0) nl = out.length;
    const line = out.subarray(start, nl);
    const head = heads.find((x) => startsWith(line, x.line) || startsWith(line, x.more));
    assert.ok(head, `a line of no host: ${new TextDecoder().decode(line.subarray(0, 40))}`);
    const more = startsWith(line, head.more);
    const parts = by.get(head.h)!;
    if (more) {
      // Other hosts' lines may come between two pieces of a long line; the prefix says whose.
      // The previous piece ended with a newline that was not the line's: take it back.
      const prev = parts.pop()!;
      parts.push(prev.subarray(0, prev.length - 1));
    }
    assert.ok(line.length - head.line.length <= PIECE_BYTES, "no piece is longer than a piece");
    parts.push(out.subarray(start + head.line.length, Math.min(out.length, nl + 1)));
    start = nl + 1;
  }
  return by;
}

function startsWith(a: Uint8Array, p: Uint8Array): boolean {
  if (a.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (a[i] !== p[i]) return false;
  return true;
}

/** What each host writes: numbered lines naming it, and one line of 100,000 bytes in the middle. */
const SCRIPT = `i=0; while [ $i -lt 3 ]; do seq -f "$TUTTI_HOST %g" 1 40000; ` +
  `head -c 100000 /dev/zero | tr '\\0' "$i"; echo; i=$((i+1)); done; echo "$TUTTI_HOST" >&2`;

function expected(host: string): Uint8Array {
  let s = "";
  for (let i = 0; i < 3; i++) {
    for (let n = 1; n <= 40000; n++) s += `${host} ${n}\n`;
    s += String(i).repeat(100000) + "\n";
  }
  return enc.encode(s);
}

Deno.test(
  "twelve hosts writing 1.3 MB each at once: every host's bytes exactly, in whole lines",
  opts,
  async () => {
    const world = await World.create();
    try {
      const names = Array.from({ length: 12 }, (_, i) => `fan-${i + 1}`);
      await world.agentsNamed(names);
      const r = await world.controller(["run", "--hosts", "fan-[1-12]", "--shell", "--", SCRIPT]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "12 hosts: 12 ok");
      const by = unprefix(r.stdoutBytes, names);
      for (const h of names) {
        const got = concatBytes(by.get(h)!);
        const want = expected(h);
        assert.equal(got.length, want.length, `${h}: bytes`);
        assert.equal(await sha256(got), await sha256(want), `${h}: checksum`);
      }
      for (const h of names) assert.match(r.stderr, new RegExp(`^${h}: ${h}$`, "m"));
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "a library reader that lags: the run holds no more than its budget, and loses nothing",
  opts,
  async () => {
    const world = await World.create();
    const c = await Controller.connect({ servers: [world.broker.url], stateDir: false });
    try {
      const names = ["lag-1", "lag-2", "lag-3", "lag-4"];
      await world.agentsNamed(names);
      const lines = 1_500_000; // 10.9 MB per host, 44 MB in all: far more than the budget
      const run = c.run({ hosts: "lag-[1-4]", argv: ["seq", "1", String(lines)] });
      const next = new Map(names.map((h) => [h, 0]));
      const parts = new Map<string, Uint8Array[]>(names.map((h) => [h, []]));
      let recovered = 0;
      let most = 0;
      for await (const e of run) {
        most = Math.max(most, run.backlog);
        if (e.type === "output") {
          assert.equal(e.offset, next.get(e.host), `${e.host}: in order, once`);
          next.set(e.host, e.offset + e.data.length);
          parts.get(e.host)!.push(e.data.slice());
          if (e.recovered) recovered += e.data.length;
          // A slow consumer: a pause per event lets the hosts run far ahead.
          await new Promise((r) => setTimeout(r, 15));
        }
        assert.notEqual(e.type, "missing");
      }
      const summary = await run.done;
      assert.ok(summary.ok, JSON.stringify(summary.hosts));
      const want = await sha256(enc.encode(
        Array.from({ length: lines }, (_, i) => `${i + 1}\n`).join(""),
      ));
      for (const h of names) assert.equal(await sha256(concatBytes(parts.get(h)!)), want, h);
      // Held chunks and spool reads join the backlog when delivered: its bound is theirs.
      const bound = FLOW_LIMITS.backlog + FLOW_LIMITS.reading + 1024 * 1024;
      assert.ok(most <= bound, `backlog reached ${most} bytes, bound ${bound}`);
      assert.ok(most >= FLOW_LIMITS.backlog, `the reader did lag: backlog up to ${most} bytes`);
      assert.ok(recovered > 0, "what was not taken live came from the spools");
    } finally {
      await c.close();
      await world.close();
    }
  },
);

/** Peak resident memory of a running process, read until it exits (VmHWM from /proc). */
function peakMemory(pid: number): () => number {
  let peak = 0;
  const read = () => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch { /* it has exited: the last reading stands */ }
  };
  const timer = setInterval(read, 20);
  read();
  return () => {
    clearInterval(timer);
    return peak;
  };
}

const MiB = 1024 * 1024;
const LINE_BYTES = 256 * MiB;
/**
 * The controller's peak must stay below the line's own size: it cannot have
 * held it (it reaches about 190 MiB, 60 of them its own start; V8 frees the
 * NATS client's buffers in batches of 64 MiB).
 */
const PEAK_BOUND = LINE_BYTES;

Deno.test(
  "one line of 256 MiB without a newline is printed in pieces; the controller's memory stays bounded",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("ln-1");
      const child = new Deno.Command(DENO, {
        args: [
          "run",
          "-A",
          "--no-config",
          CONTROLLER_JS,
          "run",
          "--hosts",
          "ln-1",
          "--",
          "head",
          "-c",
          String(LINE_BYTES),
          "/dev/zero",
        ],
        env: world.controllerEnv(),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const peak = peakMemory(child.pid);
      const stderr = new Response(child.stderr).text();
      // Read as it comes, checking each piece, rather than keeping 256 MiB here.
      const first = enc.encode("ln-1: ");
      const more = enc.encode("ln-1+ ");
      let pieces = 0;
      let content = 0;
      let pending = new Uint8Array(0);
      for await (const chunk of child.stdout) {
        const buf = new Uint8Array(pending.length + chunk.length);
        buf.set(pending);
        buf.set(chunk, pending.length);
        let start = 0;
        for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
          const line = buf.subarray(start, nl);
          assert.ok(startsWith(line, pieces === 0 ? first : more), `piece ${pieces}'s prefix`);
          const body = line.subarray(first.length);
          assert.ok(body.length === PIECE_BYTES || content + body.length === LINE_BYTES);
          let any = 0;
          for (let i = 0; i < body.length; i++) any |= body[i];
          assert.equal(any, 0, "the bytes themselves");
          content += body.length;
          pieces++;
          start = nl + 1;
        }
        pending = buf.slice(start);
      }
      const { code } = await child.status;
      const top = peak();
      assert.equal(code, 0, await stderr);
      assert.equal(pending.length, 0, "the last piece ends with a newline");
      assert.equal(content, LINE_BYTES);
      assert.equal(pieces, LINE_BYTES / PIECE_BYTES);
      assert.ok(top > 0, "the controller's memory was read");
      assert.ok(
        top < PEAK_BOUND,
        `controller peak ${(top / MiB).toFixed(0)} MiB, bound ${PEAK_BOUND / MiB} MiB`,
      );
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "--gather through temporary files groups exactly as in memory",
  opts,
  async () => {
    const world = await World.create();
    const c = await Controller.connect({ servers: [world.broker.url], stateDir: false });
    const dir = await Deno.makeTempDir({ prefix: "tutti-gather-spill-" });
    try {
      const names = Array.from({ length: 6 }, (_, i) => `ga-${i + 1}`);
      await world.agentsNamed(names);
      // ga-1..3 the same 1.9 MB, ga-4..5 another, ga-6 the first one plus stderr and exit 3.
      const script = `case $TUTTI_HOST in ga-[123]) seq 1 300000;; ga-[45]) seq 2 300001;; ` +
        `*) seq 1 300000; echo oops >&2; exit 3;; esac`;
      const inMemory = new MemoryOut();
      const spilled = new MemoryOut();
      const m = new GatherView(inMemory);
      const f = new GatherView(spilled, "exit 0", { spillBytes: 1024 * 1024, dir });
      const run = c.run({ hosts: "ga-[1-6]", shell: script });
      await present(
        run,
        [m, f, {
          event: () => {},
          end: () => {
            // Before the views end (and close their stores): how each kept the output.
            assert.ok(!m.store.spilled, "5 MB stay in memory by default");
            assert.ok(f.store.spilled, "past 1 MiB the outputs went to files");
            assert.equal(f.store.blobs, 2, "one file per distinct output (stderr is tiny)");
            assert.equal(f.store.memoryBytes, 0, "nothing of it in memory");
          },
        }].reverse(),
      );
      assert.equal(spilled.out, inMemory.out);
      assert.equal(spilled.err, inMemory.err);
      assert.match(spilled.out, /^ga-\[1-3\] \(exit 0\)$/m);
      assert.match(spilled.out, /^ga-\[4-5\] \(exit 0\)$/m);
      assert.match(spilled.out, /^ga-6 \(exit 3\)$/m);
      assert.equal(spilled.err, "---------------\nga-6 (exit 3)\n---------------\noops\n");
      assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing left on disk");
    } finally {
      await c.close();
      await Deno.remove(dir, { recursive: true });
      await world.close();
    }
  },
);
