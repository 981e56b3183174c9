/**
 * The controller's side of a run's input (`RunOptions.stdin`, PROTOCOL.md
 * "Input of a run"): the source is read once, and each chunk is published
 * once on `P.stdin.<id>` for every host, which NATS fans out. Agents report
 * their progress (`input` events); this paces the source on them:
 *
 * - **Window.** Nothing is sent past the slowest open host's `written` +
 *   `window`, so an agent never holds more than a window it has not written,
 *   and a process that does not read holds the whole run at one window: the
 *   source is not read further until it does, exits, or the run ends. A host
 *   that may still join (an expected host that has not started, until its
 *   deadline) counts as one at 0.
 * - **Start.** Sending starts once every expected host has started (or has
 *   failed, or is overdue), or START_WAIT_MS after the first did: a host
 *   that subscribes after chunks went out would need them again.
 * - **Sent again.** The last `window` bytes stay in memory. A host that
 *   reports a gap, or whose agent restarted (its `received` went back), is
 *   sent everything from its `received` again at once; one that has not
 *   received what was sent for RESEND_MS (the chunks or the end were lost on
 *   the way) too, then after twice as long while it still does not move (a
 *   slow link is not flooded with copies), up to RESEND_MAX_MS. The chunks go to every host again (go-back-N on the
 *   broadcast subject): the others skip bytes they have.
 * - **The end.** Once the source ends, an `eof` message at its length;
 *   each host's input ends with its agent's last report (`closed`).
 *
 * A host's verdict comes with its exit: its input is complete when every
 * byte was written, else the run failed there (EPIPE, with how much was
 * written), whatever its exit code. A source that cannot be read to its end
 * fails every open host (EIO) and their processes are stopped: a partial
 * input must not pass for a whole one.
 */
import { TuttiError, type WireError } from "../protocol/errors.ts";
import {
  INPUT_HELD_MAX,
  type InputChunk,
  inputHeaders,
  type InputProgress,
} from "../protocol/input_messages.ts";
import type { ProcInfo } from "../protocol/messages.ts";

/** What a run may read its input from. */
export type InputSource = ReadableStream<Uint8Array> | Uint8Array;

/** Bytes sent past the slowest host (RunOptions.stdinWindow). */
export const DEFAULT_INPUT_WINDOW = 4 * 1024 * 1024;
/** Largest input message: fewer, larger messages cost the broker less per byte. */
export const INPUT_CHUNK_MAX = 256 * 1024;
/** After the first host started, how long to wait for the others before sending. */
const START_WAIT_MS = 200;
/** A host that has not received what was sent for this long is sent it again. */
const RESEND_MS = 1000;
const RESEND_MAX_MS = 16_000;
/** How often `tick` looks at the hosts. */
const TICK_MS = 100;
/** A host's reports of one gap within this are one request to send again. */
const GAP_RESEND_MS = 100;

export interface InputFeedContext {
  /** Publishes one message on the run's input subject (false: not sent, the link is down). */
  publish(data: Uint8Array, headers: Record<string, string>): boolean;
  /** The largest payload the broker takes. */
  maxPayload(): number;
  /** Whether an expected host that has not started may still do so (and needs byte 0). */
  mayJoin(now: number): boolean;
  /** A host's input ended: all of it written, or early with `error`. */
  ended(host: string, written: number, error?: WireError): void;
  /** These hosts' processes must stop: their input cannot be complete (`error` says why). */
  stop(hosts: string[], error: WireError): void;
}

interface HostInput {
  received: number;
  written: number;
  eof: boolean;
  closed: boolean;
  error?: WireError;
  /** Whether its agent reported anything (an agent that does not know `stdin` never does). */
  heard: boolean;
  /** When `received` last moved (or the host started). */
  movedAt: number;
  /** How long it may stay behind before it is sent things again (doubles while it does not move). */
  patience: number;
  /** The last time it was sent things again, and from where. */
  resentAt: number;
  resentFrom: number;
}

export class InputFeed {
  readonly #hosts = new Map<string, HostInput>();
  /** The last `window` bytes read (at least), in chunks as they were published. */
  readonly #kept: { offset: number; data: Uint8Array }[] = [];
  /** Bytes read from the source and published at least once. */
  #sent = 0;
  /** The next offset to publish again (below `#sent` while sending again). */
  #cursor = 0;
  /** The source's length, once it has ended. */
  #total: number | null = null;
  #eofPending = false;
  #firstStart: number | null = null;
  /** When something was last published (a host is behind only once it had time to receive it). */
  #publishedAt = -Infinity;
  #tickedAt = -Infinity;
  #wake: (() => void) | null = null;
  #closed = false;
  #sourceError: WireError | undefined;
  readonly #read: () => Promise<Uint8Array | null>;
  readonly #cancel: () => void;

  constructor(
    source: InputSource,
    private readonly proc: string,
    private readonly window: number,
    private readonly ctx: InputFeedContext,
  ) {
    const chunk = () => Math.max(1024, Math.min(INPUT_CHUNK_MAX, ctx.maxPayload() - 1024));
    ({ read: this.#read, cancel: this.#cancel } = reader(source, chunk));
    this.#run();
  }

  /** The source's length once it ended, else null. */
  get total(): number | null {
    return this.#total;
  }

  /** `host` runs the process and receives the input (its start was seen). */
  hostStarted(host: string, now = Date.now()): void {
    if (this.#hosts.has(host) || this.#closed) return;
    this.#hosts.set(host, {
      received: 0,
      written: 0,
      eof: false,
      closed: false,
      heard: false,
      movedAt: now,
      patience: RESEND_MS,
      resentAt: -Infinity,
      resentFrom: -1,
    });
    this.#firstStart ??= now;
    if (this.#sourceError) return this.#fail([host], this.#sourceError);
    // Chunks may have gone out before it subscribed: from 0 again, if they are still here.
    if (this.#sent > 0) this.#resend(host, 0, now);
    this.#poke();
  }

  /** `host` is done without an exit (lost, refused, no response): it no longer holds anyone back. */
  hostGone(host: string): void {
    const h = this.#hosts.get(host);
    if (h) h.closed = true;
    this.#poke();
  }

  /** An agent's `input` event. */
  progress(host: string, p: InputProgress, now = Date.now()): void {
    if (!this.#hosts.has(host)) this.hostStarted(host, now);
    const h = this.#hosts.get(host)!;
    if (h.closed) return;
    h.heard = true;
    const back = p.received < h.received;
    if (p.received !== h.received) {
      h.received = p.received;
      h.movedAt = now;
      h.patience = RESEND_MS;
    }
    h.written = p.written;
    h.eof = p.eof;
    if (p.closed) {
      h.closed = true;
      h.error = p.error;
      this.ctx.ended(host, p.written, p.error);
    } else if (p.gap !== undefined || back) {
      // A gap, or an agent that restarted and carries on from what its keeper wrote.
      const repeat = h.resentFrom === p.received && now - h.resentAt < GAP_RESEND_MS;
      if (!repeat) this.#resend(host, p.received, now);
    }
    this.#poke();
  }

  /** Time passes: hosts that have not received what was sent are sent it again. */
  tick(now = Date.now()): void {
    // Called on every burst of messages: the hosts are looked at a few times a second at most.
    if (this.#closed || now - this.#tickedAt < TICK_MS) return;
    this.#tickedAt = now;
    for (const [host, h] of this.#hosts) {
      if (h.closed) continue;
      const behind = h.received < this.#sent || (h.received === this.#total && !h.eof);
      if (!behind) continue;
      const since = Math.max(h.movedAt, this.#publishedAt, h.resentAt);
      if (now - since >= h.patience) {
        this.#resend(host, h.received, now);
        h.patience = Math.min(2 * h.patience, RESEND_MAX_MS);
      }
    }
    this.#poke();
  }

  /**
   * The host's process exited (`existing`: it ran before this run's request):
   * the error its input ended with, or undefined when all of it was written.
   */
  verdict(host: string, proc: ProcInfo, existing: boolean): WireError | undefined {
    const h = this.#hosts.get(host);
    if (!h) return undefined;
    const complete = this.#total !== null && h.written >= this.#total;
    let error: WireError | undefined;
    if (complete) error = undefined;
    else if (h.closed && h.error && h.error.code !== "EPIPE") error = h.error;
    else if (!h.heard) {
      // A process that ran before this request may have ended before its agent could report.
      if (!existing) {
        error = {
          code: "ENOSYS",
          message: "its agent took none of the input (an agent or keeper older than run --stdin?)",
        };
      }
    } else {
      const of = this.#total === null ? `at least ${this.#sent}` : `${this.#total}`;
      error = {
        code: "EPIPE",
        message: `the process ended (${how(proc)}) before all of its input was written: ` +
          `${h.written} of ${of} bytes`,
      };
    }
    if (!h.closed) {
      h.closed = true;
      h.error = error;
      this.ctx.ended(host, h.written, error);
    }
    this.#poke();
    return error;
  }

  /** The run is over: nothing more is read or sent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancel();
    this.#poke();
  }

  // ------------------------------------------------------------ sending

  async #run(): Promise<void> {
    try {
      while (!this.#closed) {
        if (this.#cursor < this.#sent) {
          this.#publishKept();
          continue;
        }
        if (this.#total !== null) {
          if (this.#eofPending) {
            this.#eofPending = false;
            this.#publish({ type: "eof", offset: this.#total });
          }
          await this.#sleep();
          continue;
        }
        if (!this.#mayRead(Date.now())) {
          await this.#sleep();
          continue;
        }
        const data = await this.#read();
        if (this.#closed) break;
        if (data === null) {
          this.#total = this.#sent;
          this.#eofPending = true;
          continue;
        }
        const at = this.#sent;
        this.#keep(at, data);
        this.#publish({ type: "stdin", offset: at, data });
        this.#sent += data.length;
        // Unless a host asked for earlier bytes again while the source was being read.
        if (this.#cursor === at) this.#cursor = this.#sent;
      }
    } catch (e) {
      if (this.#closed) return;
      this.#sourceError = {
        code: "EIO",
        message: `reading the input failed after ${this.#sent} bytes: ${
          e instanceof Error ? e.message : String(e)
        }`,
      };
      this.#fail(
        [...this.#hosts].filter(([, h]) => !h.closed).map(([host]) => host),
        this.#sourceError,
      );
    }
  }

  /** Whether the next chunk may be read and sent now. */
  #mayRead(now: number): boolean {
    let open = 0;
    let slowest = Infinity;
    for (const h of this.#hosts.values()) {
      if (h.closed) continue;
      open++;
      slowest = Math.min(slowest, h.written);
    }
    const joining = this.ctx.mayJoin(now);
    // Nobody to send to: the source is not read (a process may still start and need it all).
    if (open === 0) return false;
    if (joining && now - this.#firstStart! < START_WAIT_MS) return false;
    return this.#sent < (joining ? 0 : slowest) + this.window;
  }

  /** Publishes the kept chunk that holds `#cursor` again. */
  #publishKept(): void {
    const c = this.#kept.find((k) => k.offset + k.data.length > this.#cursor);
    if (!c) {
      this.#cursor = this.#sent;
      return;
    }
    this.#publish({ type: "stdin", offset: c.offset, data: c.data });
    this.#cursor = c.offset + c.data.length;
    if (this.#cursor >= this.#sent && this.#total !== null) this.#eofPending = true;
  }

  #publish(chunk: InputChunk): void {
    const data = chunk.type === "stdin" ? chunk.data : new Uint8Array(0);
    // Not sent (the link is down): the hosts will be behind, and are sent it again.
    this.ctx.publish(data, inputHeaders(chunk, this.proc));
    this.#publishedAt = Date.now();
  }

  /** Keeps what was just read; drops what is a window behind it. */
  #keep(offset: number, data: Uint8Array): void {
    this.#kept.push({ offset, data });
    const floor = offset + data.length - this.window;
    while (this.#kept.length > 1 && this.#kept[0].offset + this.#kept[0].data.length <= floor) {
      this.#kept.shift();
    }
  }

  /** Everything from `from` again (every host gets it; those that have it skip it). */
  #resend(host: string, from: number, now: number): void {
    const h = this.#hosts.get(host)!;
    h.resentAt = now;
    h.resentFrom = from;
    const first = this.#kept.length > 0 ? this.#kept[0].offset : this.#sent;
    if (from < first) {
      return this.#fail([host], {
        code: "EIO",
        message: `input bytes ${from}-${first - 1} were needed again, but only the last ` +
          `${this.window} bytes sent are kept (the host started or restarted too late)`,
      });
    }
    this.#cursor = Math.min(this.#cursor, from);
    if (this.#total !== null) this.#eofPending = true;
    this.#poke();
  }

  /** These hosts' input cannot be complete: closed with `error`, their processes stopped. */
  #fail(hosts: string[], error: WireError): void {
    if (hosts.length === 0) return;
    for (const host of hosts) {
      const h = this.#hosts.get(host);
      if (!h || h.closed) continue;
      h.closed = true;
      h.error = error;
      this.ctx.ended(host, h.written, error);
    }
    this.ctx.stop(hosts, error);
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => this.#wake = resolve);
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** How a process ended, in a few words. */
function how(proc: ProcInfo): string {
  if (proc.signal) return `killed by ${proc.signal}`;
  return `exit ${proc.code}`;
}

/**
 * Reads a source in pieces of at most `chunk()` bytes; null at its end. A
 * byte stream (a file's, stdin's) is read into buffers of that size, so a
 * chunk is one read, not the stream's own (smaller) pieces.
 */
function reader(
  source: InputSource,
  chunk: () => number,
): { read: () => Promise<Uint8Array | null>; cancel: () => void } {
  if (source instanceof Uint8Array) {
    let at = 0;
    return {
      read: () => {
        if (at >= source.length) return Promise.resolve(null);
        const piece = source.subarray(at, at + chunk());
        at += piece.length;
        return Promise.resolve(piece);
      },
      cancel: () => {},
    };
  }
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    // not a byte stream
  }
  if (byob !== null) {
    const r = byob;
    return {
      read: async () => {
        const { done, value } = await r.read(new Uint8Array(chunk()));
        if (done || value === undefined) return null;
        // A short read (a pipe) would keep the whole buffer alive for a few bytes.
        return value.length * 2 < value.buffer.byteLength ? value.slice() : value;
      },
      cancel: () => void r.cancel().catch(() => {}),
    };
  }
  const r = source.getReader();
  let rest: Uint8Array | null = null;
  return {
    read: async () => {
      while (rest === null || rest.length === 0) {
        const { done, value } = await r.read();
        if (done) return null;
        rest = value;
      }
      const piece: Uint8Array = rest.subarray(0, chunk());
      rest = rest.subarray(piece.length);
      return piece;
    },
    cancel: () => void r.cancel().catch(() => {}),
  };
}

/** Checks a run's `stdin` option (a library caller may pass anything). */
export function checkInputSource(x: unknown): InputSource {
  if (x instanceof ReadableStream && x.locked) {
    throw new TuttiError("EINVAL", "stdin: the stream is locked (another reader has it)");
  }
  if (x instanceof Uint8Array || x instanceof ReadableStream) return x;
  throw new TuttiError("EINVAL", "stdin: expected a Uint8Array or a ReadableStream of bytes");
}

/** Checks a run's `stdinWindow` option. */
export function checkInputWindow(x: unknown): number {
  const min = 64 * 1024;
  if (Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= INPUT_HELD_MAX) {
    return x as number;
  }
  throw new TuttiError(
    "EINVAL",
    `stdinWindow: expected a number of bytes from ${min} to ${INPUT_HELD_MAX}, got ${String(x)}`,
  );
}
