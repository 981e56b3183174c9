/**
 * Files that appear only complete: bytes go to a hidden partial file beside
 * the destination, named for the content (`.<name>.<sha12>.tutti-part`), so
 * an interrupted transfer of the same content finds and continues it; once
 * the digest is verified, the file is synced, given its mode and renamed
 * over the destination, and the directory synced. A reader of the
 * destination sees the old file or the new one, never a part.
 */
import { TuttiError } from "../errors.ts";

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
