/** The benchmark's own `nats-server` on a free loopback port. */
import { start, type Started } from "./child.ts";
import type { Scope } from "./scope.ts";

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export class Broker {
  private constructor(readonly port: number, private readonly s: Started) {}

  static async start(scope: Scope): Promise<Broker> {
    const port = freePort();
    const s = start(scope, "nats-server", ["-a", "127.0.0.1", "-p", String(port)], {
      service: true,
    });
    const broker = new Broker(port, s);
    scope.defer("stop nats-server", () => broker.stop());
    await s.stderr.waitFor(/Server is ready/, "nats-server", 10_000);
    return broker;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
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
