/**
 * TCP listeners of this network namespace, read from `/proc/net/tcp` and
 * `/proc/net/tcp6` (Linux only), and the IP address literals a port watch may
 * name.
 *
 * The kernel lists listening sockets before all others in these files
 * (`tcp_get_idx`: the listening hash, then the established hash), so a scan
 * stops at the first line in another state: on a server with many thousands
 * of connections it reads a few lines instead of megabytes.
 */
import { TuttiError } from "../../protocol/errors.ts";
import { requireLinux } from "../telemetry/proc_file.ts";

const TCP_LISTEN = 0x0a;
const CHUNK = 16384;

/** An address as 16 bytes; IPv4 is in its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`). */
export type Ip16 = Uint8Array;

export interface Listener {
  address: Ip16;
  port: number;
}

/** Whether this machine stores a u32 least significant byte first (the /proc hex is a raw u32). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class ListenerScanner {
  private readonly buf = new Uint8Array(CHUNK);
  private readonly files = new Map<string, Deno.FsFile | null>();

  constructor(private readonly paths = ["/proc/net/tcp", "/proc/net/tcp6"]) {
    requireLinux("a port watch");
  }

  /** The first listener on `port` that `want` accepts, or null. */
  find(port: number, want: (l: Listener) => boolean): Listener | null {
    for (const path of this.paths) {
      const found = this.scan(path, port, want);
      if (found) return found;
    }
    return null;
  }

  close(): void {
    for (const f of this.files.values()) {
      try {
        f?.close();
      } catch {
        // already closed
      }
    }
    this.files.clear();
  }

  private open(path: string): Deno.FsFile | null {
    let f = this.files.get(path);
    if (f === undefined) {
      try {
        f = Deno.openSync(path, { read: true });
      } catch {
        f = null; // no IPv6 on this machine
      }
      this.files.set(path, f);
    } else if (f !== null) {
      f.seekSync(0, Deno.SeekMode.Start);
    }
    return f;
  }

  private scan(path: string, port: number, want: (l: Listener) => boolean): Listener | null {
    const file = this.open(path);
    if (file === null) return null;
    const buf = this.buf;
    let len = 0;
    let header = true;
    for (;;) {
      const n = file.readSync(buf.subarray(len));
      if (n === null || n === 0) return null;
      len += n;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0 || nl >= len) break;
        if (header) {
          header = false;
        } else {
          const l = parseLine(buf, start, nl);
          if (l === null) return null; // past the listening sockets
          if (l.port === port && want(l)) return l;
        }
        start = nl + 1;
      }
      // Keep the partial line for the next read.
      buf.copyWithin(0, start, len);
      len -= start;
      if (len === buf.length) return null; // a line longer than the buffer: not this format
    }
  }
}

/**
 * `   0: 0100007F:1F90 00000000:0000 0A ...` (tcp6: 32 hex digits of address).
 * Answers the local address and port of a LISTEN line, null for any other state.
 */
export function parseLine(b: Uint8Array, start: number, end: number): Listener | null {
  let i = b.indexOf(0x3a, start) + 1; // after "sl:"
  while (b[i] === 0x20) i++;
  const addrStart = i;
  while (i < end && b[i] !== 0x3a) i++;
  const hexLen = i - addrStart;
  if (hexLen !== 8 && hexLen !== 32) return null;
  const port = hex(b, i + 1, i + 5);
  i += 5;
  while (b[i] === 0x20) i++;
  while (i < end && b[i] !== 0x20) i++; // remote address
  while (b[i] === 0x20) i++;
  if (hex(b, i, i + 2) !== TCP_LISTEN) return null;
  const address = new Uint8Array(16);
  if (hexLen === 8) {
    address[10] = address[11] = 0xff;
    word(b, addrStart, address, 12);
  } else {
    for (let w = 0; w < 4; w++) word(b, addrStart + 8 * w, address, 4 * w);
  }
  return { address, port };
}

/** Eight hex digits printed from a raw u32 into four address bytes in network order. */
function word(b: Uint8Array, at: number, out: Uint8Array, to: number): void {
  for (let k = 0; k < 4; k++) {
    const byte = hex(b, at + 2 * k, at + 2 * k + 2);
    out[to + (LITTLE_ENDIAN ? 3 - k : k)] = byte;
  }
}

function hex(b: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = b[i];
    const d = c >= 0x30 && c <= 0x39
      ? c - 0x30
      : c >= 0x41 && c <= 0x46
      ? c - 0x37
      : c >= 0x61 && c <= 0x66
      ? c - 0x57
      : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// ---------------------------------------------------------------- addresses

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

export function isV4(a: Ip16): boolean {
  return V4_MAPPED_PREFIX.every((x, i) => a[i] === x);
}

function isZero(a: Ip16, from: number): boolean {
  for (let i = from; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

function equal(a: Ip16, b: Ip16): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Does a listener on `bound` accept connections to `want`? Yes when they are
 * equal or `bound` is its family's wildcard; `::` is taken to accept IPv4
 * too, as it does unless the socket is IPV6_V6ONLY (which /proc does not show).
 */
export function covers(bound: Ip16, want: Ip16): boolean {
  if (equal(bound, want)) return true;
  if (isV4(bound)) return isZero(bound, 12) && isV4(want);
  return isZero(bound, 0);
}

/** Parses an IPv4 or IPv6 literal (no zone, no brackets); throws EINVAL. */
export function parseIp(text: string): Ip16 {
  const out = new Uint8Array(16);
  const bad = () =>
    new TuttiError("EINVAL", `address ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  if (!text.includes(":")) {
    const v4 = parseV4(text);
    if (v4 === null) throw bad();
    out.set(V4_MAPPED_PREFIX);
    out.set(v4, 12);
    return out;
  }
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const res: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (v4 === null) return null;
        res.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        res.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return res;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) throw bad();
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) throw bad();
  const all = [...head, ...new Array(8 - total).fill(0), ...tail];
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function parseV4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

/** `127.0.0.1`, `::1`, `::`: for details. */
export function formatIp(a: Ip16): string {
  if (isV4(a)) return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(((a[2 * i] << 8) | a[2 * i + 1]).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}
