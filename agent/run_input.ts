/**
 * The input of one run started with `stdin` (PROTOCOL.md, "Input of a
 * run"). The controller publishes each chunk once on `P.stdin.<id>` for
 * every host; this takes them in order, each byte once, into the process's
 * stdin, which the keeper holds, and reports how far it got with `input`
 * events, from which the controller paces what it sends.
 *
 * - A chunk that starts past what was received is not written: the bytes
 *   before it were missed (the link dropped them, or this agent subscribed
 *   after they went out). The gap is reported at once, with its offsets, and
 *   the controller sends again from `received`. Bytes already received are
 *   skipped, so a chunk sent again is harmless.
 * - What waits to be written is bounded by the controller's window (it never
 *   sends past the slowest host's `written` + window) and, whatever a peer
 *   sends, by INPUT_HELD_MAX; at most KEEPER_IN_FLIGHT of it is with the
 *   keeper, whose pipe to the process holds the rest. A process that does
 *   not read therefore costs a window, not a growing queue.
 * - The end (`eof` at the total length) closes stdin once every byte before
 *   it is written. A write the keeper refuses (the process closed its stdin
 *   or exited) closes the input early with EPIPE, saying how much was
 *   written; so does an exit before the end.
 */
import type { Msg, Subscription } from "@nats-io/transport-node";
import type { WireError } from "../protocol/errors.ts";
import { INPUT_HELD_MAX, type InputProgress, parseInputChunk } from "../protocol/input_messages.ts";
import type { Subjects } from "../protocol/subjects.ts";
import type { Connection } from "./connection.ts";
import type { KeeperLink } from "./keeper_link.ts";
import { log, RateLimitedLog } from "./log.ts";

/**
 * Bytes handed to the keeper and not yet written, in pieces of at most
 * KEEPER_PIECE: enough that the pipe never waits for the next piece, and
 * with what an agent killed meanwhile had handed over, within what the
 * keeper lets wait for one process (STDIN_MAX, stdin_pipe.ts).
 */
const KEEPER_IN_FLIGHT = 256 * 1024;
const KEEPER_PIECE = 128 * 1024;
/** Progress is reported at once after this much, else within ACK_DELAY_MS of a change. */
const ACK_BYTES = 512 * 1024;
const ACK_DELAY_MS = 20;

export interface RunInputContext {
  conn: Connection;
  subjects: Subjects;
  keeper: KeeperLink;
  /** Publishes an `input` event of the process. */
  progress(p: Omit<InputProgress, "v">): void;
}

const badInput = new RateLimitedLog();

export class RunInput {
  #received: number;
  #written: number;
  /** The input's length, once its end has come. */
  #eofAt: number | null = null;
  #closed = false;
  #error: WireError | undefined;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #sub: Subscription | null;
  /** What the last report said, and the `received` for which a gap was last reported. */
  #reported = { received: -1, written: -1 };
  #gapReportedAt = -1;
  #gap: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Subscribes at once (before the process's `started` goes out, so that
   * whoever saw it knows this host receives); `from`: bytes already written
   * (an agent that adopts a running process carries on from the keeper's count).
   */
  constructor(private readonly id: string, private readonly ctx: RunInputContext, from: number) {
    this.#received = from;
    this.#written = from;
    this.#sub = ctx.conn.nc.subscribe(ctx.subjects.stdin(id), {
      callback: (err, m) => {
        if (err) return log(`process ${id}: input subscription ended: ${err.message}`);
        try {
          this.#onChunk(m);
        } catch (e) {
          // A bug here must not end the subscription, nor the agent.
          badInput.report(`process ${id}: input: ${(e as Error).stack ?? e}`);
        }
      },
    });
  }

  /** Reports where the input stands now (after `started`; again when a retried run asks). */
  announce(): void {
    this.#report(true);
  }

  /**
   * The process ended (before its `exit` event goes out): an input still
   * open is closed, as an error unless every byte up to the end was written.
   */
  processExited(): void {
    if (this.#closed) return;
    const complete = this.#eofAt !== null && this.#written === this.#eofAt;
    if (!complete) {
      const of = this.#eofAt === null ? "" : ` of ${this.#eofAt}`;
      this.#close({
        code: "EPIPE",
        message: `the process exited after ${this.#written}${of} bytes of input were written`,
      });
    } else this.#close();
  }

  #onChunk(m: Msg): void {
    if (this.#closed) return;
    let chunk;
    try {
      chunk = parseInputChunk((name) => m.headers?.get(name) || undefined, m.data);
    } catch (e) {
      return badInput.report(`process ${this.id}: input ignored: ${(e as Error).message}`);
    }
    const { offset } = chunk;
    if (chunk.type === "eof") {
      if (offset > this.#received) return this.#missed(offset);
      if (offset === this.#received && this.#eofAt === null) {
        this.#eofAt = offset;
        this.#pump();
      }
      // Sent again, or at an offset that contradicts what came: where this host stands says it.
      return this.#report(true);
    }
    const end = offset + chunk.data.length;
    if (end <= this.#received) return this.#report(false); // sent again: nothing new
    if (offset > this.#received) return this.#missed(offset);
    const fresh = chunk.data.subarray(this.#received - offset);
    if (this.#queued + this.#inFlight + fresh.length > INPUT_HELD_MAX) {
      // A sender that ignores the window: not taken, as if lost (it is sent again).
      return badInput.report(
        `process ${this.id}: input past ${INPUT_HELD_MAX} bytes held not taken (offset ${offset})`,
      );
    }
    for (let at = 0; at < fresh.length; at += KEEPER_PIECE) {
      this.#queue.push(fresh.subarray(at, at + KEEPER_PIECE));
    }
    this.#queued += fresh.length;
    this.#received = end;
    this.#pump();
    this.#report(false);
  }

  /** A chunk at `offset` while `received` was expected: not written, reported once per gap. */
  #missed(offset: number): void {
    if (this.#gapReportedAt === this.#received) return;
    this.#gapReportedAt = this.#received;
    this.#gap = offset;
    badInput.report(
      `process ${this.id}: input bytes ${this.#received}-${offset - 1} missed ` +
        `(a chunk at ${offset} came first); asking for them again`,
    );
    this.#report(true);
  }

  /** Hands queued bytes to the keeper, and closes stdin once the last byte is written. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight < KEEPER_IN_FLIGHT && !this.#closed) {
      const data = this.#queue.shift()!;
      this.#queued -= data.length;
      this.#inFlight += data.length;
      this.ctx.keeper.input(this.id, data).then(
        () => {
          this.#inFlight -= data.length;
          if (this.#closed) return;
          this.#written += data.length;
          this.#pump();
          this.#report(false);
        },
        (e) => {
          this.#inFlight -= data.length;
          // The keeper's words name the process and the input: the system's are what is new.
          const why = (e as Error).message.replace(`${this.id}: input: `, "");
          this.#close({
            code: "EPIPE",
            message: `stdin closed after ${this.#written} bytes of input were written (${why})`,
          });
        },
      );
    }
    if (
      !this.#closed && this.#eofAt !== null && this.#written === this.#eofAt &&
      this.#inFlight === 0
    ) {
      this.ctx.keeper.input(this.id, undefined, true).catch((e) =>
        log(`process ${this.id}: closing its input: ${(e as Error).message}`)
      );
      this.#close();
    }
  }

  /** Ends the input (with `error`: early); the last report goes out at once. */
  #close(error?: WireError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#sub?.unsubscribe();
    this.#sub = null;
    this.#report(true);
  }

  /** Progress now, or once a few changes have gathered (ACK_DELAY_MS, ACK_BYTES). */
  #report(now: boolean): void {
    const r = this.#reported;
    const far = this.#received - r.received >= ACK_BYTES || this.#written - r.written >= ACK_BYTES;
    if (!now && !far) {
      this.#timer ??= setTimeout(() => this.#send(), ACK_DELAY_MS);
      return;
    }
    this.#send();
  }

  #send(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reported = { received: this.#received, written: this.#written };
    const gap = this.#gap;
    this.#gap = undefined;
    this.ctx.progress({
      received: this.#received,
      written: this.#written,
      eof: this.#eofAt !== null,
      closed: this.#closed,
      ...(gap !== undefined && { gap }),
      ...(this.#error && { error: this.#error }),
    });
  }
}
