/**
 * The transfer stream, seen from the controller: contents stored once,
 * named by their SHA-256, read by every agent with direct get.
 *
 * The stream `<prefix>_xfer` holds `P.xfer.<sha256>.<k>` (chunk k, raw
 * bytes, one message per subject) and `P.xfer.<sha256>.done` (written
 * after the last chunk: the content is complete). File storage, so a
 * broker restart keeps it; an age limit (a day by default) so it does not
 * grow for ever. A content already complete is not sent again: a second
 * `put` of the same file, to any hosts, uploads nothing.
 *
 * Chunks are published with JetStream acknowledgements, a window of them
 * in flight, each with a message id (`<sha256>.<k>.<upload>`, deduplicated
 * by the server): after a broker outage the unacknowledged ones are simply
 * sent again. The upload's own token is part of the id because the server
 * remembers ids for its duplicate window whatever happened to the messages:
 * with `<sha256>.<k>` alone, a content purged from the stream and put again
 * within two minutes would be taken for a duplicate and not stored.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { encode } from "../../protocol/codec.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { newId } from "../../protocol/runtime/ids.ts";
import type { Subjects } from "../../protocol/subjects.ts";

/** In flight while uploading: enough to keep the server's disk busy. */
const WINDOW = 8;
const DEFAULT_MAX_AGE_MS = 24 * 3600_000;
const ATTEMPTS = 60;
const RETRY_MS = 1000;

export interface StoreOptions {
  /** How long contents stay in the stream (default a day). */
  maxAgeMs?: number;
}

export class ContentStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    /** Opened once (each opening asks the server for the account's JetStream info). */
    private readonly jsm: JetStreamManager,
    private readonly subjects: Subjects,
    readonly stream: string,
    /** Bytes per chunk, from the server's max_payload. */
    readonly chunk: number,
  ) {}

  /** Opens the stream, creating it when missing; ENOTSUP when JetStream is not enabled. */
  static async open(nc: NatsConnection, subjects: Subjects, opts: StoreOptions = {}) {
    const stream = subjects.xferStream();
    let jsm;
    try {
      jsm = await jetstreamManager(nc);
    } catch (e) {
      throw noJetStream(e);
    }
    try {
      await jsm.streams.info(stream);
    } catch (e) {
      if (!/not found/i.test((e as Error).message)) throw noJetStream(e);
      await jsm.streams.add({
        name: stream,
        subjects: [subjects.xferAll()],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        max_msgs_per_subject: 1,
        max_age: (opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS) * 1_000_000,
        allow_direct: true,
        duplicate_window: 120 * 1_000_000_000,
      }).catch((e2) => {
        throw new TuttiError("ENOTSUP", `cannot create stream ${stream}: ${(e2 as Error).message}`);
      });
    }
    const maxPayload = nc.info?.max_payload ?? 1 << 20;
    // Room for the message's headers; whole 4 KiB pages.
    const chunk = Math.max(4096, Math.floor((Math.min(maxPayload, 8 << 20) - 1024) / 4096) * 4096);
    return new ContentStore(nc, jetstream(nc), jsm, subjects, stream, chunk);
  }

  /** Whether the content is complete in the stream. */
  async has(sha256: string): Promise<boolean> {
    const m = await this.jsm.streams.getMessage(this.stream, {
      last_by_subj: this.subjects.xferDone(sha256),
    }).catch(() => null);
    return m !== null;
  }

  /**
   * Stores the file at `path` (whose digest is `sha256`, `size` bytes)
   * unless it is there already; `sent(n)` is told of every chunk
   * acknowledged. Returns the bytes uploaded (0 when it was there).
   */
  async put(
    path: string,
    sha256: string,
    size: number,
    sent: (bytes: number) => void,
  ): Promise<number> {
    if (size === 0 || await this.has(sha256)) return 0;
    const upload = newId("u");
    using file = await Deno.open(path);
    const count = Math.ceil(size / this.chunk);
    const from = await this.#resumeAt(sha256, size, count);
    if (from > 0) {
      await file.seek(from * this.chunk, Deno.SeekMode.Start);
      sent(from * this.chunk);
    }
    const inFlight = new Set<Promise<void>>();
    let uploaded = 0;
    for (let k = from; k < count; k++) {
      const data = new Uint8Array(Math.min(this.chunk, size - k * this.chunk));
      let n = 0;
      while (n < data.length) {
        const r = await file.read(data.subarray(n));
        if (r === null) {
          throw new TuttiError("EIO", `${path}: shorter than ${size} bytes: changed while sent?`);
        }
        n += r;
      }
      const id = `${sha256}.${k}.${upload}`;
      const p = this.#publish(this.subjects.xferChunk(sha256, k), data, id)
        .then(() => {
          uploaded += data.length;
          sent(data.length);
        });
      inFlight.add(p);
      p.finally(() => inFlight.delete(p)).catch(() => {});
      if (inFlight.size >= WINDOW) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await this.#publish(
      this.subjects.xferDone(sha256),
      encode({ size, chunk: this.chunk }),
      `${sha256}.done.${upload}`,
    );
    return uploaded;
  }

  /**
   * Where an interrupted upload of `sha256` (this controller or another was
   * killed, with the same chunk size) can go on: chunks are stored in order,
   * a window at a time, so the ones present are a prefix but for the last
   * window: the end of the prefix is found by bisection, then the last
   * window is checked one by one (a few requests whatever the size).
   */
  async #resumeAt(sha256: string, size: number, count: number): Promise<number> {
    // A chunk of another size (an upload through a server with another max_payload) is no use.
    const want = (k: number) => Math.min(this.chunk, size - k * this.chunk);
    const has = (k: number) =>
      this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subjects.xferChunk(sha256, k) })
        .then((m) => m !== null && m.data.length === want(k), () => false);
    if (!await has(0)) return 0;
    let lo = 1;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (await has(mid)) lo = mid + 1;
      else hi = mid;
    }
    // Within the last window, one may be missing before others that are there.
    for (let k = Math.max(1, lo - WINDOW); k < lo; k++) if (!await has(k)) return k;
    return lo;
  }

  /** One message, acknowledged by the stream; sent again while the broker is away. */
  async #publish(subject: string, data: Uint8Array, msgID: string): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        await this.js.publish(subject, data, { msgID, timeout: 10_000 });
        return;
      } catch (e) {
        if (attempt >= ATTEMPTS || this.nc.isClosed()) {
          throw new TuttiError("EIO", `storing ${subject}: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}

function noJetStream(e: unknown): TuttiError {
  const why = (e as Error)?.message ?? String(e);
  if (/permissions violation/i.test(why)) {
    return new TuttiError(
      "EPERM",
      `the NATS server refuses this controller JetStream's API (${why}): its user's permissions ` +
        `must allow what put needs (controller nats-config writes them)`,
    );
  }
  return new TuttiError(
    "ENOTSUP",
    `put needs JetStream on the NATS server (${why}): start nats-server with -js -sd DIR, ` +
      `or add "jetstream { store_dir: DIR }" to its configuration`,
  );
}
