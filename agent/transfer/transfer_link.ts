/**
 * The agent's second NATS connection, for the chunks of `put` only, opened
 * when a put starts and closed a while after the last one ends.
 *
 * Why not the agent's own connection: nats-server answers a direct get in
 * the read loop of the connection that asked, and under load that takes
 * seconds per request ("Internal subscription ... took too long"). On the
 * agent's one connection, its heartbeats and answers would wait behind the
 * chunk requests, and a busy put would make its hosts look lost. On a
 * connection of its own, only the put waits.
 */
import type { Connection } from "../connection.ts";
import { log } from "../log.ts";

/** How long the connection stays open after the last put, for the next one. */
const IDLE_CLOSE_MS = 30_000;

export class TransferLink {
  #conn: Promise<Connection> | null = null;
  #users = 0;
  #idle: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly open: () => Promise<Connection>) {}

  /** The connection, opened if need be; `release()` when done with it. */
  async acquire(): Promise<Connection> {
    this.#users++;
    clearTimeout(this.#idle);
    this.#conn ??= this.open().catch((e) => {
      this.#conn = null;
      throw e;
    });
    try {
      return await this.#conn;
    } catch (e) {
      this.release();
      throw e;
    }
  }

  release(): void {
    if (--this.#users > 0) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.close(), IDLE_CLOSE_MS);
  }

  async close(): Promise<void> {
    clearTimeout(this.#idle);
    const conn = this.#conn;
    this.#conn = null;
    if (!conn) return;
    await conn.then((c) => c.close(), (e) => log(`transfer connection: ${(e as Error).message}`));
  }
}
