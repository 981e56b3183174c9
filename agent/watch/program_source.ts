/**
 * What watches on supervised programs need from the agent's supervisor
 * (agent/programs.ts satisfies it): the processes with their states, every
 * state change, every chunk of output and the last bytes of each stream.
 * Nothing is polled: the watches hear the supervisor's own events.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { StreamName } from "../../protocol/messages.ts";
import type { ProgramStateEvent, ProgramStatus } from "../../protocol/program_messages.ts";

export interface ProgramSource {
  /** Every supervised process, in configuration order. */
  processes(): ProgramStatus[];
  /** `cb` hears every later state change of every process; returns its removal. */
  onState(cb: (e: ProgramStateEvent) => void): () => void;
  /**
   * `cb` gets every later chunk of every process's output, with its offset
   * in the process's stream (offsets go on across restarts); returns its removal.
   */
  onOutput(
    cb: (process: string, stream: StreamName, offset: number, data: Uint8Array) => void,
  ): () => void;
  /** The last bytes the agent keeps of a process's stream (up to 64 KiB) and their offset. */
  tail(process: string, stream: StreamName): { data: Uint8Array; offset: number };
}

/**
 * The processes a target names: `web:0` that process; `web` the process of
 * that name (a program with one process) or else every process of program
 * `web`; `web:*` every process of `web`. ESRCH, naming what exists, when it
 * names none.
 */
export function resolveTarget(rows: ProgramStatus[], target: string): string[] {
  const exact = rows.find((r) => r.name === target);
  if (exact) return [exact.name];
  const group = target.endsWith(":*") ? target.slice(0, -2) : target;
  const of = rows.filter((r) => r.program === group);
  if (of.length > 0 && !/:\d+$/.test(target)) return of.map((r) => r.name);
  const base = target.replace(/:(\*|\d+)$/, "");
  const same = rows.filter((r) => r.program === base).map((r) => r.name);
  if (same.length > 0) {
    throw new TuttiError(
      "ESRCH",
      `no process ${target} on this host: program ${base} has ${same.join(", ")}`,
    );
  }
  const programs = [...new Set(rows.map((r) => r.program))];
  const known = programs.length === 0
    ? "no supervised programs"
    : `programs: ${programs.slice(0, MAX_NAMED).join(", ")}${
      programs.length > MAX_NAMED ? `, and ${programs.length - MAX_NAMED} more` : ""
    }`;
  throw new TuttiError(
    "ESRCH",
    base === target
      ? `no process ${target} on this host, and no program of that name (${known})`
      : `no program ${base} on this host (${known})`,
  );
}

/** Programs named in an ESRCH message, at most. */
const MAX_NAMED = 10;
