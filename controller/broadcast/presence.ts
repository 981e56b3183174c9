/**
 * One presence subscription per connection (`P.presence.*`), shared by
 * the operations that listen (those that follow hosts, and `hosts`): it
 * keeps the known-hosts cache and the connection's `Liveness` up to date,
 * and hands each `hello`, `beat` and `bye` to them. The subscription starts
 * with the first listener and ends with the last: a connection with 10,000
 * agents and no operation in flight decodes no heartbeat.
 *
 * It also confirms silences. A controller that falls behind (a slow
 * terminal, a burst of output from many hosts) handles every message late,
 * heartbeats included, so "no heartbeat for 15 s" may only mean "not read
 * yet". Before a host is declared lost, `roundTrip()` sends a PING to the
 * server and waits for its PONG: the server answers it after everything it
 * had already sent this client, so once the PONG is in, every heartbeat
 * that reached the server before the PING has been handled. A host still
 * silent as of the PING's time is really silent. The controller's own
 * slowness never turns into "lost".
 */
import type { Msg, Subscription } from "@nats-io/transport-node";
import { decodeMap } from "../../protocol/codec.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { parsePresence } from "../../protocol/events.ts";
import type { Presence } from "../../protocol/messages.ts";
import type { Link } from "../connection.ts";
import type { KnownHosts } from "../known_hosts.ts";
import type { Diagnostics } from "./diagnostics.ts";
import { Liveness } from "./liveness.ts";

export type PresenceListener = (host: string, p: Presence, now: number) => void;

export class PresenceTracker {
  readonly liveness = new Liveness();
  readonly #listeners = new Set<PresenceListener>();
  #sub: Subscription | undefined;
  #roundTrip: Promise<number> | undefined;

  constructor(
    private readonly link: Link,
    private readonly known: KnownHosts,
    private readonly diagnostics: Diagnostics,
  ) {
    link.onLink((e) => e === "reconnect" && this.liveness.restart(Date.now()));
  }

  /** `fn` for every presence message from now on; returns its removal. */
  listen(fn: PresenceListener): () => void {
    this.#start();
    this.#listeners.add(fn);
    return () => {
      this.#listeners.delete(fn);
      // Nobody listens: every agent's heartbeat would still cost this client its decoding.
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  /** Anything from `host` proves it alive; a ping reply also names its period. */
  heard(host: string, now = Date.now(), periodMs?: number): void {
    this.liveness.heard(host, now, periodMs);
  }

  /** The heartbeat period to assume for `host` until it says. */
  period(host: string): number {
    return this.liveness.period(host, this.known.get(host)?.heartbeat);
  }

  /** How long `host` has been silent when that is past three periods (see Liveness.overdue). */
  overdue(host: string, now: number, since: number): number | undefined {
    return this.liveness.overdue(host, now, since, this.known.get(host)?.heartbeat);
  }

  /**
   * Resolves with the time a PING left, once its PONG is back: every message
   * the server sent this client before it has been handled by then. One
   * round trip at a time is shared by every asker; it rejects when the
   * connection is lost meanwhile (silence then proves nothing).
   */
  roundTrip(): Promise<number> {
    if (this.#roundTrip) return this.#roundTrip;
    const at = Date.now();
    const p = this.link.flush().then(() => at);
    this.#roundTrip = p;
    const clear = () => {
      if (this.#roundTrip === p) this.#roundTrip = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  #start(): void {
    if (this.#sub) return;
    this.#sub = this.link.subscribe(this.link.subjects.presence("*"), (m) => this.#onMessage(m));
  }

  #stop(): void {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
  }

  #onMessage(m: Msg): void {
    const host = this.link.subjects.parsePresence(m.subject);
    const now = Date.now();
    let p: Presence;
    try {
      if (host === null) throw new TuttiError("EBADMSG", "not a presence subject");
      p = parsePresence(decodeMap(m.data));
      if (p.host !== host) {
        throw new TuttiError("EBADMSG", `presence of "${p.host}" published as "${host}"`);
      }
    } catch (e) {
      if (!(e instanceof TuttiError)) throw e;
      const at = now;
      this.diagnostics.ignored({ op: "presence", subject: m.subject, error: e.toWire(), at });
      return;
    }
    this.known.seen(host, p, now);
    this.liveness.heard(host, now, p.heartbeat);
    for (const fn of [...this.#listeners]) fn(host, p, now);
  }
}
