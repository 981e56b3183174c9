/**
 * One `put` on this host: every item's trees written under its destination.
 *
 * - A file whose destination already has the same size and SHA-256 is
 *   skipped (its mode is set if it differs).
 * - Otherwise its chunks are fetched into the partial file (part_file.ts);
 *   a partial file left by an interrupted try of the same content is
 *   continued from its last whole chunk (its bytes are hashed again, not
 *   fetched again). The digest is verified before the rename.
 * - Directories are made (with their parents), and given their mode once
 *   everything inside them is written (a read-only directory is written
 *   first); links are made beside the destination and renamed over it.
 *
 * The first error ends the job, naming the path and what was being done;
 * what was complete stays, nothing partial has the destination's name.
 */
import { fsError } from "../../protocol/files/fs_error.ts";
import {
  commitPart,
  lstatOrNull,
  makeDir,
  openPart,
  placeLink,
  sameContent,
  writeAll,
} from "../../protocol/files/part_file.ts";
import { TuttiError } from "../../protocol/errors.ts";
import type { PutReply, PutRequest, TransferEntry } from "../../protocol/transfer_messages.ts";
import { type ChunkSource, fetchChunks } from "./chunk_fetcher.ts";
import { dirOf, localPath } from "./local_path.ts";

export interface PutProgress {
  done: number;
  total: number;
}

export class PutJob {
  readonly total: number;
  done = 0;
  readonly #reply: PutReply;
  /** Directories to give their mode at the end, deepest last. */
  readonly #dirs: [string, number][] = [];

  /** The chunk source, opened at the first file that must be fetched (none when all are there). */
  #src: (ChunkSource & { release(): void }) | null = null;

  constructor(
    private readonly req: PutRequest,
    private readonly host: string,
    private readonly openSource: () => Promise<ChunkSource & { release(): void }>,
  ) {
    this.total = req.items.reduce((n, i) => n + i.entries.reduce((m, e) => m + e.size, 0), 0);
    this.#reply = { id: req.id, files: 0, skipped: 0, others: 0, bytes: 0, resumed: 0 };
  }

  async run(): Promise<PutReply> {
    try {
      return await this.#run();
    } finally {
      this.#src?.release();
    }
  }

  async #run(): Promise<PutReply> {
    for (const item of this.req.items) {
      const dest = localPath(item.dest, this.host);
      if (item.into) {
        await makeDir(dest);
        for (const e of item.entries) await this.#entry(e, `${dest}/${e.path}`);
      } else {
        const e = item.entries[0];
        const isDir = await lstatOrNull(dest).then((st) => st?.isDirectory === true);
        const at = isDir ? `${dest}/${e.path.slice(e.path.lastIndexOf("/") + 1)}` : dest;
        if (!isDir) await makeDir(dirOf(dest));
        await this.#entry(e, at);
      }
    }
    for (const [dir, mode] of this.#dirs.reverse()) {
      await Deno.chmod(dir, mode).catch((e) => {
        throw fsError(e, "setting the mode of", dir);
      });
    }
    return this.#reply;
  }

  async #entry(e: TransferEntry, at: string): Promise<void> {
    if (e.kind === "dir") {
      await makeDir(at);
      this.#dirs.push([at, e.mode]);
      this.#reply.others++;
    } else if (e.kind === "link") {
      await placeLink(e.link!, at);
      this.#reply.others++;
    } else {
      await this.#file(e, at);
    }
  }

  async #file(e: TransferEntry, at: string): Promise<void> {
    const sha = e.sha256!;
    if (await sameContent(at, { size: e.size, sha256: sha, mode: e.mode })) {
      this.#reply.skipped++;
      this.done += e.size;
      return;
    }
    const chunk = this.req.chunk;
    const count = Math.ceil(e.size / chunk);
    // Whole chunks of an earlier try are kept: fetching goes on from the next one.
    const { part, file, hash, offset } = await openPart(at, sha, e.size, chunk);
    const from = offset / chunk;
    this.#reply.resumed += offset;
    this.done += offset;
    try {
      this.#src ??= await this.openSource();
      for await (const data of fetchChunks(this.#src, sha, from, count)) {
        await writeAll(file, data);
        hash.update(data);
        this.#reply.bytes += data.length;
        this.done += data.length;
      }
    } catch (err) {
      file.close();
      throw err instanceof TuttiError ? err : fsError(err, "writing", at);
    }
    try {
      await commitPart(file, part, at, e.mode, sha, hash.digest("hex"));
    } catch (err) {
      throw fsError(err, "writing", at);
    }
    this.#reply.files++;
  }
}
