/**
 * The sampler against independent readings of /proc made here with plain
 * string parsing, and against real load: a CPU burner, a process that
 * allocates 100 MB, traffic on the loopback interface, a file written to disk.
 */
import { Sampler } from "../../agent/telemetry/sampler.ts";
import { TelemetryLoop } from "../../agent/telemetry/telemetry_loop.ts";
import { decodeMap, encode } from "../../protocol/codec.ts";
import {
  type MachineSample,
  parseMachineTelemetry,
  parseProcsTelemetry,
  type ProcsSample,
} from "../../protocol/telemetry_messages.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} is not within ${tolerance} of ${expected}`,
  );
}

const text = (path: string) => Deno.readTextFileSync(path);

/** `/proc/stat` cpu lines → [busy, total] ticks, independently of the sampler's parser. */
function cpuTicks(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const line of text("/proc/stat").split("\n")) {
    if (!line.startsWith("cpu")) continue;
    const [name, ...rest] = line.trim().split(/\s+/);
    const v = rest.slice(0, 8).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    out.set(name, [total - v[3] - v[4], total]);
  }
  return out;
}

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text("/proc/meminfo").split("\n")) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

/** utime + stime of one process, ticks. */
function procTicks(pid: number): number {
  const s = text(`/proc/${pid}/stat`);
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** Samples until `done` accepts a sample or the deadline passes (CPU use has no event to await). */
async function sampleUntil(
  take: () => MachineSample | ProcsSample,
  done: (s: ReturnType<typeof take>) => boolean,
  ms = 10_000,
): Promise<ReturnType<typeof take>> {
  const end = Date.now() + ms;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const s = take();
    if (done(s) || Date.now() > end) return s;
  }
}

/** Reads a child's stdout until it has printed `word`. */
async function waitFor(reader: ReadableStreamDefaultReader<Uint8Array>, word: string) {
  const dec = new TextDecoder();
  let seen = "";
  while (!seen.includes(word)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(word)}; got ${seen}`);
    seen += dec.decode(value);
  }
}

Deno.test("machine figures agree with /proc", () => {
  const s = new Sampler();
  try {
    const lines = cpuTicks();
    const first = s.sample();
    assert(first.cpu.total === null, "the first sample has no CPU share");
    assert(first.interval === 0, "the first sample has no interval");
    near(first.cpu.cores.length, lines.size - 1, 0, "one entry per cpuN line");

    const mem = meminfo();
    const m = s.sample();
    assert(m.memory.total === mem.MemTotal, `MemTotal ${m.memory.total} vs ${mem.MemTotal}`);
    assert(m.memory.swapTotal === mem.SwapTotal, "SwapTotal");
    assert(m.memory.used + m.memory.available === m.memory.total, "used + available = total");
    near(m.memory.available, mem.MemAvailable, mem.MemTotal * 0.05, "MemAvailable");
    near(m.memory.free, mem.MemFree, mem.MemTotal * 0.05, "MemFree");
    assert(m.memory.used > 0 && m.memory.available > 0, "memory figures are positive");

    const up = Number(text("/proc/uptime").split(" ")[0]);
    near(m.uptime, up, 2, "uptime");
    const la = text("/proc/loadavg").split(" ");
    near(m.load[0], Number(la[0]), 1, "load 1 min");
    near(m.tasks.total, Number(la[3].split("/")[1]), 50, "tasks");
    assert(m.tasks.running >= 1, "this process is running");

    const ifaces = text("/proc/net/dev").split("\n").slice(2).filter((l) => l.includes(":"))
      .map((l) => l.split(":")[0].trim());
    assert(
      JSON.stringify(m.net.map((n) => n.name)) === JSON.stringify(ifaces),
      `interfaces ${m.net.map((n) => n.name)} vs ${ifaces}`,
    );
    for (const d of m.disks) {
      assert(!/^(loop|ram|zram|dm-)/.test(d.name), `${d.name} is not a whole disk`);
      assert(d.read >= 0 && d.written >= 0, "disk counters");
    }
    const devs = text("/proc/diskstats").split("\n").map((l) => l.trim().split(/\s+/)[2]);
    for (const d of m.disks) assert(devs.includes(d.name), `${d.name} is in /proc/diskstats`);
  } finally {
    s.close();
  }
});

Deno.test("a CPU burner raises total CPU use and shows in its own CPU figure", async () => {
  const s = new Sampler();
  const burner = new Deno.Command("/bin/sh", {
    args: ["-c", "while :; do :; done"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const procs = [{ id: "burn", pid: burner.pid }];
    // [ticks just before, ticks just after] each sample, read independently.
    const brackets: [number, number][] = [];
    let mach: MachineSample | null = null;
    const take = () => {
      const before = procTicks(burner.pid);
      mach = s.sample();
      const p = s.sampleProcs(procs);
      brackets.push([before, procTicks(burner.pid)]);
      return p;
    };
    take();
    // Until the burner has been measured busy for a whole interval (the scheduler decides when).
    const sample = await sampleUntil(
      take,
      (p) => ((p as ProcsSample).procs[0]?.cpu ?? 0) > 30,
    ) as ProcsSample;
    const p = sample.procs[0];
    assert(p !== undefined && p.id === "burn" && p.pid === burner.pid, "the burner is sampled");
    assert(p.cpu !== null && p.cpu > 30, `burner CPU ${p.cpu}% should be high`);
    assert(p.cpu <= 105, `one shell uses at most one core: ${p.cpu}%`);
    assert(p.tasks === 1 && p.threads === 1, "a single-threaded process without children");
    // Independent check over the same stretch: the ticks behind the figure lie between what
    // /proc said just inside and just outside the two samples.
    const ticks = (p.cpu / 100) * (sample.interval / 1000) * 100;
    const [[b1, a1], [b2, a2]] = brackets.slice(-2);
    assert(
      ticks >= b2 - a1 - 1 && ticks <= a2 - b1 + 1,
      `sampler ticks ${ticks} outside /proc's [${b2 - a1}, ${a2 - b1}]`,
    );

    const m = mach! as MachineSample;
    const cores = m.cpu.cores.length;
    assert(m.cpu.total !== null, "total CPU after two samples");
    // The burner alone keeps one core busy: the machine is at least that busy.
    assert(
      m.cpu.total >= p.cpu / cores - 10,
      `total CPU ${m.cpu.total}% with a burner at ${p.cpu}% on ${cores} cores`,
    );
    assert(m.cpu.cores.some((c) => c !== null && c > 30), `a busy core: ${m.cpu.cores}`);
    assert(
      Math.abs(m.cpu.total - (m.cpu.user! + m.cpu.system! + m.cpu.steal!)) < 2,
      "total = user + system + steal (+ the rounding)",
    );
  } finally {
    burner.kill("SIGKILL");
    await burner.status;
    s.close();
  }
});

Deno.test("total CPU agrees with an independent reading of /proc/stat", async () => {
  const s = new Sampler();
  try {
    const a = cpuTicks().get("cpu")!;
    s.sample();
    await new Promise((r) => setTimeout(r, 500));
    const m = s.sample();
    const b = cpuTicks().get("cpu")!;
    const busy = (100 * (b[0] - a[0])) / (b[1] - a[1]);
    near(m.cpu.total!, busy, 10, "total CPU against the test's own /proc/stat reading");
  } finally {
    s.close();
  }
});

Deno.test("RSS of a process that allocates 100 MB grows accordingly", async () => {
  const s = new Sampler();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const r = Deno.stdin.readable.getReader();
       console.log("base");
       await r.read();
       const a = new Uint8Array(100 * 1024 * 1024).fill(1);
       console.log("ready", a[12345]);
       await r.read();`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out = child.stdout.getReader();
  const stdin = child.stdin.getWriter();
  try {
    await waitFor(out, "base");
    const before = s.sampleProcs([{ id: "mem", pid: child.pid }]).procs[0];
    await stdin.write(new Uint8Array([10]));
    await waitFor(out, "ready");
    const after = s.sampleProcs([{ id: "mem", pid: child.pid }]).procs[0];
    const grown = after.rss - before.rss;
    const MB = 1024 * 1024;
    assert(grown >= 95 * MB && grown <= 140 * MB, `RSS grew by ${grown / MB} MB`);
    const vmRss = Number(/VmRSS:\s+(\d+)/.exec(text(`/proc/${child.pid}/status`))![1]) * 1024;
    near(after.rss, vmRss, 5 * MB, "rss against VmRSS");
    assert(after.threads > 1, "deno runs several threads");
    assert(after.cpu !== null && after.cpu >= 0, "CPU after a second sample");
    assert(after.read !== null && after.written !== null, "own processes' io is readable");
  } finally {
    await stdin.close().catch(() => {});
    await out.cancel();
    await child.status;
    s.close();
  }
});

Deno.test("a process tree counts its children; a gone process is left out", async () => {
  const s = new Sampler();
  const sh = new Deno.Command("/bin/sh", {
    args: ["-c", "sleep 30 & sleep 30 & echo started; wait"],
    stdout: "piped",
    stderr: "null",
    detached: true, // its own group, so that the sleeps go with it
  }).spawn();
  const out = sh.stdout.getReader();
  try {
    await waitFor(out, "started");
    const p = s.sampleProcs([{ id: "tree", pid: sh.pid }, { id: "gone", pid: 999_999_999 }]);
    assert(p.procs.length === 1, "the unknown pid is left out");
    assert(p.procs[0].tasks === 3, `sh and two sleeps: ${p.procs[0].tasks}`);
  } finally {
    Deno.kill(-sh.pid, "SIGKILL");
    await sh.status;
    await out.cancel();
    s.close();
  }
});

Deno.test("loopback traffic shows in lo's rates", async () => {
  const s = new Sampler();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const accepted = (async () => {
      const conn = await listener.accept();
      const buf = new Uint8Array(65536);
      let total = 0;
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        total += n;
      }
      conn.close();
      return total;
    })();
    const before = s.sample();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 8; i++) {
      for (let done = 0; done < chunk.length;) done += await conn.write(chunk.subarray(done));
    }
    conn.close();
    const got = await accepted;
    assert(got === 8 * chunk.length, "all bytes arrived");
    const after = s.sample();
    const lo0 = before.net.find((n) => n.name === "lo")!;
    const lo1 = after.net.find((n) => n.name === "lo")!;
    assert(lo1.rx - lo0.rx >= got, `lo rx grew by ${lo1.rx - lo0.rx}, sent ${got}`);
    // `interval` is rounded to the millisecond: the true one is at most 0.5 ms longer, which
    // matters here, where sending 8 MiB on loopback takes a few milliseconds.
    const seconds = (after.interval + 0.5) / 1000;
    assert(
      lo1.rxRate !== null && lo1.rxRate * seconds >= got,
      `rate ${lo1.rxRate} over ${seconds}s`,
    );
  } finally {
    listener.close();
    s.close();
  }
});

Deno.test("bytes written to a whole disk show in its counters", async () => {
  const dir = Deno.makeTempDirSync();
  const s = new Sampler();
  try {
    // Which disk holds the temporary directory? (Skipped on tmpfs and other diskless places.)
    const dev = Deno.statSync(dir).dev;
    const major = Number((BigInt(dev) >> 8n) & 0xfffn);
    const minor = Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));
    let disk: string | undefined;
    try {
      const real = Deno.realPathSync(`/sys/dev/block/${major}:${minor}`);
      disk = /\/block\/([^/]+)/.exec(real)?.[1];
    } catch {
      // not a block device
    }
    const before = s.sample();
    const d0 = before.disks.find((d) => d.name === disk);
    if (!d0) {
      console.log(`  (temporary directory not on a counted disk: ${disk ?? "none"}; skipped)`);
      return;
    }
    const f = await Deno.open(`${dir}/data`, { write: true, create: true });
    const chunk = new Uint8Array(1024 * 1024).fill(7);
    for (let i = 0; i < 8; i++) await f.write(chunk);
    await f.sync();
    f.close();
    const after = s.sample();
    const d1 = after.disks.find((d) => d.name === disk)!;
    assert(
      d1.written - d0.written >= 8 * chunk.length,
      `${disk} written +${d1.written - d0.written}`,
    );
    assert(d1.writeRate !== null && d1.writeRate > 0, "write rate");
  } finally {
    s.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("telemetry bodies survive CBOR and their parsers", () => {
  const s = new Sampler();
  try {
    s.sample();
    const m = { v: 1, host: "h1", ...s.sample() };
    const back = parseMachineTelemetry(decodeMap(encode(m)));
    assert(JSON.stringify(back) === JSON.stringify(m), "machine body round trip");
    const p = { v: 1, host: "h1", ...s.sampleProcs([{ id: "self", pid: Deno.pid }]) };
    const pback = parseProcsTelemetry(decodeMap(encode(p)));
    assert(JSON.stringify(pback) === JSON.stringify(p), "procs body round trip");
    let threw = "";
    try {
      parseMachineTelemetry({ ...m, memory: { ...m.memory, total: "lots" } });
    } catch (e) {
      threw = (e as Error).message;
    }
    assert(threw.includes('"memory.total"'), `names the field: ${threw}`);
  } finally {
    s.close();
  }
});

Deno.test("the telemetry loop samples at once, then at its interval, and stops cleanly", async () => {
  const machines: MachineSample[] = [];
  const procs: ProcsSample[] = [];
  let running = true;
  let resolveTwo: () => void = () => {};
  const two = new Promise<void>((r) => resolveTwo = r);
  const loop = new TelemetryLoop(100, {
    procs: () => running ? [{ id: "self", pid: Deno.pid }] : [],
    machine: (m) => {
      machines.push(m);
      if (machines.length === 3) resolveTwo();
    },
    processes: (p) => procs.push(p),
    error: (e) => {
      throw e;
    },
  });
  // The loop's timer does not keep a process alive (the agent's connection does): this does.
  const keepAlive = setTimeout(() => {}, 60_000);
  loop.start();
  assert(machines.length === 1, "a first sample at start");
  assert(procs.length === 1 && procs[0].procs[0].id === "self", "with the processes");
  running = false;
  await two;
  loop.stop();
  clearTimeout(keepAlive);
  assert(!loop.running, "stopped");
  assert(machines[2].cpu.total !== null, "later samples have CPU shares");
  // Processes: the first tick, one empty body when none is left, then nothing.
  const bodies: ProcsSample[] = procs;
  assert(bodies.length === 2 && bodies[1].procs.length === 0, `procs bodies: ${bodies.length}`);
});
