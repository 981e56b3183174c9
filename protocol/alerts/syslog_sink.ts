/**
 * `--alert-syslog`: one RFC 3164 line per alert, as `logger` writes it, in a
 * datagram to the local syslog socket (`/dev/log`, or `--alert-syslog-socket`).
 *
 * Deno has unix datagram sockets only behind `--unstable-net`, which the
 * agent's bundle does not run with, so the socket is libc's, through FFI:
 * non-blocking (a syslog daemon that does not read costs a dropped line,
 * never a stalled agent), opened once.
 */
import { TuttiError } from "../errors.ts";
import type { Alert } from "./alert.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
/** LOG_DAEMON. */
const FACILITY = 3;
/** LOG_WARNING, for a kind without its own. */
const DEFAULT_SEVERITY = 4;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** How a program's lines look: its tag (`tutti-agent`) and each kind's severity (2 crit, ...). */
export interface SyslogStyle {
  tag: string;
  severity: Record<string, number>;
}

export class SyslogSink {
  private readonly addr: Uint8Array<ArrayBuffer>;

  private constructor(
    readonly path: string,
    private readonly style: SyslogStyle,
    private readonly libc: Deno.DynamicLibrary<typeof SYMBOLS>,
    private readonly fd: number,
  ) {
    const name = new TextEncoder().encode(path);
    // struct sockaddr_un: sa_family_t, then the path, NUL-terminated.
    this.addr = new Uint8Array(2 + name.length + 1);
    new DataView(this.addr.buffer).setUint16(0, AF_UNIX, true);
    this.addr.set(name, 2);
  }

  /** Throws ENOENT (with what to do) when `path` is not a socket. */
  static open(path: string, style: SyslogStyle): SyslogSink {
    let st: Deno.FileInfo;
    try {
      st = Deno.statSync(path);
    } catch {
      throw new TuttiError(
        "ENOENT",
        `--alert-syslog: ${path} does not exist: no syslog daemon (rsyslog, syslog-ng, ` +
          `systemd-journald) listens on this machine; start one, or give its socket with ` +
          `--alert-syslog-socket`,
      );
    }
    if (!st.isSocket) {
      throw new TuttiError("EINVAL", `--alert-syslog: ${path} is not a socket`);
    }
    if (new TextEncoder().encode(path).length > 107) {
      throw new TuttiError("EINVAL", `--alert-syslog-socket: ${path} is longer than 107 bytes`);
    }
    const libc = Deno.dlopen("libc.so.6", SYMBOLS);
    const fd = libc.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      const errno = errnoOf(libc);
      libc.close();
      throw new TuttiError("EIO", `--alert-syslog: socket() failed (errno ${errno})`);
    }
    return new SyslogSink(path, style, libc, fd);
  }

  /** Sends one line; answers the failure (errno) instead of throwing. */
  send(alert: Alert, now = new Date()): string | null {
    const line = new TextEncoder().encode(syslogLine(alert, now, this.style));
    const n = this.libc.symbols.sendto(
      this.fd,
      line,
      BigInt(line.length),
      MSG_DONTWAIT,
      this.addr,
      this.addr.length,
    );
    if (Number(n) >= 0) return null;
    return `sendto ${this.path} failed (errno ${errnoOf(this.libc)})`;
  }

  close(): void {
    this.libc.symbols.close(this.fd);
    this.libc.close();
  }
}

function errnoOf(libc: Deno.DynamicLibrary<typeof SYMBOLS>): number {
  const p = libc.symbols.__errno_location();
  return p === null ? -1 : new Deno.UnsafePointerView(p).getInt32();
}

/** `<28>Mar  1 10:00:02 tutti-agent[4100]: node-1: exited: web:0 (...) {json}` */
export function syslogLine(alert: Alert, now: Date, style: SyslogStyle): string {
  const pri = FACILITY * 8 + (style.severity[alert.kind] ?? DEFAULT_SEVERITY);
  const day = String(now.getDate()).padStart(2, " ");
  const time = [now.getHours(), now.getMinutes(), now.getSeconds()]
    .map((x) => String(x).padStart(2, "0")).join(":");
  const suppressed = alert.suppressed > 0 ? ` (${alert.suppressed} more suppressed)` : "";
  return `<${pri}>${MONTHS[now.getMonth()]} ${day} ${time} ${style.tag}[${Deno.pid}]: ` +
    `${alert.host}: ${alert.message}${suppressed} ${JSON.stringify(alert)}`;
}
