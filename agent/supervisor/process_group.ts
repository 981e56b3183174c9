/**
 * Process groups seen through /proc: whether a group still has a live
 * member, a process's start time (to tell it from a later process that got
 * the same pid), and stopping a whole group: the stop signal, then SIGKILL
 * once `stoptime` has passed.
 *
 * Every supervised process leads its own session and group (pid = pgid), so
 * a signal to the group reaches its children and grandchildren too, which
 * supervisord only does with `stopasgroup`/`killasgroup` (its issues 1101
 * and 1396). A descendant that makes its own session escapes, as anywhere.
 */
import type { SignalName } from "../../protocol/signals.ts";
import { signalGroup } from "../spawn.ts";

/** How often a group that outlived its leader is looked at again. */
const POLL_MS = 50;
/** After SIGKILL, how long to wait for the kernel to take the group away. */
const KILL_WAIT_MS = 2000;

interface ProcStat {
  state: string;
  pgrp: number;
  /** Clock ticks since boot (field 22). */
  startTicks: number;
}

function readStat(pid: number | string): ProcStat | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) may hold blanks and parentheses: fields are counted after the last ")".
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: f[0], pgrp: Number(f[2]), startTicks: Number(f[19]) };
}

/** When `pid` started (clock ticks since boot), or null when there is no such live process. */
export function startTicks(pid: number): number | null {
  const s = readStat(pid);
  return s === null || s.state === "Z" ? null : s.startTicks;
}

/** Whether process group `pgid` has a member that is not a zombie. */
export function groupAlive(pgid: number): boolean {
  const leader = readStat(pgid);
  if (leader !== null && leader.pgrp === pgid && leader.state !== "Z") return true;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const s = readStat(e.name);
    if (s !== null && s.pgrp === pgid && s.state !== "Z") return true;
  }
  return false;
}

/** Resolves once `pgid` has no live member, or with false when `deadline` (performance.now()) passes. */
export async function waitGroupGone(pgid: number, deadline: number): Promise<boolean> {
  for (;;) {
    if (!groupAlive(pgid)) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
  }
}

/**
 * Stops a group the agent is not the parent of (left by an earlier agent):
 * `signal`, then SIGKILL after `stoptimeMs`. Answers how it ended.
 */
export async function stopGroup(
  pgid: number,
  signal: SignalName,
  stoptimeMs: number,
): Promise<"gone" | "stopped" | "killed" | "stuck"> {
  if (!groupAlive(pgid)) return "gone";
  signalGroup(pgid, signal);
  if (await waitGroupGone(pgid, performance.now() + stoptimeMs)) return "stopped";
  signalGroup(pgid, "SIGKILL");
  return await waitGroupGone(pgid, performance.now() + KILL_WAIT_MS) ? "killed" : "stuck";
}
