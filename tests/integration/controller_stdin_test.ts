/**
 * `run --stdin`: the same bytes into every host's process, read once and
 * published once for all hosts on `P.stdin.<id>`, paced by the slowest host,
 * then the end. Real broker, real agents, the real controller (CLI and
 * library); the agent's side of a gap is driven over the wire directly.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Msg } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { decodeMap } from "../../protocol/codec.ts";
import { inputHeaders } from "../../protocol/input_messages.ts";
import { Controller, type RunEvent } from "../../controller/mod.ts";
import { ask, jsonLines, ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const MiB = 1024 * 1024;

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Random bytes (getRandomValues fills at most 64 KiB at once). */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** Every message on the run's input subject: offset, length and type. */
async function recordInput(world: World, id: string) {
  const seen: { type: string; offset: number; bytes: number }[] = [];
  const sub = world.nc.subscribe(world.subjects.stdin(id), {
    callback: (_e, m: Msg) => {
      seen.push({
        type: m.headers?.get("Tutti-Type") ?? "",
        offset: Number(m.headers?.get("Tutti-Offset")),
        bytes: m.data.length,
      });
    },
  });
  await world.nc.flush();
  return { seen, stop: () => sub.unsubscribe() };
}

Deno.test(
  "run --stdin FILE: every host's process gets exactly the bytes, sent once for all",
  opts,
  async () => {
    const world = await World.create();
    try {
      // One agent holds its processes itself: its keeper is in its own process, input included.
      await world.agentsNamed(["in-1", "in-2"]);
      await world.agent("in-3", { args: ["--keeper", "embedded"] });
      const data = randomBytes(6 * MiB + 12345);
      const file = `${world.dir}/data.bin`;
      await Deno.writeFile(file, data);
      const input = await recordInput(world, "feed");
      const r = await world.controller([
        "run",
        "--hosts",
        "in-[1-3]",
        "--id",
        "feed",
        "--stdin",
        file,
        "--",
        "sha256sum",
      ]);
      input.stop();
      assert.equal(r.code, 0, r.stderr);
      const want = sha256(data);
      assert.deepEqual(
        r.stdout.trim().split("\n").sort(),
        ["in-1", "in-2", "in-3"].map((h) => `${h}: ${want}  -`),
      );
      assert.match(r.stderr, /^3 hosts: 3 ok$/m);
      // One message per chunk for the three hosts (NATS fans out): not three times the bytes.
      const chunks = input.seen.filter((m) => m.type === "stdin");
      const published = chunks.reduce((sum, m) => sum + m.bytes, 0);
      assert.ok(published >= data.length && published < 2 * data.length, `${published} bytes sent`);
      assert.ok(chunks.every((m) => m.bytes <= 256 * 1024), "chunks of at most 256 KiB");
      assert.deepEqual(input.seen.filter((m) => m.type === "eof").at(-1), {
        type: "eof",
        offset: data.length,
        bytes: 0,
      });
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "run --stdin -: the controller's own stdin, to every host, with input events",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["dash-1", "dash-2", "dash-3"]);
      const data = randomBytes(3 * MiB + 7);
      const r = await world.controller(
        ["run", "--hosts", "dash-[1-3]", "--json", "--stdin", "-", "--", "sha256sum"],
        { stdin: data },
      );
      assert.equal(r.code, 0, r.stderr);
      const events = jsonLines(r.stdout);
      const want = `${sha256(data)}  -\n`;
      for (const host of ["dash-1", "dash-2", "dash-3"]) {
        const mine = events.filter((e) => e.host === host);
        assert.equal(mine.filter((e) => e.type === "output").map((e) => e.text).join(""), want);
        assert.deepEqual(mine.filter((e) => e.type === "input"), [
          { type: "input", host, written: data.length },
        ]);
        // The input's end comes before the exit.
        const types = mine.map((e) => e.type);
        assert.ok(types.indexOf("input") < types.indexOf("exit"), types.join(" "));
      }
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "run --stdin: a process that does not read fails alone, and holds the input at one window",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["slow-1", "slow-2", "slow-3"]);
      const data = randomBytes(24 * MiB);
      const file = `${world.dir}/big.bin`;
      await Deno.writeFile(file, data);
      // Until slow-2's input is over, nothing may be sent past its written + the window (4 MiB).
      let slowOpen = true;
      let sentWhileSlow = 0;
      const held: number[] = [];
      const sub = world.nc.subscribe(`${world.subjects.prefix}.>`, {
        callback: (_e, m: Msg) => {
          if (m.subject === world.subjects.stdin("lazy") && slowOpen) {
            const end = Number(m.headers?.get("Tutti-Offset")) + m.data.length;
            sentWhileSlow = Math.max(sentWhileSlow, end);
          } else if (m.subject === world.subjects.proc("slow-2", "lazy", "input")) {
            const p = decodeMap(m.data);
            held.push((p.received as number) - (p.written as number));
            if (p.closed) slowOpen = false;
          }
        },
      });
      await world.nc.flush();
      const r = await world.controller([
        "run",
        "--hosts",
        "slow-[1-3]",
        "--id",
        "lazy",
        "--stdin",
        file,
        "--",
        "sh",
        "-c",
        'if [ "$TUTTI_HOST" = slow-2 ]; then sleep 2; else sha256sum; fi',
      ]);
      sub.unsubscribe();
      assert.equal(r.code, 1, r.stderr);
      const want = sha256(data);
      assert.deepEqual(r.stdout.trim().split("\n").sort(), [
        `slow-1: ${want}  -`,
        `slow-3: ${want}  -`,
      ]);
      assert.match(
        r.stderr,
        // Its input has not all been read when it ends: "of at least" what was sent by then.
        /^slow-2: EPIPE the process ended \(exit 0\) before all of its input was written: \d+ of at least \d+ bytes$/m,
      );
      assert.match(r.stderr, /^3 hosts: 2 ok, 1 failed \(slow-2\)$/m);
      assert.ok(!slowOpen, "slow-2 reported the end of its input");
      assert.ok(sentWhileSlow > 0 && sentWhileSlow <= 4 * MiB, `${sentWhileSlow} bytes sent`);
      assert.ok(held.length > 0 && held.every((n) => n <= 4 * MiB), `held ${held.join(", ")}`);
    } finally {
      await world.close();
    }
  },
);

Deno.test("run --stdin: a file that cannot be read starts nothing anywhere", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("nf-1");
    const seen: string[] = [];
    const sub = world.nc.subscribe(`${world.subjects.prefix}.>`, {
      callback: (_e, m: Msg) => {
        if (!m.subject.startsWith(`${world.subjects.prefix}.presence.`)) seen.push(m.subject);
      },
    });
    await world.nc.flush();
    const missing = `${world.dir}/no-such.tar`;
    const r = await world.controller(["run", "--hosts", "nf-1", "--stdin", missing, "--", "cat"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `controller run: ENOENT --stdin ${missing}: no such file or directory\n`,
    );
    assert.equal(r.stdout, "");
    const dir = await world.controller([
      "run",
      "--hosts",
      "nf-1",
      "--stdin",
      world.dir,
      "--",
      "cat",
    ]);
    assert.equal(dir.code, 2);
    assert.match(dir.stderr, /^controller run: --stdin .*: is a directory$/m);
    const detach = await world.controller([
      "run",
      "--hosts",
      "nf-1",
      "--detach",
      "--stdin",
      "-",
      "--",
      "cat",
    ]);
    assert.equal(detach.code, 2);
    assert.match(detach.stderr, /--stdin and --detach cannot be combined/);
    await world.nc.flush();
    sub.unsubscribe();
    assert.deepEqual(seen, [], "no request, no input");
    const ps = await ask(world, "nf-1", "ps", {});
    assert.deepEqual(ps.body.procs, []);
  } finally {
    await world.close();
  }
});

Deno.test("library: stdin as bytes; a run without stdin still reads /dev/null", opts, async () => {
  const world = await World.create();
  let c: Controller | undefined;
  try {
    await world.agentsNamed(["lib-1", "lib-2"]);
    c = await Controller.connect({
      servers: [world.broker.url],
      prefix: world.prefix,
      stateDir: false,
    });
    const data = randomBytes(MiB + 3);
    const run = c.run({
      hosts: "lib-[1-2]",
      argv: ["wc", "-c"],
      stdin: data,
      stdinWindow: 256 * 1024,
    });
    const seen: RunEvent[] = [];
    for await (const e of run) seen.push(e);
    const summary = await run.done;
    assert.ok(summary.ok, JSON.stringify(summary));
    for (const host of ["lib-1", "lib-2"]) {
      const text = seen.filter((e) => e.type === "output" && e.host === host)
        .map((e) => e.type === "output" ? new TextDecoder().decode(e.data) : "").join("");
      assert.equal(text.trim(), String(data.length));
      assert.deepEqual(seen.filter((e) => e.type === "input" && e.host === host), [
        { type: "input", host, written: data.length },
      ]);
    }
    const plain = c.run({ hosts: "lib-1", argv: ["wc", "-c"] });
    const out: string[] = [];
    for await (const e of plain) {
      if (e.type === "output") out.push(new TextDecoder().decode(e.data));
    }
    assert.ok((await plain.done).ok);
    assert.equal(out.join("").trim(), "0");
    assert.throws(
      () => c!.run({ hosts: "lib-1", argv: ["cat"], stdin: data, detach: true }),
      /stdin and detach cannot be combined/,
    );
    assert.throws(
      () => c!.run({ hosts: "lib-1", argv: ["cat"], stdin: data, stdinWindow: 10 }),
      /stdinWindow: expected a number of bytes/,
    );
  } finally {
    await c?.close();
    await world.close();
  }
});

Deno.test(
  "agent: a missed chunk is reported with its offsets and never written; garbage is ignored",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("gap-1");
      const watch = await ProcWatch.open(world, "gap-1", "gap");
      const reply = await ask(world, "gap-1", "run", { id: "gap", argv: ["cat"], stdin: true });
      assert.equal(reply.body.ok, true, JSON.stringify(reply.body));
      const enc = new TextEncoder();
      const send = (offset: number, text: string, type: "stdin" | "eof" = "stdin") => {
        const h = natsHeaders();
        const data = enc.encode(text);
        const chunk = type === "eof" ? { type, offset } : { type, offset, data };
        for (const [k, v] of Object.entries(inputHeaders(chunk, "gap"))) h.append(k, v);
        world.nc.publish(world.subjects.stdin("gap"), data, { headers: h });
      };
      const progress = () => watch.of("gap", "input").map((e) => e.body!);
      const until = async (what: string, ok: () => boolean) => {
        for (const end = Date.now() + 10_000; !ok();) {
          if (Date.now() > end) throw new Error(`no ${what}: ${JSON.stringify(progress())}`);
          await world.nc.flush();
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until("first report", () => progress().length > 0);
      assert.deepEqual(progress()[0], { v: 1, received: 0, written: 0, eof: false, closed: false });
      send(0, "hello ");
      send(12, "world\n"); // bytes 6-11 never came
      await until("gap report", () => progress().some((p) => p.gap !== undefined));
      const gap = progress().find((p) => p.gap !== undefined)!;
      assert.equal(gap.received, 6);
      assert.equal(gap.gap, 12);
      // Garbage on the subject: ignored, the agent goes on.
      world.nc.publish(world.subjects.stdin("gap"), enc.encode("no headers"));
      const bad = natsHeaders();
      bad.append("Tutti-Version", "1");
      bad.append("Tutti-Type", "stdin");
      bad.append("Tutti-Offset", "six");
      world.nc.publish(world.subjects.stdin("gap"), enc.encode("junk"), { headers: bad });
      send(6, "there ");
      send(0, "HELLO "); // already received: skipped
      send(12, "world\n");
      send(16, "d\nbye\n"); // straddles what it has: only "bye\n" is new
      send(22, "", "eof");
      const exit = await watch.exit("gap");
      assert.equal(exit.code, 0);
      assert.equal(watch.text("gap"), "hello there world\nbye\n");
      const last = progress().at(-1)!;
      assert.deepEqual(last, { v: 1, received: 22, written: 22, eof: true, closed: true });
      // The input's last word came before the exit.
      const seqs = watch.of("gap").map((e) => `${e.event}:${e.seq}`);
      assert.ok(
        watch.of("gap", "input").at(-1)!.seq < watch.of("gap", "exit")[0].seq,
        seqs.join(" "),
      );
      const ping = await ask(world, "gap-1", "ping");
      assert.equal(ping.body.ok, true, "the agent is alive");
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "run --stdin: an agent killed mid-input is replaced, and its process gets every byte once",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      const first = await world.agent("re-1");
      c = await Controller.connect({
        servers: [world.broker.url],
        prefix: world.prefix,
        stateDir: false,
      });
      const reports: Record<string, unknown>[] = [];
      const sub = world.nc.subscribe(world.subjects.proc("re-1", "adopt", "input"), {
        callback: (_e, m: Msg) => void reports.push(decodeMap(m.data)),
      });
      const input = await recordInput(world, "adopt");
      const data = randomBytes(6 * MiB);
      let source!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({ start: (ctl) => void (source = ctl) });
      // The process reads late, so that input waits with the agent when it is killed.
      const run = c.run({ hosts: "re-1", id: "adopt", shell: "sleep 1; sha256sum", stdin: stream });
      const out: string[] = [];
      const events = (async () => {
        for await (const e of run) {
          if (e.type === "output") {
            out.push(new TextDecoder().decode(e.data));
          }
        }
      })();
      source.enqueue(data.subarray(0, 3 * MiB));
      const received = () => (reports.at(-1)?.received as number | undefined) ?? 0;
      for (const end = Date.now() + 10_000; received() < 3 * MiB;) {
        if (Date.now() > end) throw new Error(`not received: ${JSON.stringify(reports)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const before = reports.length;
      await first.kill();
      await world.agent("re-1"); // the same state directory: it adopts the process and its stdin
      source.enqueue(data.subarray(3 * MiB));
      source.close();
      await events;
      const summary = await run.done;
      sub.unsubscribe();
      input.stop();
      assert.ok(summary.ok, JSON.stringify(summary));
      assert.equal(out.join(""), `${sha256(data)}  -\n`, "every byte once, in order");
      // The new agent carried on from what the keeper had taken, and the rest was sent again.
      const resumed = reports[before];
      assert.equal(resumed.received, resumed.written);
      assert.ok((resumed.written as number) < 3 * MiB, JSON.stringify(resumed));
      const offsets = input.seen.filter((m) => m.type === "stdin").map((m) => m.offset);
      assert.ok(offsets.some((o, i) => offsets.indexOf(o) !== i), "some chunks were sent again");
    } finally {
      await c?.close();
      await world.close();
    }
  },
);

Deno.test(
  "library: an input that fails midway stops the processes instead of ending their input",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      await world.agentsNamed(["bad-1", "bad-2"]);
      c = await Controller.connect({
        servers: [world.broker.url],
        prefix: world.prefix,
        stateDir: false,
      });
      let pulls = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (pulls++ === 0) ctl.enqueue(new TextEncoder().encode("partial"));
          else ctl.error(new Error("the disk went away"));
        },
      });
      // A process that would take a truncated input for a whole one.
      const run = c.run({
        hosts: "bad-[1-2]",
        argv: ["sh", "-c", "cat >/dev/null; echo done"],
        stdin: stream,
      });
      const seen: RunEvent[] = [];
      for await (const e of run) seen.push(e);
      const summary = await run.done;
      assert.equal(summary.ok, false);
      for (const o of summary.hosts) {
        assert.equal(o.status, "failed");
        assert.equal(o.error?.code, "EIO");
        assert.match(
          o.error!.message,
          /^reading the input failed after 7 bytes: the disk went away$/,
        );
        assert.equal(o.proc?.signal, "SIGTERM", "stopped, not given an end of file");
      }
      assert.ok(!seen.some((e) => e.type === "output"), "it never printed done");
    } finally {
      await c?.close();
      await world.close();
    }
  },
);
