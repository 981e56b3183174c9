/**
 * The transfer verbs (protocol/PROTOCOL.md, "Transfers"):
 *
 * - `put`: acknowledged at once, answered when every file is in place;
 *   progress on `P.reply.<id>.progress.<host>` twice a second at most. A
 *   `put` whose id is already running here (the controller re-sent it after
 *   a reconnect, or after this agent restarted) joins it; one finished in
 *   the last ten minutes is answered again.
 * - `get`: acknowledged, then answered with the manifest of each path
 *   (digests take a read of every file).
 * - `read`: a range of a file, at most what fits in one reply.
 */
import { TuttiError } from "../../protocol/errors.ts";
import { fsError } from "../../protocol/files/fs_error.ts";
import { walkTree } from "../../protocol/files/file_tree.ts";
import {
  type GetReply,
  parseGetRequest,
  parsePutRequest,
  parseReadRequest,
  type PutReply,
  type ReadReply,
} from "../../protocol/transfer_messages.ts";
import type { Handler } from "../handlers.ts";
import { readAt } from "../spool.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import type { ChunkSource } from "./chunk_fetcher.ts";
import type { TransferLink } from "./transfer_link.ts";
import { localPath } from "./local_path.ts";
import { PutJob } from "./put_job.ts";

/** How long a finished put's answer is kept for a repeated request. */
const KEEP_MS = 10 * 60_000;
const PROGRESS_MS = 500;
/** Room for headers and the rest of a `read` reply around its data. */
const READ_OVERHEAD = 4096;

export function transferHandlers(
  host: string,
  subjects: Subjects,
  link: TransferLink,
  maxPayload: () => number,
): Map<string, Handler> {
  const puts = new Map<string, { job: PutJob; result: Promise<PutReply> }>();

  return new Map<string, Handler>([
    ["put", async (m, ctx) => {
      const req = parsePutRequest(m);
      let running = puts.get(req.id);
      if (!running) {
        const job = new PutJob(req, host, () => chunkSource(link, host, subjects, req.stream));
        const result = job.run();
        running = { job, result };
        puts.set(req.id, running);
        const forget = () => setTimeout(() => puts.delete(req.id), KEEP_MS);
        result.then(forget, forget);
      }
      const { job, result } = running;
      ctx.accept({ accepted: true, id: req.id });
      const tick = setInterval(
        () => ctx.progress({ id: req.id, done: job.done, total: job.total }),
        PROGRESS_MS,
      );
      try {
        return { body: await result };
      } finally {
        clearInterval(tick);
      }
    }],

    ["get", async (m, ctx) => {
      const req = parseGetRequest(m);
      ctx.accept({ accepted: true });
      const reply: GetReply = { sources: [] };
      for (const asked of req.paths) {
        const path = localPath(asked, host);
        if (path === "/") {
          throw new TuttiError("EINVAL", `${asked}: the root cannot be fetched whole`);
        }
        try {
          reply.sources.push({ asked, path, entries: await walkTree(path) });
        } catch (e) {
          throw fsError(e, "reading", path);
        }
      }
      return { body: reply };
    }],

    ["read", async (m) => {
      const req = parseReadRequest(m);
      const limit = Math.min(req.limit, maxPayload() - READ_OVERHEAD);
      try {
        using file = await Deno.open(req.path);
        const { size, isFile } = await file.stat();
        if (!isFile) throw new Deno.errors.IsADirectory("not a regular file");
        const data = await readAt(file, req.offset, Math.min(limit, size - req.offset));
        const body: ReadReply = { data, size };
        return { body };
      } catch (e) {
        throw fsError(e, "reading", req.path);
      }
    }],
  ]);
}

/** The chunks of `stream`, through the transfer connection (held until `release`). */
async function chunkSource(
  link: TransferLink,
  host: string,
  subjects: Subjects,
  stream: string,
): Promise<ChunkSource & { release(): void }> {
  const conn = await link.acquire();
  return {
    nc: conn.nc,
    subjects,
    host,
    stream,
    onDenied: (fn) => conn.onDenied(fn),
    release: () => link.release(),
  };
}
