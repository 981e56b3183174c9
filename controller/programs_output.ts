/**
 * The output of one supervised process on one host: its tail (the last
 * bytes the agent keeps, 64 KiB per stream), and with `follow` everything
 * it writes afterwards, live, plus the process's events from the agent's
 * log (state changes, notices). `attach` adds input: bytes written to the
 * process's stdin.
 *
 * Following, step by step (PROTOCOL.md, Programs):
 * 1. subscribe to `P.prog.<host>.<program>.<n>.*` and `P.log.<host>`;
 * 2. `follow {name, seconds}`: the agent publishes the output live for that
 *    long, renewed here every third of it, so a controller that vanished
 *    costs the agent nothing after the lease;
 * 3. `tail` for each stream: the last bytes and the offset of their first
 *    byte. Live chunks that arrived before the tail's reply are in it and
 *    are dropped (or cut where they overlap); later ones continue it. A
 *    live chunk beyond the next expected offset means the agent could not
 *    publish some (its link was congested): a `gap` event says how much.
 */
import type { Msg } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import { TuttiError } from "../protocol/errors.ts";
import { parseProgramLogBody } from "../protocol/events.ts";
import { H } from "../protocol/headers.ts";
import type { StreamName } from "../protocol/messages.ts";
import {
  checkProcessName,
  type ProgramEvent,
  TAIL_MAX,
  WINSIZE_MAX,
} from "../protocol/program_messages.ts";
import {
  parseFollowReply,
  parseInputReply,
  parseTailReply,
  throwIfFailed,
} from "../protocol/replies.ts";
import { checkToken } from "../protocol/subjects.ts";
import type { Link } from "./connection.ts";
import { Channel } from "./operation.ts";

export type ProgramOutputEvent =
  /** Bytes of one stream, in order; `offset` is their place in the stream. */
  | { type: "output"; stream: StreamName; offset: number; data: Uint8Array }
  /** Bytes the agent wrote but could not publish live (they may still be in a later tail). */
  | { type: "gap"; stream: StreamName; offset: number; bytes: number }
  /** An event of this process from the agent's log (`follow` and `attach` only). */
  | { type: "event"; event: ProgramEvent };

export interface ProgramTailOptions {
  /** Default stdout. */
  stream?: StreamName;
  /** The last this many bytes (at most 64 KiB, the default). */
  bytes?: number;
  /** Then everything written afterwards, until `close()`. */
  follow?: boolean;
}

/** Seconds a follow lease lasts; renewed every third of it. */
export const FOLLOW_LEASE_S = 15;
/** Input is sent in pieces of at most this size (one request each). */
const INPUT_CHUNK = 64 * 1024;

/**
 * The events of a tail (`for await`), ending after the tail unless it
 * follows; `close()` ends a follow (the process keeps running).
 */
export class ProgramOutput implements AsyncIterable<ProgramOutputEvent> {
  readonly #channel = new Channel<ProgramOutputEvent, void>();
  readonly #expected = new Map<StreamName, number>();
  /** Live chunks that came before the tails, to be reconciled with them. */
  #early: { stream: StreamName; offset: number; data: Uint8Array }[] | null = [];
  readonly #cleanup: (() => void)[] = [];
  /** Resolves once the tails are in (or the start failed). */
  readonly ready: Promise<void>;
  #tty = false;

  constructor(
    protected readonly link: Link,
    readonly host: string,
    readonly name: string,
    readonly streams: StreamName[],
    readonly opts: { bytes?: number; follow: boolean },
  ) {
    checkToken("host name", host);
    checkProcessName("process", name);
    if (opts.bytes !== undefined && !(opts.bytes >= 1 && opts.bytes <= TAIL_MAX)) {
      throw new TuttiError("EINVAL", `bytes ${opts.bytes}: expected 1 to ${TAIL_MAX}`);
    }
    this.ready = this.#start().catch((e) => {
      this.#stopAll();
      this.#channel.fail(e);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<ProgramOutputEvent> {
    return this.#channel[Symbol.asyncIterator]();
  }

  /** Ends the events (a follow stops; its lease runs out on the agent). */
  close(): Promise<void> {
    this.#stopAll();
    this.#channel.end();
    return Promise.resolve();
  }

  get closed(): boolean {
    return this.#channel.ended;
  }

  /**
   * Whether the process runs under a pseudo-terminal (its program has
   * `tty: true`): known once `ready` resolved, for a follow or an attach.
   */
  get tty(): boolean {
    return this.#tty;
  }

  async #start(): Promise<void> {
    const s = this.link.subjects;
    if (this.opts.follow) {
      const stream = this.streams.length === 1 ? this.streams[0] : "*";
      const out = this.link.subscribe(s.prog(this.host, this.name, stream), (m) => this.#onLive(m));
      const log = this.link.subscribe(s.log(this.host), (m) => this.#onLog(m));
      this.#cleanup.push(() => out.unsubscribe(), () => log.unsubscribe());
      await this.link.flush();
      const reply = await this.#request(
        "follow",
        { name: this.name, seconds: FOLLOW_LEASE_S },
        parseFollowReply,
      );
      this.#tty = reply.tty === true;
      const renew = setInterval(() => this.#renew(), FOLLOW_LEASE_S * 1000 / 3);
      this.#cleanup.push(() => clearInterval(renew));
    }
    for (const stream of this.streams) {
      const body: Record<string, unknown> = { name: this.name, stream };
      if (this.opts.bytes !== undefined) body.bytes = this.opts.bytes;
      const { data, offset } = await this.#request("tail", body, parseTailReply);
      if (data.length > 0) this.#channel.push({ type: "output", stream, offset, data });
      this.#expected.set(stream, offset + data.length);
    }
    if (!this.opts.follow) {
      this.#channel.end();
      return;
    }
    const early = this.#early ?? [];
    this.#early = null;
    for (const c of early) {
      const end = this.#expected.get(c.stream) ?? 0;
      if (c.offset + c.data.length <= end) continue; // in the tail already
      const data = c.offset < end ? c.data.subarray(end - c.offset) : c.data;
      this.#deliver(c.stream, Math.max(c.offset, end), data);
    }
  }

  async #request<T extends object>(
    verb: string,
    body: object,
    parse: (fields: Record<string, unknown>) => T,
  ): Promise<T> {
    return throwIfFailed(await this.link.request(this.host, verb, body, parse));
  }

  #renew(): void {
    if (this.link.nc.isClosed()) {
      // The controller was closed under a follow: nothing more will come.
      this.#stopAll();
      this.#channel.end();
      return;
    }
    const body = { name: this.name, seconds: FOLLOW_LEASE_S };
    this.#request("follow", body, parseFollowReply).catch((e) => {
      // A process gone from the configuration (reload) will never write again.
      if (e instanceof TuttiError && e.code === "ESRCH") {
        this.#stopAll();
        this.#channel.fail(e);
      }
      // Anything else (a broker outage) is retried at the next renewal.
    });
  }

  #onLive(m: Msg): void {
    if (this.#channel.ended) return;
    const where = this.link.subjects.parseProg(m.subject);
    if (!where || where.process !== this.name) return;
    const stream = where.stream as StreamName;
    if (!this.streams.includes(stream)) return;
    const offset = Number(m.headers?.get(H.offset));
    if (!Number.isSafeInteger(offset) || offset < 0) return;
    if (this.#early !== null) {
      this.#early.push({ stream, offset, data: m.data });
      return;
    }
    this.#deliver(stream, offset, m.data);
  }

  #deliver(stream: StreamName, offset: number, data: Uint8Array): void {
    const expected = this.#expected.get(stream) ?? 0;
    if (offset > expected) {
      this.#channel.push({ type: "gap", stream, offset: expected, bytes: offset - expected });
    }
    // An offset below the expected one is a new incarnation of the process
    // (a reload replaced it and its streams start at 0 again): taken as is.
    this.#channel.push({ type: "output", stream, offset, data });
    this.#expected.set(stream, offset + data.length);
  }

  #onLog(m: Msg): void {
    if (this.#channel.ended) return;
    let event: ProgramEvent;
    try {
      const { v: _v, host, ...rest } = parseProgramLogBody(decodeMap(m.data));
      if (host !== this.host) return; // the subject is this host's: the body must say so too
      event = rest;
    } catch {
      return; // not an entry of this protocol: nothing to show
    }
    if (!("process" in event) || event.process !== this.name) return;
    this.#channel.push({ type: "event", event });
  }

  #stopAll(): void {
    for (const fn of this.#cleanup.splice(0)) fn();
  }
}

/**
 * A process followed on both streams, with its stdin: what `attach` in the
 * shell uses. `detach()` stops following; the process keeps running.
 * A process under a pseudo-terminal (`tty`) gets what is typed as a
 * terminal would (Ctrl-C is a byte its terminal turns into SIGINT), and
 * `resize` sets its window size.
 */
export class ProgramAttachment extends ProgramOutput {
  #writes: Promise<unknown> = Promise.resolve();

  constructor(link: Link, host: string, name: string) {
    super(link, host, name, ["stdout", "stderr"], { follow: true });
  }

  /** Sends bytes (or text, as UTF-8) to the process's stdin; resolves once the agent wrote them. */
  write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += INPUT_CHUNK) {
      chunks.push(bytes.subarray(at, at + INPUT_CHUNK));
    }
    return this.#queue(chunks.map((c) => ({ name: this.name, data: c })));
  }

  /**
   * Sets the window size of the process's pseudo-terminal (the program gets
   * SIGWINCH), in order with what is written; ENOTTY when it has none.
   */
  resize(rows: number, cols: number): Promise<void> {
    for (const [what, n] of [["rows", rows], ["cols", cols]] as const) {
      if (!Number.isInteger(n) || n < 1 || n > WINSIZE_MAX) {
        return Promise.reject(
          new TuttiError("EINVAL", `${what} ${n}: expected 1 to ${WINSIZE_MAX}`),
        );
      }
    }
    return this.#queue([{ name: this.name, rows, cols }]);
  }

  /** Closes the process's stdin (end of input), after what was written before. */
  closeInput(): Promise<void> {
    return this.#queue([{ name: this.name, eof: true }]);
  }

  /** Stops following; the process keeps running. */
  detach(): Promise<void> {
    return this.close();
  }

  #queue(bodies: object[]): Promise<void> {
    const run = this.#writes.then(async () => {
      for (const body of bodies) {
        throwIfFailed(await this.link.request(this.host, "input", body, parseInputReply));
      }
    });
    this.#writes = run.catch(() => {});
    return run;
  }
}
