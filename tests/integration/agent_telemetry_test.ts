/**
 * Telemetry from a real agent process: with `--telemetry 200ms` the machine
 * and process samples on `P.tel.<host>` and `P.tel.<host>.procs` agree with
 * an independent reading of /proc (a CPU burner started with `run` shows as
 * busy, memory adds up); without the option nothing is published at all.
 */
import assert from "node:assert/strict";
import type { Subscription } from "@nats-io/transport-node";
import { decodeMap } from "../../protocol/codec.ts";
import {
  type MachineTelemetry,
  parseMachineTelemetry,
  parseProcsTelemetry,
  type ProcsTelemetry,
} from "../../protocol/telemetry_messages.ts";
import { ask, ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

interface Seen<T> {
  subject: string;
  type: string;
  body: T;
  /** performance.now() at arrival */
  t: number;
}

/** Messages on one subject, in order, from the moment `open` resolves; `next` awaits one. */
class Feed<T> {
  readonly seen: Seen<T>[] = [];
  private readonly waiters: { from: number; ok: (s: Seen<T>) => boolean; resolve: () => void }[] =
    [];
  private readonly sub: Subscription;

  private constructor(world: World, subject: string, parse: (m: Record<string, unknown>) => T) {
    this.sub = world.nc.subscribe(subject, {
      callback: (_err, m) => {
        this.seen.push({
          subject: m.subject,
          type: m.headers?.get("Tutti-Type") ?? "",
          body: parse(decodeMap(m.data)),
          t: performance.now(),
        });
        for (const w of this.waiters.slice()) if (this.find(w.from, w.ok)) w.resolve();
      },
    });
  }

  static async open<T>(
    world: World,
    subject: string,
    parse: (m: Record<string, unknown>) => T,
  ): Promise<Feed<T>> {
    const f = new Feed(world, subject, parse);
    await world.nc.flush();
    return f;
  }

  private find(from: number, ok: (s: Seen<T>) => boolean): Seen<T> | undefined {
    return this.seen.slice(from).find(ok);
  }

  /** The first message from index `from` on that `ok` accepts; rejects after `timeoutMs`. */
  async next(
    what: string,
    ok: (s: Seen<T>) => boolean = () => true,
    from = 0,
    timeoutMs = 15_000,
  ): Promise<Seen<T>> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const w = { from, ok, resolve };
    this.waiters.push(w);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (!this.find(from, ok)) {
        await Promise.race([
          promise,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no ${what} within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      }
      return this.find(from, ok)!;
    } finally {
      clearTimeout(timer);
      this.waiters.splice(this.waiters.indexOf(w), 1);
    }
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of Deno.readTextFileSync("/proc/meminfo").split("\n")) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

/** utime + stime of one process in clock ticks (USER_HZ is 100 on Linux). */
function procTicks(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

function vmRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  return m ? Number(m[1]) * 1024 : 0;
}

Deno.test(
  "with --telemetry 200ms, machine and process samples agree with /proc",
  opts,
  async () => {
    const world = await World.create();
    // The burner must not outlive a failed test (its agent is then killed, not stopped).
    let burner = 0;
    try {
      const machine = await Feed.open(world, world.subjects.tel("a1"), parseMachineTelemetry);
      const procs = await Feed.open(world, world.subjects.telProcs("a1"), parseProcsTelemetry);
      await world.agent("a1", { args: ["--telemetry", "200ms"] });
      const ping = await ask(world, "a1", "ping");
      assert.equal(ping.body.telemetry, 200);

      // The first sample has nothing to compare with; the next ones do.
      const first = await machine.next("a first machine sample");
      assert.equal(first.type, "tel");
      assert.equal(first.body.host, "a1");
      assert.equal(first.body.v, 1);
      assert.equal(first.body.interval, 0);
      assert.equal(first.body.cpu.total, null);
      const later = await machine.next("a third machine sample", () => true, 2);
      const m: MachineTelemetry = later.body;
      assert.ok(m.interval > 0, `interval ${m.interval}`);
      assert.ok(m.at > first.body.at);
      assert.ok(m.cpu.total !== null && m.cpu.total >= 0 && m.cpu.total <= 100, `${m.cpu.total}`);
      const cpuLines = Deno.readTextFileSync("/proc/stat").split("\n").filter((l) =>
        /^cpu\d+ /.test(l)
      );
      assert.equal(m.cpu.cores.length, cpuLines.length, "one figure per core");
      for (const c of m.cpu.cores) assert.ok(c !== null && c >= 0 && c <= 100, `core ${c}`);
      const mem = meminfo();
      assert.equal(m.memory.total, mem.MemTotal);
      assert.equal(m.memory.swapTotal, mem.SwapTotal);
      assert.equal(m.memory.used + m.memory.available, m.memory.total, "memory adds up");
      // Not free <= available: the kernel takes its reserves out of MemAvailable, which falls
      // below MemFree when little page cache is left (as when the whole suite runs at once).
      assert.ok(m.memory.free <= m.memory.total && m.memory.available <= m.memory.total);
      assert.ok(m.memory.free > 0 && m.memory.available > 0);
      assert.ok(m.memory.swapFree <= m.memory.swapTotal);
      const uptime = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
      assert.ok(Math.abs(m.uptime - uptime) < 5, `uptime ${m.uptime} vs ${uptime}`);
      assert.equal(m.load.length, 3);
      assert.ok(m.tasks.total >= m.tasks.running && m.tasks.running >= 1);
      assert.ok(m.net.some((n) => n.name === "lo"), "the loopback interface is listed");
      // No managed process yet: no process samples.
      assert.equal(procs.seen.length, 0);

      // A CPU burner, measured independently from /proc/<pid>/stat over the same stretch of samples.
      const watch = await ProcWatch.open(world, "a1", "burn");
      const run = await ask(world, "a1", "run", { id: "burn", shell: "while :; do :; done" });
      const pid = burner = (run.body.proc as { pid: number }).pid;
      const burning = (s: Seen<ProcsTelemetry>) =>
        s.body.procs.find((p) => p.id === "burn" && p.cpu !== null);
      const start = await procs.next("a process sample of the burner", (s) => !!burning(s));
      const [ticks0, t0] = [procTicks(pid), performance.now()];
      const at = procs.seen.indexOf(start);
      const end = await procs.next("five more process samples", () => true, at + 5);
      const [ticks1, t1] = [procTicks(pid), performance.now()];
      const independent = (ticks1 - ticks0) / 100 / ((t1 - t0) / 1000) * 100;
      const reported = procs.seen.slice(at + 1, at + 6).map((s) => burning(s)?.cpu ?? 0);
      const mean = reported.reduce((a, b) => a + b, 0) / reported.length;
      assert.ok(mean > 5, `the burner is busy: ${reported.join(", ")}`);
      assert.ok(
        Math.abs(mean - independent) < 25,
        `telemetry says ${mean.toFixed(0)}% of a core, /proc says ${independent.toFixed(0)}%`,
      );
      const p = burning(end)!;
      assert.equal(end.type, "procs");
      assert.equal(end.body.host, "a1");
      assert.equal(p.pid, pid);
      assert.ok(p.cpu! <= 100 * cpuLines.length, `cpu ${p.cpu}`);
      assert.ok(p.tasks >= 1 && p.threads >= 1);
      const rss = vmRss(pid);
      assert.ok(p.rss > rss / 2 && p.rss < rss * 2 + 1024 * 1024, `rss ${p.rss} vs VmRSS ${rss}`);
      // The machine sees it too: at least the burner's share of the machine, in some sample.
      const share = machine.seen.filter((s) => s.t > start.t && s.t <= end.t)
        .map((s) => s.body.cpu.total ?? 0);
      assert.ok(
        Math.max(...share) >= mean / cpuLines.length * 0.8,
        `machine CPU ${share.join(", ")} vs the burner's ${mean.toFixed(0)}% of one core`,
      );

      // Once it has exited, one empty process sample, then none.
      await ask(world, "a1", "signal", { procs: ["burn"], signal: "SIGKILL" });
      await watch.exit("burn");
      const empty = await procs.next("an empty process sample", (s) => s.body.procs.length === 0);
      const after = procs.seen.indexOf(empty);
      const mark = machine.seen.length;
      await machine.next("two more machine samples", () => true, mark + 1);
      assert.equal(procs.seen.length, after + 1, "no process sample after the empty one");
      watch.close();
      machine.close();
      procs.close();
    } finally {
      if (burner > 0) {
        try {
          Deno.kill(-burner, "SIGKILL");
        } catch {
          // gone already
        }
      }
      await world.close();
    }
  },
);

Deno.test("without --telemetry the agent publishes nothing on tel.>", opts, async () => {
  const world = await World.create();
  try {
    const tel = await Feed.open(world, `${world.prefix}.tel.>`, (m) => m);
    const beats = await Feed.open(world, world.subjects.presence("a1"), (m) => m);
    await world.agent("a1", { args: ["--heartbeat", "200ms"] });
    const ping = await ask(world, "a1", "ping");
    assert.equal(ping.body.telemetry, 0);
    const watch = await ProcWatch.open(world, "a1", "short");
    await ask(world, "a1", "run", { id: "short", argv: ["sleep", "0.3"] });
    await watch.exit("short");
    // A bounded wait for absence: five heartbeats (a second), then a round trip so that anything
    // the agent published before its ping reply has arrived.
    await beats.next("five beats", (s) => s.body.type === "beat", 0);
    const firstBeat = beats.seen.findIndex((s) => s.body.type === "beat");
    await beats.next("five beats", (s) => s.body.type === "beat", firstBeat + 4);
    await ask(world, "a1", "ping");
    assert.deepEqual(tel.seen.map((s) => s.subject), []);
    watch.close();
    tel.close();
    beats.close();
  } finally {
    await world.close();
  }
});
