/**
 * One file brought from a host, with `read` requests of at most one
 * max_payload each, a window of them in flight, written in order into the
 * partial file beside the destination (part_file.ts): an interrupted pull
 * (this controller killed, the agent restarted) continues from the bytes
 * already there; the SHA-256 the host announced is checked before the
 * rename. A host that does not answer (restarting) is asked again, a
 * second apart, for up to a minute.
 */
import { fsError } from "../../protocol/files/fs_error.ts";
import { commitPart, openPart, sameContent, writeAll } from "../../protocol/files/part_file.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { parseReadReply, type ReadReply } from "../../protocol/transfer_messages.ts";
import type { Link } from "../connection.ts";

const WINDOW = 4;
const ATTEMPTS = 60;
const RETRY_MS = 1000;
const REQUEST_TIMEOUT_MS = 15_000;

export interface PullCounts {
  /** Bytes read from the host. */
  bytes: number;
  /** Bytes found in a partial file. */
  resumed: number;
  /** True when the destination already had the content. */
  skipped: boolean;
}

export async function pullFile(
  link: Link,
  host: string,
  remote: string,
  local: string,
  want: { size: number; sha256: string; mode: number },
  progress: (bytes: number) => void,
): Promise<PullCounts> {
  const counts: PullCounts = { bytes: 0, resumed: 0, skipped: false };
  if (await sameContent(local, want)) {
    counts.skipped = true;
    progress(want.size);
    return counts;
  }
  // The bytes of an earlier try are kept: reading goes on from the next one.
  const opened = await openPart(local, want.sha256, want.size);
  const { part, file, hash } = opened;
  let offset = opened.offset;
  counts.resumed = offset;
  progress(offset);
  const limit = Math.max(4096, (link.nc.info?.max_payload ?? 1 << 20) - 8192);
  const inFlight: Promise<ReadReply>[] = [];
  let next = offset;
  try {
    while (offset < want.size) {
      while (inFlight.length < WINDOW && next < want.size) {
        inFlight.push(readRange(link, host, remote, next, Math.min(limit, want.size - next)));
        next += limit;
      }
      const r = await inFlight.shift()!;
      if (r.size !== want.size || r.data.length === 0) {
        throw new TuttiError(
          "EINTEGRITY",
          `${host}:${remote} changed while read: ${r.size} bytes now, ${want.size} announced`,
        );
      }
      await writeAll(file, r.data);
      hash.update(r.data);
      offset += r.data.length;
      counts.bytes += r.data.length;
      progress(r.data.length);
      if (r.data.length < limit && offset < want.size && inFlight.length > 0) {
        // A short read before the end: the ranges after it are misaligned; ask them again.
        inFlight.splice(0).forEach((p) => p.catch(() => {}));
        next = offset;
      }
    }
  } catch (e) {
    inFlight.forEach((p) => p.catch(() => {}));
    file.close();
    throw e instanceof TuttiError ? e : fsError(e, "writing", local);
  }
  try {
    await commitPart(file, part, local, want.mode, want.sha256, hash.digest("hex"));
  } catch (e) {
    throw fsError(e, "writing", local);
  }
  return counts;
}

async function readRange(
  link: Link,
  host: string,
  path: string,
  offset: number,
  limit: number,
): Promise<ReadReply> {
  for (let attempt = 1;; attempt++) {
    try {
      const r = await link.request(
        host,
        "read",
        { path, offset, limit },
        parseReadReply,
        REQUEST_TIMEOUT_MS,
      );
      if (r.ok) return r;
      throw new TuttiError(r.error.code, r.error.message);
    } catch (e) {
      if (!(e instanceof TuttiError) || e.code !== "ENORESPONSE" || attempt >= ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
