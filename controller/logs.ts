/**
 * A process's spooled output, read from its agent with `logs` requests of at
 * most 512 KiB each, byte-exact. For an exited process it is all of it; for
 * a running one, what was written so far.
 */
import { TuttiError } from "../protocol/errors.ts";
import { concatBytes } from "../protocol/runtime/bytes.ts";
import type { StreamName } from "../protocol/messages.ts";
import { parseLogsReply, throwIfFailed } from "../protocol/replies.ts";
import { checkToken } from "../protocol/subjects.ts";
import type { Link } from "./connection.ts";

export interface LogsOptions {
  /** Default `stdout`. */
  stream?: StreamName;
  /** Start at this byte (default 0). */
  offset?: number;
}

/**
 * One range of a process's spool (at most `limit` bytes from `offset`): the
 * bytes, or the agent's error as a TuttiError (`ENORESPONSE` when it does
 * not answer).
 */
export async function readRange(
  link: Link,
  host: string,
  proc: string,
  stream: StreamName,
  offset: number,
  limit: number,
): Promise<Uint8Array> {
  const r = await link.request(host, "logs", { proc, stream, offset, limit }, parseLogsReply);
  if (r.ok) return r.data;
  throw new TuttiError(r.error.code, `${host}: logs: ${r.error.message}`);
}

/** Attempts at fetching one range while its agent does not answer. */
const READ_ATTEMPTS = 4;
const RETRY_MS = 1000;

/**
 * `readRange`, tried again (a second apart, four times at most) while the
 * agent does not answer and `wanted()` still holds: a run whose output has
 * a hole asks until the bytes come or the host is given up on.
 */
export async function readRangeWhile(
  wanted: () => boolean,
  ...args: Parameters<typeof readRange>
): Promise<Uint8Array> {
  const [, host] = args;
  let last: TuttiError | undefined;
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, RETRY_MS));
    if (!wanted()) break;
    try {
      return await readRange(...args);
    } catch (e) {
      if (!(e instanceof TuttiError) || e.code !== "ENORESPONSE") throw e;
      last = e;
    }
  }
  throw last ?? new TuttiError("ENORESPONSE", `${host}: logs: no longer wanted`);
}

/** Chunks of the spool as they arrive (`for await`), or all of it at once (`bytes()`). */
export class LogsReader implements AsyncIterable<Uint8Array> {
  readonly stream: StreamName;

  constructor(
    private readonly link: Link,
    readonly host: string,
    readonly proc: string,
    private readonly opts: LogsOptions = {},
  ) {
    checkToken("host name", host);
    checkToken("process id", proc);
    this.stream = opts.stream ?? "stdout";
    if (this.stream !== "stdout" && this.stream !== "stderr") {
      throw new TuttiError("EINVAL", `stream ${JSON.stringify(this.stream)}: stdout or stderr`);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    let offset = this.opts.offset ?? 0;
    for (;;) {
      const body = { proc: this.proc, stream: this.stream, offset };
      const r = throwIfFailed(await this.link.request(this.host, "logs", body, parseLogsReply));
      if (r.offset !== offset) {
        throw new TuttiError(
          "EBADMSG",
          `logs reply: field "offset": expected ${offset}, got ${r.offset}`,
        );
      }
      if (r.data.length > 0) yield r.data;
      offset += r.data.length;
      // Complete, or caught up with a process that is still writing.
      if (r.complete || r.data.length === 0) return;
    }
  }

  /** The whole content as one byte array. */
  async bytes(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const p of this) parts.push(p);
    return concatBytes(parts);
  }
}
