/**
 * The benchmark's own `nats-server` on a free loopback port, with JetStream
 * (file storage in a temporary directory: `put` needs it) and the HTTP
 * monitoring endpoint on another free port (the transfer section reads a
 * connection's byte counts from `/connz`).
 */
import { start, type Started } from "./child.ts";
import type { Scope } from "./scope.ts";

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export class Broker {
  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    private readonly s: Started,
  ) {}

  static async start(scope: Scope): Promise<Broker> {
    const port = freePort();
    const monitorPort = freePort();
    // Registered before the server's own stop, so removed after it has exited.
    const store = await scope.tempDir("tutti-bench-js-");
    const s = start(scope, "nats-server", [
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-m",
      String(monitorPort),
      "-js",
      "-sd",
      store,
    ], { service: true });
    const broker = new Broker(port, monitorPort, s);
    scope.defer("stop nats-server", () => broker.stop());
    await s.stderr.waitFor(/Server is ready/, "nats-server", 10_000);
    return broker;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The monitoring endpoint's base, e.g. `${monitorUrl}/connz`. */
  get monitorUrl(): string {
    return `http://127.0.0.1:${this.monitorPort}`;
  }

  get pid(): number {
    return this.s.child.pid;
  }

  async stop(): Promise<void> {
    try {
      this.s.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.s.child.status;
  }
}
