/**
 * From programs to processes, and what a reload changes. The diff is made
 * per process: a process whose definition is the same in both files keeps
 * running untouched, whatever happened to the others. `numprocs` is not part
 * of a process's definition, so going from 2 to 3 adds `web:2` and leaves
 * `web:0` and `web:1` alone (from 1 to 2 renames `web` to `web:0`: a change).
 */
import { DISCARD, type SupervisorConfig } from "./config.ts";
import type { ProcessSpec } from "./supervised_process.ts";

/** The processes of a configuration, in file order. */
export function expandProcesses(config: SupervisorConfig, stateDir: string): ProcessSpec[] {
  const specs: ProcessSpec[] = [];
  for (const program of config.programs) {
    for (let index = 0; index < program.numprocs; index++) {
      const many = program.numprocs > 1;
      const name = many ? `${program.name}:${index}` : program.name;
      // Program names have no dots, so these names cannot collide.
      const base = `${stateDir}/programs/${program.name}${many ? `.${index}` : ""}`;
      specs.push({
        program,
        name,
        index,
        stdoutPath: outputPath(program.stdout, `${base}.stdout`),
        stderrPath: outputPath(program.stderr, `${base}.stderr`),
      });
    }
  }
  return specs;
}

function outputPath(configured: string | null, fallback: string): string | null {
  if (configured === DISCARD) return null;
  return configured ?? fallback;
}

/** Two processes with the same key have the same definition. */
export function specKey(spec: ProcessSpec): string {
  const { numprocs: _, tty, ...program } = spec.program;
  // tty is in the key only when set: programs defined before it existed keep their keys, so an
  // upgraded agent adopts their runs instead of restarting them.
  return canonical({ ...spec, program: tty ? { ...program, tty } : program });
}

/** JSON with sorted keys, so that reordering `env` in the file is not a change. */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(",")}]`;
  if (x !== null && typeof x === "object") {
    const entries = Object.entries(x as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(x);
}

export interface ProcessDiff {
  added: ProcessSpec[];
  /** New definitions of processes that exist under the same name. */
  changed: ProcessSpec[];
  removed: string[];
  unchanged: string[];
}

export function diffProcesses(
  current: ReadonlyMap<string, ProcessSpec>,
  next: ProcessSpec[],
): ProcessDiff {
  const diff: ProcessDiff = { added: [], changed: [], removed: [], unchanged: [] };
  const names = new Set<string>();
  for (const spec of next) {
    names.add(spec.name);
    const old = current.get(spec.name);
    if (old === undefined) diff.added.push(spec);
    else if (specKey(old) !== specKey(spec)) diff.changed.push(spec);
    else diff.unchanged.push(spec.name);
  }
  for (const name of current.keys()) if (!names.has(name)) diff.removed.push(name);
  return diff;
}
