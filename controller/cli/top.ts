/**
 * `controller top [--hosts SEL] [--sort cpu|mem|host|load] [--once] [--interval D]`:
 * a live table of the selected hosts from their agents' telemetry, redrawn
 * in place on a terminal (keys `c` `m` `h` `l` sort, `q` quits), a new table
 * every interval when the output is not a terminal, or with `--once` one
 * table as soon as every host has sent a complete sample. Hosts that stopped
 * answering are marked; hosts that send no telemetry are named with what to
 * do about it.
 */
import { ClusterState, type TelemetryHandle } from "../mod.ts";
import type { Out } from "../render/out.ts";
import { TOP_SORTS, topLines, topNotes, type TopSort } from "../render/top.ts";
import { flag, str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { seconds } from "./run.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

/** `--once` waits at most this long past the first ping for complete samples. */
const ONCE_MAX_WAIT_MS = 30_000;
const KEYS: Record<string, TopSort> = { c: "cpu", m: "mem", h: "host", l: "load" };

export const topVerb: Verb = {
  name: "top",
  summary: "live table of the hosts: CPU, load, memory, network, processes",
  options: {
    ...SELECTION_OPTIONS,
    sort: { type: "string" },
    once: { type: "boolean" },
    interval: { type: "string" },
  },
  usage: `usage: controller top [--hosts SEL] [--sort cpu|mem|host|load] [--once] [--interval D]
Shows the selected hosts (default: every host) from their agents' telemetry: state, CPU use,
load, memory, network rates and managed processes, refreshed in place. Keys: c, m, h, l sort
by CPU, memory, host, load; q quits. Agents publish telemetry only when started with
--telemetry (e.g. --telemetry 1s).

${SELECTION_USAGE}
  --sort S             cpu (default), mem, host or load
  --once               print one table once every host has sent a full sample, and exit
  --interval D         redraw at most this often (default 1s)`,

  async main(p, ctx) {
    const spec = selection(p.values, false);
    const sortText = str(p.values, "sort") ?? "cpu";
    if (!TOP_SORTS.includes(sortText as TopSort)) {
      throw new UsageError(`--sort ${JSON.stringify(sortText)}: cpu, mem, host or load`);
    }
    const interval = str(p.values, "interval");
    const intervalMs = interval === undefined ? 1000 : seconds("--interval", interval) * 1000;
    if (intervalMs < 100) throw new UsageError("--interval: at least 100ms");
    const c = await ctx.connect();
    const tel = c.telemetry(spec);
    const state = new ClusterState();
    try {
      if (flag(p.values, "once")) return await once(tel, state, sortText as TopSort, ctx.out);
      return await live(tel, state, sortText as TopSort, intervalMs, ctx.out);
    } finally {
      await tel.close();
    }
  },
};

/** Whether every host up has sent a sample with CPU figures (or says its telemetry is off). */
function complete(state: ClusterState): boolean {
  if (!state.ready) return false;
  // A host publishes each tick's process sample just before its machine sample: once a
  // machine sample with CPU figures is in, so are its processes, with theirs (the first
  // sample of a process has none: wait for the next).
  return state.hostList().every((h) =>
    h.state !== "up" || h.info.telemetry === 0 ||
    ((h.machine?.cpu.total ?? null) !== null &&
      (((h.info.running ?? 0) === 0 && h.procs.length === 0) ||
        h.procs.some((p) => p.cpu !== null)))
  );
}

/** How long past the first ping `--once` waits: two telemetry periods of the slowest host, and a second. */
function onceWait(state: ClusterState): number {
  const periods = state.hostList().map((h) => h.info.telemetry ?? 0);
  return Math.min(ONCE_MAX_WAIT_MS, 2 * Math.max(0, ...periods) + 1000);
}

async function once(
  tel: TelemetryHandle,
  state: ClusterState,
  sort: TopSort,
  out: Out,
): Promise<number> {
  const { promise: settled, resolve } = Promise.withResolvers<void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const feed = (async () => {
    for await (const e of tel) {
      state.apply(e);
      if (e.type === "ready") timer = setTimeout(resolve, onceWait(state));
      if (complete(state)) resolve();
    }
  })();
  await Promise.race([settled, feed]);
  clearTimeout(timer);
  const now = Date.now();
  const o = { sort, now, telemetryGraceMs: 0, notes: false };
  out.stdout(topLines(state, o).join("\n") + "\n");
  const notes = topNotes(state, o);
  if (notes.length > 0) out.stderr(notes.join("\n") + "\n");
  const withData = state.hostList().filter((h) => h.machine !== undefined).length;
  if (state.hosts.size === 0) out.stderr("no agent answered\n");
  return withData > 0 ? 0 : 1;
}

async function live(
  tel: TelemetryHandle,
  state: ClusterState,
  initial: TopSort,
  intervalMs: number,
  out: Out,
): Promise<number> {
  const tty = Deno.stdout.isTerminal();
  const keys = tty && Deno.stdin.isTerminal();
  let sort = initial;
  const { promise: quit, resolve: stop } = Promise.withResolvers<void>();
  let last = 0;
  let pending: ReturnType<typeof setTimeout> | undefined;

  const draw = () => {
    clearTimeout(pending);
    pending = undefined;
    last = Date.now();
    if (!tty) {
      if (!state.ready) return;
      out.stdout(topLines(state, { sort, now: last }).join("\n") + "\n\n");
      return;
    }
    const size = consoleSize();
    const lines = topLines(state, {
      sort,
      now: last,
      keys,
      width: size.columns,
      height: size.rows,
    });
    // Home, each line over the old one, then clear what the old screen had below.
    out.stdout("\x1b[H" + lines.map((l) => l + "\x1b[K").join("\r\n") + "\x1b[J");
  };
  /** Redraw soon, at most once per interval. */
  const schedule = () => {
    if (pending !== undefined) return;
    pending = setTimeout(draw, Math.max(0, last + intervalMs - Date.now()));
  };

  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => stop();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const every = setInterval(schedule, intervalMs);
  if (tty) out.stdout("\x1b[?25l\x1b[2J");
  if (keys) {
    readKeys(stop, (s) => {
      sort = s;
      draw();
    });
  }
  const feed = (async () => {
    for await (const e of tel) {
      state.apply(e);
      if (tty || e.type === "ready") schedule();
    }
  })();
  try {
    await Promise.race([quit, feed]);
  } finally {
    clearInterval(every);
    clearTimeout(pending);
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    if (keys) Deno.stdin.setRaw(false);
    if (tty) out.stdout("\x1b[?25h\r\n");
  }
  return 0;
}

function consoleSize(): { columns: number; rows: number } {
  try {
    return Deno.consoleSize();
  } catch {
    return { columns: 80, rows: 24 };
  }
}

/** Keys from a terminal in cbreak mode (Ctrl-C still signals): sort keys and `q`. */
function readKeys(quit: () => void, sortBy: (s: TopSort) => void): void {
  Deno.stdin.setRaw(true, { cbreak: true });
  (async () => {
    const buf = new Uint8Array(16);
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return quit();
      for (const b of buf.subarray(0, n)) {
        const k = String.fromCharCode(b).toLowerCase();
        if (k === "q") return quit();
        if (KEYS[k]) sortBy(KEYS[k]);
      }
    }
  })().catch(() => quit());
}
