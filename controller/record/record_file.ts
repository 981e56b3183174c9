/**
 * Records on disk: one JSON file per operation, named so that a directory
 * lists them in the order they ran (`20261205T093716Z-r1abc.json`), written
 * whole or not at all (a temporary file renamed into place). Reading checks
 * the shape field by field, and an error names the file and the field.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { AnyRecord, RecordHeader } from "./record_types.ts";
import { checkRecord } from "./record_check.ts";

/** The file name of a record: its start (UTC, to the second) and its id. */
export function recordFileName(record: Pick<AnyRecord, "id" | "started">): string {
  const t = record.started.replace(/[-:]/g, "").replace(/\.\d+/, "");
  return `${t}-${record.id}.json`;
}

/**
 * Creates `dir` if needed, before anything runs: a record that cannot be
 * written must stop the run from starting, not be lost at its end.
 */
export async function openRecordDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const st = await Deno.stat(dir);
    if (!st.isDirectory) throw new Deno.errors.NotADirectory();
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new TuttiError("ENOTDIR", `--record ${dir}: is not a directory`);
    }
    throw fileError("--record", dir, e);
  }
}

/** Writes `record` (of any kind: a header and its body) into `dir`; resolves with the file's path. */
export async function writeRecord(dir: string, record: RecordHeader): Promise<string> {
  const path = `${dir.replace(/\/+$/, "") || "/"}/${recordFileName(record)}`;
  const tmp = `${path}.tmp-${Deno.pid}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(tmp, JSON.stringify(record, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw fileError("--record", dir, e);
  }
  return path;
}

/** Reads and checks a record file: ENOENT, EACCES, EISDIR or EINVAL naming the path and field. */
export async function readRecord(path: string): Promise<AnyRecord> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw fileError("record", path, e);
  }
  return parseRecord(text, path);
}

/** A record from its JSON text; `source` names it in errors. */
export function parseRecord(text: string, source: string): AnyRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new TuttiError("EINVAL", `record ${source}: not JSON: ${(e as Error).message}`);
  }
  return checkRecord(data, source);
}

function fileError(what: string, path: string, e: unknown): TuttiError {
  if (e instanceof Deno.errors.NotFound) {
    return new TuttiError("ENOENT", `${what} ${path}: no such file or directory`);
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new TuttiError("EACCES", `${what} ${path}: permission denied`);
  }
  if (e instanceof Deno.errors.IsADirectory) {
    return new TuttiError("EISDIR", `${what} ${path}: is a directory`);
  }
  if (e instanceof Deno.errors.NotADirectory) {
    return new TuttiError("ENOTDIR", `${what} ${path}: a component of the path is not a directory`);
  }
  return new TuttiError("EIO", `${what} ${path}: ${(e as Error).message}`);
}
