/**
 * A TCP port is listening. Read from `/proc/net/tcp` and `tcp6`, never by
 * connecting: a connection would be seen by the application (an accept, a
 * log line, a counted client, a half-read request) and the point of a
 * readiness check is not to disturb what it checks.
 *
 * This is the one watch that polls: `/proc` files are generated on read and
 * produce no inotify events, and Linux offers no other notification of a new
 * listening socket short of netlink sock_diag or eBPF, which Deno cannot
 * reach. A scan costs a few microseconds (the listeners come first in the
 * file), so 200 ms between scans is cheap and far below the time a server
 * takes to start.
 */
import type { PortCondition } from "../../protocol/watch_messages.ts";
import { covers, formatIp, type Listener, ListenerScanner, parseIp } from "./tcp_listeners.ts";
import { BaseWatch, seconds } from "./watch.ts";

export const PORT_POLL_MS = 200;

export class PortWatch extends BaseWatch {
  private readonly want: ((l: Listener) => boolean) | null;
  /** Opens its files on the first scan; created here so that a non-Linux agent refuses the request. */
  private readonly scanner = new ListenerScanner();

  constructor(readonly port: PortCondition, timeoutMs: number, readonly pollMs = PORT_POLL_MS) {
    super(port, timeoutMs);
    // Parsed here so that a bad address is an EINVAL answer to the request, not a failed watch.
    const want = port.address === undefined ? null : parseIp(port.address);
    this.want = want === null ? null : (l) => covers(l.address, want);
  }

  protected async run(): Promise<void> {
    const scanner = this.scanner;
    this.hold(() => scanner.close());
    const any = () => true;
    while (!this.done) {
      const l = scanner.find(this.port.port, this.want ?? any);
      if (l !== null) {
        const addr = formatIp(l.address);
        const shown = addr.includes(":") ? `[${addr}]` : addr;
        return this.finish("met", `${shown}:${l.port} is listening`);
      }
      await this.sleep(this.pollMs);
    }
  }

  protected timeoutDetail(): string {
    const at = this.port.address === undefined ? "" : ` on ${this.port.address}`;
    return `nothing listened on port ${this.port.port}${at} within ${seconds(this.timeoutMs)}`;
  }
}
