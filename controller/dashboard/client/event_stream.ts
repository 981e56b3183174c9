/// <reference lib="dom" />
/**
 * The page's one connection to the controller: an EventSource on `/events`
 * (server.ts), which brings a snapshot and then every change, and
 * reconnects by itself (the server asks for a retry after one second).
 */
import type { PageEvents } from "../page_messages.ts";

export class EventStream {
  readonly #source = new EventSource("/events");

  /** Calls `fn` with each event named `name`, decoded. */
  on<E extends keyof PageEvents>(name: E, fn: (data: PageEvents[E]) => void): void {
    this.#source.addEventListener(name, (ev) => fn(JSON.parse((ev as MessageEvent).data)));
  }

  /** Calls `fn` with true when the stream is open, false when it is lost (it reconnects). */
  onState(fn: (live: boolean) => void): void {
    this.#source.onopen = () => fn(true);
    this.#source.onerror = () => fn(false);
  }
}
