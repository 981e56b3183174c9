/**
 * Fan-in: many hosts talking at once to one controller. N agents (`fi-1` …
 * `fi-N`, default 20) each run `seq 1 L` (default 2,500,000 lines, 19 MB)
 * at once, and the controller prints it all:
 *
 * - the controller CLI's default view (lines prefixed by host), `--json`
 *   and `--gather`, each read to its last byte from a pipe by this process;
 * - the controller library in a process of its own (peers/drain.ts), which
 *   only counts the bytes: what any view costs on top of it;
 * - the peer: N parallel `ssh host seq 1 L | sed 's/^/hI: /'` through the
 *   loopback sshd, into the same kind of pipe.
 *
 * Time from spawn to exit, and the controller's peak memory (VmHWM from
 * /proc/<pid>/status, read every 50 ms until it exits), beside the peak of
 * the same CLI running `true` on the same hosts. Then one host writing one
 * line of B bytes without a newline (`head -c B /dev/zero`, default
 * 512 MiB), in the default view: the line must go out in pieces, so the
 * controller's memory must not follow B.
 *
 * Every contender's output is checked: the default view, the gathered view
 * and the ssh peer byte for byte in size, the library per host.
 */
import { DENO, type RunningAgent } from "./agents.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { ratioAtMost, Recorder, type Row, row, valueBelow } from "./figures.ts";

const TIMEOUT_MS = 300_000;
/** Agents started at once (as the pool does: more would only slow each start). */
const START_WIDTH = 8;
const HWM_POLL_MS = 50;
const MiB = 1024 * 1024;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const DRAIN_TS = new URL("./peers/drain.ts", import.meta.url).pathname;
const MODES = {
  live: "default view",
  json: "--json",
  gather: "--gather",
  library: "library",
} as const;
/** The memory target: the controller's peak whatever the volume. */
const RSS_TARGET_MIB = 150;
/** The default view's target: within this much of `--json`. */
const JSON_RATIO = 1.2;
/** A line longer than this goes out in pieces of this size (controller/render/prefixed_lines.ts). */
const PIECE = 64 * 1024;

interface Counted {
  ms: number;
  code: number;
  bytes: number;
  /** Peak resident memory of the process, MiB (NaN when it could not be read). */
  hwm: number;
  stderr: string;
  /** stdout as text, when asked to keep it. */
  text: string;
}

/** Runs `cmd`, reads its stdout to the end counting bytes, and follows its VmHWM. */
async function counted(
  ctx: BenchContext,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  keep = false,
): Promise<Counted> {
  const t0 = performance.now();
  const child = ctx.scope.track(
    new Deno.Command(cmd, { args, env, stdin: "null", stdout: "piped", stderr: "piped" }).spawn(),
  );
  let hwm = NaN;
  const poll = () => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
      if (m) hwm = Number(m[1]) / 1024;
    } catch { /* it has exited */ }
  };
  poll();
  const timer = setInterval(poll, HWM_POLL_MS);
  const kill = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  const stderr = new Response(child.stderr).text();
  const decoder = new TextDecoder();
  let bytes = 0;
  let text = "";
  try {
    for await (const chunk of child.stdout) {
      bytes += chunk.length;
      if (keep) text += decoder.decode(chunk, { stream: true });
    }
    const status = await child.status;
    const ms = performance.now() - t0;
    return { ms, code: status.code, bytes, hwm, stderr: await stderr, text };
  } finally {
    clearInterval(timer);
    clearTimeout(kill);
  }
}

/** Bytes `seq 1 n` writes. */
export function seqBytes(n: number): number {
  let total = 0;
  for (let digits = 1, low = 1; low <= n; digits++, low *= 10) {
    total += (Math.min(n, low * 10 - 1) - low + 1) * (digits + 1);
  }
  return total;
}

/** Bytes of `bytes` written as one line without a newline, in the default view. */
export function longLineBytes(host: string, bytes: number): number {
  const pieces = Math.ceil(bytes / PIECE);
  return bytes + pieces * (host.length + 3); // `host: ` or `host+ `, and a newline per piece
}

const q = (s: string) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;

export async function faninSection(ctx: BenchContext): Promise<Row[]> {
  const { faninHosts: n, faninLines: lines, faninLine: lineBytes } = ctx.opts;
  const rounds = ctx.opts.quick ? 2 : 3;
  const names = Array.from({ length: n }, (_, i) => `fi-${i + 1}`);
  const hosts = `fi-[1-${n}]`;
  const seq = ["seq", "1", String(lines)];
  // A state directory of its own: no known-hosts file of another run weighs on the memory.
  const env = {
    NATS_URL: ctx.broker.url,
    NO_COLOR: "1",
    TUTTI_STATE_DIR: await ctx.scope.tempDir("tutti-bench-fanin-"),
  };
  const cli = (...args: string[]) => ["run", "-A", "--no-config", ctx.opts.controllerJs, ...args];
  const each = seqBytes(lines);
  const prefixed = names.reduce((sum, h) => sum + each + lines * (h.length + 2), 0);
  const gathered = `---------------\n${hosts} (exit 0)\n---------------\n`.length + each;

  say(`fan-in: starting ${n} agents`);
  // Agents of their own, keeping one exited process each: at most two spools of a run on disk.
  const agents: RunningAgent[] = [];
  let next = 0;
  const lane = async () => {
    while (next < names.length) agents.push(await ctx.pool.extra(names[next++], ["--keep", "1"]));
  };
  await Promise.all(Array.from({ length: Math.min(START_WIDTH, n) }, lane));

  const recs = {
    live: new Recorder(`tutti: controller run --hosts '${hosts}' -- ${seq.join(" ")}`, "ms"),
    json: new Recorder(`controller run --json (the same)`, "ms"),
    gather: new Recorder(`controller run --gather (the same)`, "ms"),
    library: new Recorder(`controller library, every byte counted (peers/drain.ts)`, "ms"),
    ssh: new Recorder(`${n} parallel ssh host ${seq.join(" ")}, piped into sed 's/^/hI: /'`, "ms"),
  };
  const mem = {
    live: new Recorder("controller peak VmHWM, default view", "MiB"),
    json: new Recorder("controller peak VmHWM, --json", "MiB"),
    gather: new Recorder("controller peak VmHWM, --gather", "MiB"),
    library: new Recorder("library process peak VmHWM", "MiB"),
    idle: new Recorder(`controller peak VmHWM, run --hosts '${hosts}' -- true`, "MiB"),
    line: new Recorder(`controller peak VmHWM, one line of ${lineBytes / MiB} MiB`, "MiB"),
  };
  const lineTime = new Recorder(
    `tutti: controller run --hosts fi-1 -- head -c ${lineBytes} /dev/zero`,
    "ms",
  );

  const judge = (r: Counted, rec: Recorder, memRec: Recorder | null, want?: number) => {
    const summary = new RegExp(`${n} hosts: ${n} ok`).test(r.stderr);
    if (r.code !== 0 || !summary) return rec.fail(`exit ${r.code}: ${r.stderr.slice(-500)}`);
    if (want !== undefined && r.bytes !== want) {
      return rec.fail(`${r.bytes} bytes of output, ${want} expected`);
    }
    rec.add(r.ms);
    memRec?.add(r.hwm);
  };

  const steps = [
    async () =>
      judge(
        await counted(ctx, DENO, cli("run", "--hosts", hosts, "--", ...seq), env),
        recs.live,
        mem.live,
        prefixed,
      ),
    async () =>
      judge(
        await counted(ctx, DENO, cli("run", "--hosts", hosts, "--json", "--", ...seq), env),
        recs.json,
        mem.json,
      ),
    async () =>
      judge(
        await counted(ctx, DENO, cli("run", "--hosts", hosts, "--gather", "--", ...seq), env),
        recs.gather,
        mem.gather,
        gathered,
      ),
    async () => {
      const args = ["run", "-A", "--config", CONFIG, DRAIN_TS, ctx.broker.url, hosts, ...seq];
      const r = await counted(ctx, DENO, args, {}, true);
      let result: { ok: boolean; hosts: number; perHost: Record<string, number>; missing: number };
      try {
        result = JSON.parse(r.text);
      } catch {
        return recs.library.fail(`exit ${r.code}: ${r.stderr.slice(-500)}`);
      }
      const wrong = names.filter((h) => result.perHost?.[h] !== each);
      if (!result.ok || result.hosts !== n || wrong.length > 0 || result.missing > 0) {
        return recs.library.fail(`not every byte: ${JSON.stringify(result).slice(0, 500)}`);
      }
      recs.library.add(r.ms);
      mem.library.add(r.hwm);
    },
    async () => {
      const r = await counted(ctx, DENO, cli("run", "--hosts", hosts, "--", "true"), env);
      if (r.code === 0) mem.idle.add(r.hwm);
    },
  ];
  let sshPrefixed = 0;
  if (typeof ctx.sshd !== "string") {
    const ssh = ctx.sshd.args(...seq).map(q).join(" ");
    const script = names.map((_, i) => `ssh ${ssh} | sed 's/^/h${i + 1}: /' &`).join("\n") +
      "\nwait\n";
    sshPrefixed = names.reduce((sum, _, i) => sum + each + lines * `h${i + 1}: `.length, 0);
    steps.push(async () => {
      const r = await counted(ctx, "sh", ["-c", script]);
      if (r.code !== 0) recs.ssh.fail(`exit ${r.code}: ${r.stderr.slice(-500)}`);
      else if (r.bytes !== sshPrefixed) recs.ssh.fail(`${r.bytes} bytes, ${sshPrefixed} expected`);
      else recs.ssh.add(r.ms);
    });
  } else {
    recs.ssh.fail(ctx.sshd);
  }
  const lineStep = async () => {
    const r = await counted(
      ctx,
      DENO,
      cli("run", "--hosts", "fi-1", "--", "head", "-c", String(lineBytes), "/dev/zero"),
      env,
    );
    if (r.code !== 0 || !/1 host: 1 ok/.test(r.stderr)) {
      return lineTime.fail(`exit ${r.code}: ${r.stderr.slice(-500)}`);
    }
    const want = longLineBytes("fi-1", lineBytes);
    if (r.bytes !== want) return lineTime.fail(`${r.bytes} bytes of output, ${want} expected`);
    lineTime.add(r.ms);
    mem.line.add(r.hwm);
  };

  const lineSteps = [lineStep];
  const lineSsh = new Recorder(`ssh host head -c ${lineBytes} /dev/zero`, "ms");
  if (typeof ctx.sshd !== "string") {
    const args = ctx.sshd.args("head", "-c", String(lineBytes), "/dev/zero");
    lineSteps.push(async () => {
      const r = await counted(ctx, "ssh", args);
      if (r.code !== 0) lineSsh.fail(`exit ${r.code}: ${r.stderr.slice(-500)}`);
      else if (r.bytes !== lineBytes) lineSsh.fail(`${r.bytes} bytes, ${lineBytes} expected`);
      else lineSsh.add(r.ms);
    });
  } else {
    lineSsh.fail(ctx.sshd);
  }

  try {
    say(
      `fan-in: ${n} hosts × seq 1 ${lines} (${(each / 1e6).toFixed(1)} MB each), ${rounds} rounds`,
    );
    await interleave(rounds, steps);
    say(`fan-in: one line of ${lineBytes} bytes without a newline, ${rounds} rounds`);
    await interleave(rounds, lineSteps);
  } finally {
    await Promise.all(agents.map((a) => ctx.pool.stopExtra(a)));
  }

  const figure = `fan-in: ${n} hosts × seq 1 ${lines} (${(each / 1e6).toFixed(1)} MB each) at once`;
  const live = recs.live.done();
  const idle = mem.idle.done();
  const note = `time from spawn to exit, output read from a pipe and checked`;
  return [
    row("fanin", figure, live, recs.ssh.done(), ratioAtMost(1), note),
    row("fanin", figure, live, recs.json.done(), ratioAtMost(JSON_RATIO)),
    row("fanin", figure, live, recs.library.done()),
    row("fanin", figure, recs.gather.done(), recs.ssh.done()),
    ...(["live", "json", "gather", "library"] as const).map((k) =>
      row(
        "fanin",
        `${figure}: peak memory, ${MODES[k]}`,
        mem[k].done(),
        idle,
        valueBelow(RSS_TARGET_MIB),
        k === "live" ? `VmHWM, read every ${HWM_POLL_MS} ms` : undefined,
      )
    ),
    row(
      "fanin",
      `one line of ${lineBytes / MiB} MiB without a newline, default view`,
      lineTime.done(),
      lineSsh.done(),
      undefined,
      `printed in pieces of ${PIECE / 1024} KiB`,
    ),
    row(
      "fanin",
      `one line of ${lineBytes / MiB} MiB without a newline: peak memory`,
      mem.line.done(),
      idle,
      valueBelow(RSS_TARGET_MIB),
    ),
  ];
}
