/**
 * One JSON object per line and per event, for scripts:
 *
 *   {"type":"started","host":"t-1","id":"r1","pid":4242,"existing":false}
 *   {"type":"output","host":"t-1","stream":"stdout","offset":0,"text":"hello\n"}
 *   {"type":"input","host":"t-1","written":1048576}            (a run with --stdin)
 *   {"type":"exit","host":"t-1","code":0,"signal":null,"timedOut":false}
 *   {"type":"error","host":"t-4","error":{"code":"ENORESPONSE","message":"..."}}
 *   {"type":"summary","id":"r1","ok":false,"hosts":[{"host":"t-1","status":"ok","code":0},...]}
 *
 * A run at an instant (`--at`, `--sync`) first says each host's instant and
 * clock, then that the host holds the run for it:
 *
 *   {"type":"scheduled","host":"t-1","at":1796456505000,"offset":0.02,"bound":0.3,"delay":0.6}
 *   {"type":"held","host":"t-1"}
 *
 * and adds `sync` to `started`, to each host of the summary
 * (`{at, start, late, bound}`, ms) and to the summary (`{at, started, skew,
 * earliest, latest, bound}`).
 *
 * Output text is decoded as UTF-8 per host and stream, so a character split
 * between two chunks is whole in one of them. An output event of more than
 * TEXT_BYTES is written as several objects of at most that much (with their
 * offsets): small strings are young garbage, collected at once, where one
 * string per 256 KiB message would wait for a full collection. Lines go out
 * as the live view's do, in one write per burst of events.
 */
import type { ProcInfo } from "../../protocol/messages.ts";
import type { RunEvent, RunSummary } from "../mod.ts";
import type { Out } from "./out.ts";
import { OutBuffer } from "./prefixed_lines.ts";
import type { RunView } from "./view.ts";

/** The most output bytes one object carries. */
export const TEXT_BYTES = 64 * 1024;
/** A buffer this full is written at once. */
const WRITE_BYTES = 1024 * 1024;

export class JsonView implements RunView {
  readonly #decoders = new Map<string, TextDecoder>();
  readonly #buf = new OutBuffer();
  readonly #encoder = new TextEncoder();

  constructor(private readonly out: Out) {}

  event(e: RunEvent): void {
    if (e.type === "output" && e.data.length > TEXT_BYTES) {
      for (let at = 0; at < e.data.length; at += TEXT_BYTES) {
        const data = e.data.subarray(at, at + TEXT_BYTES);
        this.#line(jsonOf({ ...e, offset: e.offset + at, data }, this.#decoders));
      }
    } else {
      this.#line(jsonOf(e, this.#decoders));
    }
    if (this.#buf.length >= WRITE_BYTES) this.flush();
  }

  /** The end of a burst of events: their lines go out. */
  flush(): void {
    if (this.#buf.length > 0) this.out.stdout(this.#buf.take());
  }

  end(s: RunSummary): void {
    const hosts = s.hosts.map((o) => ({
      host: o.host,
      status: o.status,
      ...(o.proc ? exitFields(o.proc) : {}),
      ...(o.error ? { error: o.error } : {}),
      ...(o.sync ? { sync: o.sync } : {}),
    }));
    this.#line({ type: "summary", id: s.id, ok: s.ok, hosts, ...(s.sync && { sync: s.sync }) });
    this.flush();
  }

  #line(x: unknown): void {
    const text = JSON.stringify(x);
    // At most 3 bytes of UTF-8 per UTF-16 unit, and the newline.
    const buf = this.#buf.room(text.length * 3 + 1);
    const { written } = this.#encoder.encodeInto(text, buf.subarray(this.#buf.length));
    buf[this.#buf.length + written] = 0x0a;
    this.#buf.length += written + 1;
  }
}

function exitFields(p: ProcInfo) {
  return { pid: p.pid, code: p.code, signal: p.signal, timedOut: p.timedOut };
}

export function jsonOf(e: RunEvent, decoders: Map<string, TextDecoder>): Record<string, unknown> {
  switch (e.type) {
    case "started":
      return {
        type: e.type,
        host: e.host,
        id: e.proc.id,
        pid: e.proc.pid,
        existing: e.existing,
        started: e.proc.started,
        ...(e.sync && { sync: e.sync }),
      };
    case "scheduled":
    case "held":
      return { ...e };
    case "output": {
      const k = `${e.stream}\0${e.host}`;
      let d = decoders.get(k);
      if (!d) decoders.set(k, d = new TextDecoder());
      return {
        type: e.type,
        host: e.host,
        stream: e.stream,
        offset: e.offset,
        text: d.decode(e.data, { stream: true }),
        ...(e.recovered ? { recovered: true } : {}),
      };
    }
    case "missing":
      return { ...e };
    case "exit":
      return {
        type: e.type,
        host: e.host,
        ...exitFields(e.proc),
        ended: e.proc.ended,
        stdout: e.proc.stdout,
        stderr: e.proc.stderr,
      };
    case "input":
      return { ...e };
    case "error":
      return { type: e.type, host: e.host, error: e.error };
  }
}
