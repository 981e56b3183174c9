/**
 * Presence on `P.presence.<host>`: `hello` on every (re)connection, `beat`
 * every heartbeat period, `bye` on a clean stop. One timer, and a tick
 * re-sends the previous beat's bytes unless the running count changed: the
 * idle agent must stay at ~0 CPU.
 */
import type { MsgHdrs } from "@nats-io/transport-node";
import { encode, PROTOCOL_VERSION } from "../protocol/codec.ts";
import type { PresenceType } from "../protocol/messages.ts";
import { setLongInterval } from "../protocol/runtime/timers.ts";
import type { Subjects } from "../protocol/subjects.ts";
import type { Identity } from "./identity.ts";
import type { Outbox } from "./outbox.ts";

export class Presence {
  private stopTimer: (() => void) | undefined;
  private beat: { running: number; data: Uint8Array; headers: MsgHdrs } | undefined;
  private readonly subject: string;

  constructor(
    private readonly outbox: Outbox,
    subjects: Subjects,
    private readonly identity: Identity,
    private readonly running: () => number,
  ) {
    this.subject = subjects.presence(identity.name);
  }

  /** Says hello and starts beating. Called on connect and on every reconnect. */
  hello(): void {
    this.send("hello");
    this.startBeats();
  }

  /** Stops beating and says bye. */
  bye(): void {
    this.stopBeats();
    this.send("bye");
  }

  /** While disconnected, beats would only be discarded by the client on reconnect. */
  pause(): void {
    this.stopBeats();
  }

  private startBeats(): void {
    this.stopBeats();
    if (this.identity.heartbeatMs <= 0) return;
    this.stopTimer = setLongInterval(() => this.send("beat"), this.identity.heartbeatMs);
  }

  private stopBeats(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  private send(type: PresenceType): void {
    const running = this.running();
    if (type === "beat" && this.beat?.running === running) {
      // Nothing changed since the last beat: send the same bytes, allocate nothing.
      this.outbox.conn.publish(this.subject, this.beat.data, this.beat.headers);
      return;
    }
    const body = {
      v: PROTOCOL_VERSION,
      type,
      host: this.identity.name,
      ...this.identity.ping(running),
    };
    const data = encode(body);
    const headers = this.outbox.headers(type, "cbor");
    if (type === "beat") this.beat = { running, data, headers };
    this.outbox.conn.publish(this.subject, data, headers);
  }
}
