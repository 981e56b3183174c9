/**
 * Shared by the supervisor tests: a temp dir, a supervisor that records its
 * events from the first one, and waiting for an event with a deadline
 * (events already seen count, so a wait that starts late never misses one).
 */
import type { StateEvent, SupervisorEvent } from "../../agent/supervisor/events.ts";
import type { ProcessState } from "../../agent/supervisor/states.ts";
import { Supervisor, type SupervisorOptions } from "../../agent/supervisor/supervisor.ts";

export class Recorder {
  readonly events: SupervisorEvent[] = [];
  private readonly waiters = new Set<() => void>();

  readonly listen = (e: SupervisorEvent): void => {
    this.events.push(e);
    for (const w of [...this.waiters]) w();
  };

  /** State changes of `process`, as "FROM>TO". */
  transitions(process: string): string[] {
    return this.states(process).map((e) => `${e.from}>${e.to}`);
  }

  states(process?: string): StateEvent[] {
    return this.events.filter((e): e is StateEvent =>
      e.type === "state" && (process === undefined || e.process === process)
    );
  }

  /** The first event (seen already or to come) after index `from` that satisfies `pred`. */
  waitFor<T extends SupervisorEvent>(
    pred: (e: SupervisorEvent) => e is T,
    timeoutMs?: number,
    from?: number,
  ): Promise<T>;
  waitFor(
    pred: (e: SupervisorEvent) => boolean,
    timeoutMs?: number,
    from?: number,
  ): Promise<SupervisorEvent>;
  waitFor(
    pred: (e: SupervisorEvent) => boolean,
    timeoutMs = 10_000,
    from = 0,
  ): Promise<SupervisorEvent> {
    return new Promise((resolve, reject) => {
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
        reject(new Error(`no such event within ${timeoutMs} ms; events:\n  ${seen}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  /** The `n`-th (1-based) time `process` entered `to`. */
  reached(process: string, to: ProcessState, n = 1, timeoutMs?: number): Promise<StateEvent> {
    const match = (e: SupervisorEvent): e is StateEvent =>
      e.type === "state" && e.process === process && e.to === to;
    return this.waitFor(
      (e): e is StateEvent => match(e) && this.events.filter(match).indexOf(e) === n - 1,
      timeoutMs,
    );
  }
}

export interface TestWorld {
  dir: string;
  sup: Supervisor;
  rec: Recorder;
  /** Writes programs.yaml in `dir` and returns its path. */
  config(yaml: string): string;
  eventLogLines(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** A supervisor on a fresh temp dir, with an event log and a recorder. */
export async function world(opts: Partial<SupervisorOptions> = {}): Promise<TestWorld> {
  const dir = await Deno.makeTempDir({ prefix: "tutti-sup-" });
  const rec = new Recorder();
  const eventLog = `${dir}/events.log`;
  const sup = await Supervisor.open({
    stateDir: `${dir}/state`,
    eventLog,
    onEvent: rec.listen,
    backoffStepMs: 100,
    ...opts,
  });
  return {
    dir,
    sup,
    rec,
    config(yaml: string) {
      const path = `${dir}/programs.yaml`;
      Deno.writeTextFileSync(path, yaml);
      return path;
    },
    eventLogLines() {
      let text = "";
      try {
        text = Deno.readTextFileSync(eventLog);
      } catch {
        return [];
      }
      return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    },
    async close() {
      await sup.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Whether `pid` is a live (non-zombie) process. */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
