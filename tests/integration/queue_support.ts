/** What the queue tests share: the tasks as `queue results --json` lists them, and slot counting. */
import assert from "node:assert/strict";
import type { World } from "./harness.ts";

/** A task as `queue results --json` prints it, once it has run. */
export interface Task {
  id: string;
  args: string[];
  state: string;
  host: string;
  proc: string;
  attempt: number;
  code: number | null;
  signal: string | null;
  started: number;
  ended: number;
}

/** Every task of queue `name` (`T`: a shape of the caller's, for tasks that may not have run). */
export async function results<T = Task>(world: World, name: string): Promise<T[]> {
  const r = await world.controller(["queue", "results", name, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** The most tasks running at once on each host, from their start and end times. */
export function maxConcurrency(tasks: Task[]): Map<string, number> {
  const byHost = new Map<string, [number, number][]>();
  for (const t of tasks) {
    const ev = byHost.get(t.host) ?? [];
    // An end sorts before a start at the same millisecond: the slot was freed first.
    ev.push([t.started, 1], [t.ended, -1]);
    byHost.set(t.host, ev);
  }
  const out = new Map<string, number>();
  for (const [host, ev] of byHost) {
    ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let n = 0;
    let max = 0;
    for (const [, d] of ev) max = Math.max(max, n += d);
    out.set(host, max);
  }
  return out;
}
