/**
 * Shared by the programs integration tests: an agent started with a
 * programs file, the events it publishes on `P.log.<host>` recorded from
 * before it starts (events already seen count, so a wait that starts late
 * never misses one), its event log file, raw `programs` requests, and the
 * processes on this machine whose command line holds a marker.
 */
import type { Subscription } from "@nats-io/transport-node";
import { decodeMap } from "../../protocol/codec.ts";
import { type Agent, ask, type Decoded, type World } from "./harness.ts";

export type LogEvent = Record<string, unknown> & {
  type: string;
  message: string;
  process?: string;
  from?: string;
  to?: string;
  pid?: number;
};

/** The events of one host's `P.log.<host>`, from the moment `open` resolves. */
export class LogWatch {
  readonly events: LogEvent[] = [];
  readonly headers: Record<string, string>[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly sub: Subscription;

  private constructor(world: World, host: string) {
    this.sub = world.nc.subscribe(world.subjects.log(host), {
      callback: (_err, m) => {
        this.events.push(decodeMap(m.data) as LogEvent);
        const h: Record<string, string> = {};
        if (m.headers) { for (const k of m.headers.keys()) h[k] = m.headers.get(k); }
        this.headers.push(h);
        for (const w of [...this.waiters]) w();
      },
    });
  }

  static async open(world: World, host: string): Promise<LogWatch> {
    const w = new LogWatch(world, host);
    await world.nc.flush();
    return w;
  }

  /** State changes of `process`, as "FROM>TO". */
  transitions(process: string): string[] {
    return this.events.filter((e) => e.type === "state" && e.process === process)
      .map((e) => `${e.from}>${e.to}`);
  }

  /** The first event (seen or to come) after index `from` that satisfies `pred`. */
  waitFor(pred: (e: LogEvent) => boolean, what: string, timeoutMs = 20_000, from = 0) {
    return new Promise<LogEvent>((resolve, reject) => {
      const check = () => {
        const e = this.events.slice(from).find(pred);
        if (e === undefined) return false;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(e);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.events.map((e) => e.message).join("\n  ");
        reject(new Error(`no event ${what} within ${timeoutMs} ms; events:\n  ${seen}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  /** The `n`-th (1-based) time `process` entered `to`. */
  reached(process: string, to: string, n = 1, timeoutMs?: number): Promise<LogEvent> {
    const match = (e: LogEvent) => e.type === "state" && e.process === process && e.to === to;
    return this.waitFor(
      (e) => match(e) && this.events.filter(match).indexOf(e) === n - 1,
      `${process} entering ${to} (${n})`,
      timeoutMs,
    );
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/**
 * Stops the world's agents cleanly first (SIGTERM: each stops its
 * programs), then the world: an agent killed with SIGKILL would leave its
 * programs running after the test.
 */
export async function closeWorld(world: World): Promise<void> {
  await Promise.all(world.agents.map((a) => a.stop()));
  await world.close();
}

/** Writes `yaml` to `<world dir>/<file>` and returns the path. */
export function writeConfig(world: World, yaml: string, file = "programs.yaml"): string {
  const path = `${world.dir}/${file}`;
  Deno.writeTextFileSync(path, yaml);
  return path;
}

/** Starts `name` with `--config` (and its log watched from before it starts). */
export async function supervisingAgent(
  world: World,
  name: string,
  config: string,
  args: string[] = [],
): Promise<{ agent: Agent; log: LogWatch }> {
  const log = await LogWatch.open(world, name);
  const agent = await world.agent(name, { args: ["--config", config, ...args] });
  return { agent, log };
}

/** The agent's event log file (`<state-dir>/events.log` by default), one object per line. */
export function eventLogLines(path: string): Record<string, unknown>[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return [];
  }
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** `programs` straight over NATS (the wire format, no controller). */
export function programs(
  world: World,
  host: string,
  body: Record<string, unknown>,
  timeoutMs = 30_000,
): Promise<Decoded> {
  return ask(world, host, "programs", body, timeoutMs);
}

/** A marker unique to one test, for command lines (`sleep 1000.<marker>`). */
export function marker(): string {
  return String(Math.floor(Math.random() * 1e9)).padStart(9, "0");
}

/** Pids of live (non-zombie) processes whose command line contains `text`. */
export function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (!cmdline.includes(text)) continue;
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2)[0];
      if (state !== "Z" && state !== "X") pids.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return pids.sort((a, b) => a - b);
}
