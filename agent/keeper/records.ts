/**
 * The process table on disk: `<state-dir>/procs/<id>.json`, one record per
 * process, written when it starts and again when it ends. A record is
 * written to `<id>.json.tmp` and renamed over the old one, so a crash at any
 * instant leaves either the old record or the new one, never half of either.
 * (No fsync: this guards against the death of a process, not of the
 * machine, and a machine that goes down takes its processes with it.)
 *
 * Anything else found there is refused by name rather than removed: a state
 * directory pointed at the wrong place must not cost anyone their files.
 */
import { isExitSignal } from "../../protocol/signals.ts";
import { isToken } from "../../protocol/subjects.ts";
import type { KeptInfo } from "./messages.ts";

const FORMAT = "tutti-process";
const VERSION = 1;

export class StateFileError extends Error {}

export class ProcessRecords {
  constructor(readonly dir: string) {}

  /** Every record; throws a `StateFileError` naming the first file that is not one. */
  load(): KeptInfo[] {
    Deno.mkdirSync(this.dir, { recursive: true });
    const out: KeptInfo[] = [];
    for (const e of Deno.readDirSync(this.dir)) {
      const path = `${this.dir}/${e.name}`;
      if (e.isFile && e.name.endsWith(".json.tmp")) {
        // A write cut short: the record it was replacing is still there (or it never existed).
        Deno.removeSync(path);
        continue;
      }
      const id = e.isFile && e.name.endsWith(".json") ? e.name.slice(0, -5) : null;
      if (id === null || !isToken(id)) {
        throw new StateFileError(`${path}: not a tutti process record (unexpected name)`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(Deno.readTextFileSync(path));
      } catch (err) {
        throw new StateFileError(`${path}: not a tutti process record: ${(err as Error).message}`);
      }
      const problem = recordProblem(parsed, id);
      if (problem) throw new StateFileError(`${path}: not a tutti process record: ${problem}`);
      const { format: _f, version: _v, ...info } = parsed as KeptInfo & Record<string, unknown>;
      out.push(info as KeptInfo);
    }
    return out.sort((a, b) => (a.ended ?? Infinity) - (b.ended ?? Infinity));
  }

  write(info: KeptInfo): void {
    const path = `${this.dir}/${info.id}.json`;
    Deno.writeTextFileSync(
      `${path}.tmp`,
      JSON.stringify({ format: FORMAT, version: VERSION, ...info }),
    );
    Deno.renameSync(`${path}.tmp`, path);
  }

  remove(id: string): void {
    try {
      Deno.removeSync(`${this.dir}/${id}.json`);
    } catch {
      // already gone
    }
  }
}

/** What is wrong with `x` as the record of process `id`, or null. */
function recordProblem(x: unknown, id: string): string | null {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return "not a JSON object";
  const r = x as Record<string, unknown>;
  if (r.format !== FORMAT) return `format is ${JSON.stringify(r.format)}, expected "${FORMAT}"`;
  if (r.version !== VERSION) return `version ${JSON.stringify(r.version)} is not ${VERSION}`;
  if (r.id !== id) return `id ${JSON.stringify(r.id)} does not match the file name`;
  const ints = ["pid", "started", "stdout", "stderr", "seq"] as const;
  for (const k of ints) if (!Number.isSafeInteger(r[k])) return `${k} is not an integer`;
  for (const k of ["ended", "code", "startTicks", "timeoutAt", "graceMs"] as const) {
    if (r[k] !== null && !Number.isSafeInteger(r[k])) return `${k} is not an integer or null`;
  }
  if (r.signal !== null && !isExitSignal(r.signal)) return "signal is not a signal name or null";
  if (typeof r.key !== "string" || typeof r.cwd !== "string") return "key or cwd is not a string";
  if (!Array.isArray(r.argv) || !r.argv.every((a) => typeof a === "string")) {
    return "argv is not a list of strings";
  }
  for (const k of ["reported", "live", "timedOut"] as const) {
    if (typeof r[k] !== "boolean") return `${k} is not a boolean`;
  }
  if (r.sent !== undefined) {
    const sent = r.sent as Record<string, unknown> | null;
    if (
      typeof sent !== "object" || sent === null || !Number.isSafeInteger(sent.stdout) ||
      !Number.isSafeInteger(sent.stderr)
    ) return "sent is not {stdout, stderr} integers";
  }
  return null;
}
