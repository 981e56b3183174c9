/**
 * Files that appear only complete: bytes go to a hidden partial file beside
 * the destination, named for the content (`.<name>.<sha12>.tutti-part`), so
 * an interrupted transfer of the same content finds and continues it; once
 * the digest is verified, the file is synced, given its mode and renamed
 * over the destination, and the directory synced. A reader of the
 * destination sees the old file or the new one, never a part. Both ends of
 * a transfer place what they receive with these (an agent for `put`, the
 * controller for `get`).
 */
import { TuttiError } from "../errors.ts";
import { fsError } from "./fs_error.ts";
import { hashFile, type Sha256, sha256, sha256File } from "./sha256.ts";

/** The partial file of `dest` for content `sha256`. */
export function partPath(dest: string, sha256: string): string {
  const slash = dest.lastIndexOf("/");
  return `${dest.slice(0, slash + 1)}.${dest.slice(slash + 1)}.${sha256.slice(0, 12)}.tutti-part`;
}

/** Bytes already in the partial file (0 when there is none). */
export async function partSize(part: string): Promise<number> {
  try {
    const st = await Deno.lstat(part);
    return st.isFile ? st.size : 0;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
}

/** `dir` and its missing parents; a failure names it. */
export async function makeDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, "making the directory", dir);
  }
}

/** What a path holds now, or null when nothing is there; other failures name the path. */
export async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw fsError(e, "reading", path);
  }
}

/**
 * Whether `dest` already holds this content (same size, then same digest):
 * then only its mode is set, if it differs. A directory in the way is EISDIR.
 */
export async function sameContent(
  dest: string,
  want: { size: number; sha256: string; mode: number },
): Promise<boolean> {
  const st = await lstatOrNull(dest);
  if (st?.isDirectory) {
    throw new TuttiError("EISDIR", `${dest}: a directory is in the way of a file`);
  }
  if (!st?.isFile || st.size !== want.size) return false;
  if (await sha256File(dest).catch(() => "") !== want.sha256) return false;
  if (((st.mode ?? 0) & 0o7777) !== want.mode) await Deno.chmod(dest, want.mode);
  return true;
}

/** A partial file open for more bytes, with the digest of those it already holds. */
export interface OpenPart {
  part: string;
  file: Deno.FsFile;
  hash: Sha256;
  /** Bytes kept from an earlier try: where the next byte goes. */
  offset: number;
}

/**
 * Opens the partial file of `dest` for content `sha256` (of `size` bytes),
 * keeping what an earlier try left, cut to a whole number of `unit`s (a
 * part longer than the content is another content's: nothing is kept), and
 * hashes what it keeps.
 */
export async function openPart(
  dest: string,
  sha: string,
  size: number,
  unit = 1,
): Promise<OpenPart> {
  const part = partPath(dest, sha);
  const hash = sha256();
  try {
    const had = await partSize(part);
    const offset = had > size ? 0 : Math.floor(had / unit) * unit;
    const file = await Deno.open(part, { read: true, write: true, create: true, mode: 0o600 });
    await file.truncate(offset);
    await hashFile(file, hash, offset);
    await file.seek(offset, Deno.SeekMode.Start);
    return { part, file, hash, offset };
  } catch (e) {
    throw fsError(e, "writing", part);
  }
}

/** Writes all of `data` (a write may take less). */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

/**
 * A symbolic link `at` → `target`, made beside it and renamed over it (a
 * reader sees the old entry or the new link); left alone when it is
 * already that link. A directory in the way is EISDIR.
 */
export async function placeLink(target: string, at: string): Promise<void> {
  const st = await lstatOrNull(at);
  if (st?.isSymlink && await Deno.readLink(at) === target) return;
  if (st?.isDirectory) {
    throw new TuttiError("EISDIR", `${at}: a directory is in the way of a link`);
  }
  const tmp = partPath(at, "link".padEnd(12, "-"));
  try {
    await Deno.remove(tmp).catch(() => {});
    await Deno.symlink(target, tmp);
    await Deno.rename(tmp, at);
  } catch (e) {
    throw fsError(e, "making the link", at);
  }
}

/**
 * Checks the digest, then syncs `part`, sets `mode` and renames it to
 * `dest`. A mismatch removes the part (its bytes are wrong, starting again
 * is the only way) and throws EINTEGRITY with both digests.
 */
export async function commitPart(
  file: Deno.FsFile,
  part: string,
  dest: string,
  mode: number,
  want: string,
  got: string,
): Promise<void> {
  if (got !== want) {
    file.close();
    await Deno.remove(part).catch(() => {});
    throw new TuttiError(
      "EINTEGRITY",
      `${dest}: checksum mismatch: expected sha256 ${want}, got ${got}`,
    );
  }
  await file.sync();
  file.close();
  await Deno.chmod(part, mode);
  await Deno.rename(part, dest);
  await syncDir(dest.slice(0, dest.lastIndexOf("/")) || "/");
}

async function syncDir(dir: string): Promise<void> {
  try {
    using d = await Deno.open(dir);
    await d.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is done either way.
  }
}
