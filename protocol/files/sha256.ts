/**
 * SHA-256 of files, streamed: node:crypto's native digest (several hundred
 * MB/s), fed by reads of 1 MiB into one buffer, so a file of any size costs
 * one buffer. Both ends of a transfer use it: the sender to name the
 * content, the receiver to verify what it wrote.
 */
import { createHash, type Hash } from "node:crypto";

const READ_SIZE = 1 << 20;

export type Sha256 = Hash;

export function sha256(): Sha256 {
  return createHash("sha256");
}

/** Feeds the first `upTo` bytes of an open file (all of it by default) from its start. */
export async function hashFile(file: Deno.FsFile, hash: Sha256, upTo = Infinity): Promise<number> {
  await file.seek(0, Deno.SeekMode.Start);
  const buf = new Uint8Array(READ_SIZE);
  let total = 0;
  while (total < upTo) {
    const want = Math.min(READ_SIZE, upTo - total);
    const n = await file.read(want === READ_SIZE ? buf : buf.subarray(0, want));
    if (n === null) break;
    hash.update(buf.subarray(0, n));
    total += n;
  }
  return total;
}

/** The hex SHA-256 of the file at `path`. */
export async function sha256File(path: string): Promise<string> {
  using file = await Deno.open(path);
  const hash = sha256();
  await hashFile(file, hash);
  return hash.digest("hex");
}
