/**
 * Messages a peer sent that the controller could not use: a body that does
 * not decode or parse (EBADMSG, EPROTO), or an answer from a host the
 * operation is not about. The guard policy (broadcast.ts) is that such a
 * message is never fatal and never silent: it is counted on its operation
 * (`ignored`), handed to every listener here (the CLI prints them with
 * `--json` as `{"type":"ignored",...}` lines, and on stderr with
 * `--verbose`), and summed up at the end of a CLI command.
 */
import type { WireError } from "../../protocol/errors.ts";

export interface IgnoredMessage {
  /** The operation's verb (`run`, `watch`, `ping`, `presence`, ...). */
  op: string;
  subject: string;
  /** The host it came from, when the subject or the body says. */
  host?: string;
  error: WireError;
  /** ms since the epoch */
  at: number;
}

export class Diagnostics {
  readonly #listeners = new Set<(m: IgnoredMessage) => void>();
  #count = 0;
  #first: IgnoredMessage | undefined;

  /** How many messages were ignored on this connection. */
  get count(): number {
    return this.#count;
  }

  /** The first of them, for a summary line. */
  get first(): IgnoredMessage | undefined {
    return this.#first;
  }

  ignored(m: IgnoredMessage): void {
    this.#count++;
    this.#first ??= m;
    for (const fn of [...this.#listeners]) fn(m);
  }

  /** `fn` for every ignored message; returns its removal. */
  onIgnored(fn: (m: IgnoredMessage) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}
