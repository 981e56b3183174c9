/**
 * A userspace TCP proxy that degrades one link for a test: a client (an
 * agent, a controller) connects to `proxy.url` instead of the broker, and the
 * test then delays, throttles, stalls or cuts what goes through, and heals it.
 *
 * - `delay(ms)`: every byte is forwarded `ms` after it was read, in each
 *   direction (a round trip costs 2 × ms); bytes keep flowing meanwhile, as
 *   on a long link.
 * - `throttle(bytesPerSecond)`: each direction carries at most that rate.
 * - `stall()`: nothing is forwarded any more and nothing is closed, on every
 *   connection, present and new: a partition. As on a real one, TCP's
 *   retransmissions hide nothing from the peers because nothing arrives; the
 *   proxy stops reading too, so each sender's socket buffers fill and its
 *   writes block as they would with no ACKs coming back. A close (FIN) sent
 *   meanwhile is held like the data before it. New connections are accepted
 *   by the kernel but carry nothing, like a SYN that gets no answer.
 * - `cut()`: every connection is closed on both sides and new ones are
 *   refused (ECONNREFUSED) until `heal()`.
 * - `heal()`: back to normal (a delay or throttle set stays until set to 0);
 *   everything held by a stall is delivered, in order, and a held close with it.
 *
 * The proxy never reads more than `MAX_QUEUED` bytes ahead of what it has
 * written, so it adds no unbounded buffer of its own to the link.
 */

const CHUNK = 16 * 1024;
/** Bytes a direction may hold (read, not yet written) before it stops reading. */
const MAX_QUEUED = 256 * 1024;

interface Queued {
  data: Uint8Array;
  /** When it was read (ms, performance.now()). */
  at: number;
}

/** Resolves when `poke()` is called, or after `ms` when given. */
class Waker {
  #resolve: (() => void) | undefined;

  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.poke(), ms);
      this.#resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  poke(): void {
    const r = this.#resolve;
    this.#resolve = undefined;
    r?.();
  }
}

/** One direction of one connection: reads `from`, writes `to`. */
class Pipe {
  readonly #queue: Queued[] = [];
  #queued = 0;
  #ended = false;
  /** The writer waits for data, its time, or a heal; the reader for room in the queue. */
  readonly #writer = new Waker();
  readonly #reader = new Waker();
  /** For the throttle: when the bytes written so far may all have gone out. */
  #nextFree = 0;

  constructor(
    private readonly proxy: TcpProxy,
    private readonly from: Deno.Conn,
    private readonly to: Deno.Conn,
    done: () => void,
  ) {
    this.#read().catch(() => {}).finally(() => {
      this.#ended = true;
      this.#writer.poke();
    });
    this.#write().catch(() => {}).finally(() => {
      this.#ended = true;
      this.#reader.poke();
      done();
    });
  }

  async #read(): Promise<void> {
    while (!this.#ended) {
      await this.proxy.open();
      if (this.#queued >= MAX_QUEUED) {
        await this.#reader.wait();
        continue;
      }
      const buf = new Uint8Array(CHUNK);
      const n = await this.from.read(buf);
      if (n === null) return;
      this.#queue.push({ data: buf.subarray(0, n), at: performance.now() });
      this.#queued += n;
      this.#writer.poke();
    }
  }

  async #write(): Promise<void> {
    for (;;) {
      // Checked before every write: once stalled, nothing more goes out.
      await this.proxy.open();
      const next = this.#queue[0];
      if (!next) {
        if (this.#ended) return;
        await this.#writer.wait();
        continue;
      }
      const now = performance.now();
      const due = Math.max(next.at + this.proxy.delayMs, this.#nextFree);
      if (due > now) {
        await this.#writer.wait(due - now);
        continue;
      }
      // Throttled: a slice of 1/50 s worth now, the rest when its time comes.
      const rate = this.proxy.bytesPerSecond;
      const size = rate > 0 ? Math.max(1, Math.floor(rate / 50)) : next.data.length;
      const part = next.data.subarray(0, size);
      if (part.length === next.data.length) this.#queue.shift();
      else next.data = next.data.subarray(part.length);
      await writeAll(this.to, part);
      this.#queued -= part.length;
      if (rate > 0) this.#nextFree = Math.max(this.#nextFree, now) + (part.length / rate) * 1000;
      this.#reader.poke();
    }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

export class TcpProxy {
  delayMs = 0;
  bytesPerSecond = 0;
  #listener: Deno.Listener | undefined;
  #stalled: PromiseWithResolvers<void> | undefined;
  #cut = false;
  #closed = false;
  readonly #conns = new Set<Deno.Conn>();
  /** Connections accepted so far (each client connection counts once). */
  accepted = 0;

  private constructor(readonly port: number, readonly target: Deno.ConnectOptions) {}

  /** A proxy on a free loopback port to `target` (a `nats://host:port` URL or host and port). */
  static start(target: string | Deno.ConnectOptions): TcpProxy {
    const to = typeof target === "string"
      ? { hostname: new URL(target).hostname, port: Number(new URL(target).port) }
      : target;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const proxy = new TcpProxy((listener.addr as Deno.NetAddr).port, to);
    proxy.#serve(listener);
    return proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Resolves at once on a healthy link; while stalled, at `heal()`. */
  open(): Promise<void> {
    return this.#stalled?.promise ?? Promise.resolve();
  }

  delay(ms: number): void {
    this.delayMs = ms;
  }

  /** At most `bytesPerSecond` in each direction; 0 lifts the limit. */
  throttle(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** A partition: nothing forwarded, nothing closed (see the module comment). */
  stall(): void {
    this.#stalled ??= Promise.withResolvers<void>();
  }

  /** Every connection closed, new ones refused. */
  cut(): void {
    this.#cut = true;
    this.#listener?.close();
    this.#listener = undefined;
    for (const c of this.#conns) closeQuietly(c);
    this.#conns.clear();
  }

  heal(): void {
    const stalled = this.#stalled;
    this.#stalled = undefined;
    stalled?.resolve();
    if (this.#cut && !this.#closed) {
      this.#cut = false;
      this.#serve(Deno.listen({ hostname: "127.0.0.1", port: this.port }));
    }
  }

  close(): void {
    this.#closed = true;
    this.heal();
    this.cut();
  }

  async #serve(listener: Deno.Listener): Promise<void> {
    this.#listener = listener;
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return; // closed by cut() or close()
      }
      this.accepted++;
      this.#link(client).catch(() => closeQuietly(client));
    }
  }

  async #link(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    // Made during a stall, the connection reaches the server only once healed (a SYN that
    // gets no answer until then).
    await this.open();
    let server: Deno.Conn;
    try {
      server = await Deno.connect(this.target);
    } catch {
      this.#conns.delete(client);
      closeQuietly(client);
      return;
    }
    if (!this.#conns.has(client)) {
      // Cut while connecting.
      closeQuietly(server);
      return;
    }
    this.#conns.add(server);
    // When either direction ends (after writing what it held), both sides close: NATS has no
    // use for a half-closed connection.
    const end = () => {
      for (const c of [client, server]) {
        this.#conns.delete(c);
        closeQuietly(c);
      }
    };
    new Pipe(this, client, server, end);
    new Pipe(this, server, client, end);
  }
}
