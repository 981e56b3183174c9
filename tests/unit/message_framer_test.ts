import assert from "node:assert/strict";
import { Kind, Parser, type ParserEvent } from "@nats-io/nats-core/internal";
import { MessageFramer, payloadSize } from "../../protocol/connection/message_framer.ts";
import { concatBytes } from "../../protocol/runtime/bytes.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** A deterministic source of numbers, so that a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** A server's byte stream: operations of every kind, and where each one ends. */
function serverStream(seed: number, count: number, big: number): {
  bytes: Uint8Array;
  ends: number[];
} {
  const rand = prng(seed);
  const parts: Uint8Array[] = [];
  const ends: number[] = [];
  let at = 0;
  const add = (...ps: Uint8Array[]) => {
    for (const p of ps) {
      parts.push(p);
      at += p.length;
    }
    ends.push(at);
  };
  for (let i = 0; i < count; i++) {
    const kind = rand(6);
    if (kind === 0) add(te.encode("PING\r\n"));
    else if (kind === 1) add(te.encode("+OK\r\n"));
    else if (kind === 2) add(te.encode(`INFO {"server_id":"${"x".repeat(rand(3000))}"}\r\n`));
    else {
      // Payloads hold what looks like protocol: only the size may tell where they end.
      const size = rand(4) === 0 ? rand(big) : rand(300);
      const payload = new Uint8Array(size);
      const fake = te.encode("\r\nMSG a 1 99999\r\nPING\r\n");
      for (let k = 0; k < size; k++) payload[k] = k % 97 < fake.length ? fake[k % 97] : rand(256);
      const reply = rand(2) ? " _INBOX.r" : "";
      if (kind === 5) {
        const hdr = te.encode("NATS/1.0\r\nK: v\r\n\r\n");
        add(
          te.encode(`HMSG s.${i} ${i}${reply} ${hdr.length} ${hdr.length + size}\r\n`),
          hdr,
          payload,
          te.encode("\r\n"),
        );
      } else {
        add(te.encode(`MSG s.${i}\t${i}${reply} ${size}\r\n`), payload, te.encode("\r\n"));
      }
    }
  }
  return { bytes: concatBytes(parts), ends };
}

/** The stream cut into reads of random sizes, each in a buffer of its own (as a socket gives). */
function reads(bytes: Uint8Array, seed: number, max: number): Uint8Array[] {
  const rand = prng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + rand(max);
    out.push(bytes.slice(i, i + n));
    i += n;
  }
  return out;
}

/** What a client's parser makes of frames: every operation, payloads as text of their bytes. */
function parsed(frames: Uint8Array[]): string[] {
  const events: string[] = [];
  const parser = new Parser({
    push(v: ParserEvent | (() => void)) {
      if (typeof v === "function") return;
      const e = v;
      if (e.kind === Kind.MSG) {
        events.push(`MSG ${td.decode(e.msg!.subject)} ${e.msg!.sid} ${e.data!.join(",")}`);
      } else events.push(`${e.kind} ${e.data ? td.decode(e.data) : ""}`);
    },
  });
  for (const f of frames) parser.parse(f);
  return events;
}

function framed(frames: Uint8Array[], framer = new MessageFramer()): Uint8Array[] {
  return frames.flatMap((f) => framer.push(f));
}

Deno.test("the same bytes in the same order, cut only where an operation ends", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { bytes, ends } = serverStream(seed, 400, 200_000);
    const out = framed(reads(bytes, seed * 7, seed % 2 ? 65536 : 300));
    assert.deepEqual(concatBytes(out), bytes, `seed ${seed}`);
    const boundaries = new Set(ends);
    let at = 0;
    for (const f of out) {
      at += f.length;
      assert.ok(boundaries.has(at), `seed ${seed}: a frame ends at ${at}, inside an operation`);
    }
  }
});

Deno.test("the client's parser sees the same operations through the framer", () => {
  for (const seed of [11, 12, 13]) {
    const { bytes } = serverStream(seed, 300, 300_000);
    const rs = reads(bytes, seed, 65536);
    assert.deepEqual(parsed(framed(rs)), parsed(rs), `seed ${seed}`);
  }
});

Deno.test("a message within one read is passed on as a view of it; one across reads is one array", () => {
  const framer = new MessageFramer();
  const first = te.encode("PING\r\nMSG a 1 3\r\nabc\r\nMSG b 2 10\r\n0123");
  const out1 = framer.push(first);
  assert.equal(out1.length, 1);
  assert.equal(out1[0].buffer, first.buffer, "no copy of what is whole");
  assert.equal(td.decode(out1[0]), "PING\r\nMSG a 1 3\r\nabc\r\n");
  assert.deepEqual(framer.push(te.encode("4567")), [], "nothing until the message is whole");
  const out2 = framer.push(te.encode("89\r\nPONG\r\n"));
  assert.deepEqual(out2.map((f) => td.decode(f)), ["MSG b 2 10\r\n0123456789\r\n", "PONG\r\n"]);
  assert.equal(out2[0].byteLength, out2[0].buffer.byteLength, "an array of exactly its size");
});

Deno.test("a control line cut by a read, even byte by byte, is joined first", () => {
  const text = 'INFO {"a":1}\r\nHMSG s 1 _R 12 15\r\nNATS/1.0\r\n\r\nxyz\r\n+OK\r\n';
  const bytes = te.encode(text);
  const out = framed([...bytes].map((b) => Uint8Array.of(b)));
  assert.deepEqual(out.map((f) => td.decode(f)), [
    'INFO {"a":1}\r\n',
    "HMSG s 1 _R 12 15\r\nNATS/1.0\r\n\r\nxyz\r\n",
    "+OK\r\n",
  ]);
});

Deno.test("a message over the limit, and a line over the limit, pass on as they come", () => {
  const framer = new MessageFramer(16, 8);
  const out = framed([
    te.encode("MSG a 1 20\r\n0123456789"),
    te.encode("0123456789\r\nPI"),
    te.encode("NG\r\n"),
  ], framer);
  assert.deepEqual(out.map((f) => td.decode(f)), [
    "MSG a 1 20\r\n0123456789",
    "0123456789\r\n",
    "PING\r\n",
  ]);
  const long = framed(
    [te.encode("-ERR 'a long"), te.encode(" reason'\r\n")],
    new MessageFramer(16, 8),
  );
  assert.equal(td.decode(concatBytes(long)), "-ERR 'a long reason'\r\n");
});

Deno.test("payload sizes: the last word of MSG and HMSG lines only", () => {
  const size = (line: string) => {
    const b = te.encode(line);
    return payloadSize(b, 0, b.length - 1);
  };
  assert.equal(size("MSG a 1 42\r\n"), 42);
  assert.equal(size("msg a 1 _INBOX.x 0\r\n"), 0);
  assert.equal(size("HMSG a 1 12 1048588\r\n"), 1048588);
  assert.equal(size("MSG a 1 42\n"), 42);
  assert.equal(size("PING\r\n"), -1);
  assert.equal(size("MSGX a 1 42\r\n"), -1);
  assert.equal(size("MSG a 1 4x2\r\n"), -1);
  assert.equal(size("MSG a1\r\n"), -1);
  assert.equal(size("MSG 5\r\n"), -1);
  assert.equal(size("MSG a 1 \r\n"), -1);
});
