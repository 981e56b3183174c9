/**
 * The events of one process on `P.proc.<host>.<id>.<event>`, numbered by
 * `Tutti-Seq`: `started` is 0 and every later event (output chunk, dropped,
 * input, exit) takes the next number, so a consumer can tell it missed something.
 */
import type { InputProgress } from "../protocol/input_messages.ts";
import type { DroppedEvent, ProcInfo, StreamName } from "../protocol/messages.ts";
import { H } from "../protocol/headers.ts";
import type { Subjects } from "../protocol/subjects.ts";
import type { Outbox } from "./outbox.ts";

export class ProcEvents {
  private readonly base: string;

  /** `seq`: the next event's number (0 for a new process; an adopted one carries on). */
  constructor(
    private readonly outbox: Outbox,
    subjects: Subjects,
    private readonly id: string,
    private seq = 0,
    /** Called after every event is published (the agent notes its number with the keeper). */
    private readonly afterEach: () => void = () => {},
  ) {
    // proc(host, id, "*") ends in ".*": keep everything up to the last dot.
    const s = subjects.proc(outbox.host, id, "*");
    this.base = s.slice(0, s.length - 1);
  }

  /** The number of the last event published (-1: none yet). */
  get lastSeq(): number {
    return this.seq - 1;
  }

  started(info: ProcInfo): void {
    this.outbox.cbor(this.base + "started", "started", info, this.extra());
    this.afterEach();
  }

  output(stream: StreamName, offset: number, data: Uint8Array): void {
    const extra = this.extra();
    extra[H.stream] = stream;
    extra[H.offset] = offset;
    this.outbox.raw(this.base + stream, stream, data, extra);
    this.afterEach();
  }

  dropped(body: Omit<DroppedEvent, "v">): void {
    const extra = this.extra();
    extra[H.stream] = body.stream;
    this.outbox.cbor(this.base + "dropped", "dropped", body, extra);
    this.afterEach();
  }

  /** How far the process's input got (a run started with `stdin`). */
  input(body: Omit<InputProgress, "v">): void {
    this.outbox.cbor(this.base + "input", "input", body, this.extra());
    this.afterEach();
  }

  exit(info: ProcInfo): void {
    this.outbox.cbor(this.base + "exit", "exit", info, this.extra());
    this.afterEach();
  }

  private extra(): Record<string, string | number> {
    return { [H.proc]: this.id, [H.seq]: this.seq++ };
  }
}
