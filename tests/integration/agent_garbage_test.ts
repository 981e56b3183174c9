/**
 * Input is never trusted: every kind of bad message on the agent's command
 * subjects gets the right error code, and the agent keeps serving.
 */
import assert from "node:assert/strict";
import { encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import { ask, exists, requestBytes, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("garbage on the command subjects gets precise error replies", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1", { args: ["--max-payload", "4096"] });
    const s = world.subjects;
    const v = PROTOCOL_VERSION;
    const ok = encode({ v, argv: ["true"] });
    const cases: [string, string, Uint8Array, string, RegExp?][] = [
      [
        "random bytes",
        s.host("a1", "run"),
        new Uint8Array([0xff, 0x00, 0x13, 0x37, 0xc1]),
        "EBADMSG",
      ],
      ["empty payload", s.host("a1", "ping"), new Uint8Array(0), "EBADMSG"],
      ["truncated map", s.host("a1", "run"), ok.subarray(0, ok.length - 3), "EBADMSG"],
      ["CBOR array", s.host("a1", "ping"), encode([1, 2, 3]), "EBADMSG", /array/],
      ["CBOR string", s.host("a1", "ping"), encode("ping"), "EBADMSG", /string/],
      ["CBOR null", s.host("a1", "ping"), encode(null), "EBADMSG"],
      ["JSON text", s.host("a1", "ping"), new TextEncoder().encode('{"v":1}'), "EBADMSG"],
      ["tagged date", s.host("a1", "ping"), encode(new Date(0)), "EBADMSG"],
      ["byte string", s.host("a1", "ping"), encode(new Uint8Array([1, 2])), "EBADMSG"],
      ["deep nesting", s.host("a1", "ping"), deep(4000), "EBADMSG"],
      // {v: 2^64-1}: a 64-bit integer decodes to a BigInt.
      ["v as a 64-bit integer", s.host("a1", "ping"), bigV(), "EPROTO"],
      ["map without v", s.host("a1", "ping"), encode({ argv: ["true"] }), "EPROTO"],
      ["wrong v", s.host("a1", "ping"), encode({ v: 2 }), "EPROTO", /version 2/],
      ["v as a string", s.host("a1", "ping"), encode({ v: "1" }), "EPROTO"],
      ["unknown verb", s.host("a1", "frobnicate"), encode({ v }), "ENOSYS", /frobnicate/],
      ["prototype name as verb", s.host("a1", "constructor"), encode({ v }), "ENOSYS"],
      ["__proto__ as verb", s.host("a1", "__proto__"), encode({ v }), "ENOSYS"],
      ["run without argv", s.host("a1", "run"), encode({ v }), "EINVAL", /argv/],
      ["argv not a list", s.host("a1", "run"), encode({ v, argv: "ls -l" }), "EINVAL", /argv/],
      ["argv of numbers", s.host("a1", "run"), encode({ v, argv: [1, 2] }), "EINVAL", /argv/],
      ["argv and shell", s.host("a1", "run"), encode({ v, argv: ["x"], shell: "x" }), "EINVAL"],
      ["bad id", s.host("a1", "run"), encode({ v, id: "a.b", argv: ["true"] }), "EINVAL", /a\.b/],
      [
        "env not a map",
        s.host("a1", "run"),
        encode({ v, argv: ["true"], env: ["A=1"] }),
        "EINVAL",
        /env/,
      ],
      [
        "negative timeout",
        s.host("a1", "run"),
        encode({ v, argv: ["true"], timeout: -1 }),
        "EINVAL",
        /timeout/,
      ],
      ["signal without procs", s.host("a1", "signal"), encode({ v }), "EINVAL", /procs/],
      ["logs without proc", s.host("a1", "logs"), encode({ v }), "EINVAL", /proc/],
      [
        "logs bad stream",
        s.host("a1", "logs"),
        encode({ v, proc: "x", stream: "stdin" }),
        "EINVAL",
        /stream/,
      ],
      ["ps procs not a list", s.host("a1", "ps"), encode({ v, procs: "x" }), "EINVAL", /procs/],
      [
        "oversize payload",
        s.host("a1", "run"),
        encode({ v, argv: ["true", "x".repeat(8000)] }),
        "EMSGSIZE",
        /4096/,
      ],
      ["garbage broadcast", s.all("ping"), new Uint8Array([0x9f, 0x01]), "EBADMSG"],
      [
        "broadcast with a bad target type",
        s.all("ping"),
        encode({ v, target: 5 }),
        "EINVAL",
        /target/,
      ],
      // Values JSON.stringify refuses, quoted in a watch error message (found by fuzzing).
      [
        "watch condition as a 64-bit integer",
        s.host("a1", "watch"),
        encode({ v, condition: 2n ** 64n - 1n }),
        "EINVAL",
        /condition.*18446744073709551615/,
      ],
      ["watch kind as a cyclic map", s.host("a1", "watch"), cyclicKind(), "EINVAL", /kind/],
      // A typed array whose length is not a multiple of its element size, shifted by 0-7 bytes in
      // the payload so that one of them is 8-byte aligned in the agent's read buffer: refused at
      // every offset (it used to be decoded, as a truncated view, where it was aligned).
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((k): [string, string, Uint8Array, string] => [
        `odd-length Float64Array at offset ${k}`,
        s.host("a1", "ping"),
        oddTypedArray(k),
        "EBADMSG",
      ]),
    ];
    for (const [what, subject, payload, code, message] of cases) {
      const r = await requestBytes(world, subject, payload);
      assert.equal(r.body.ok, false, what);
      assert.equal(r.body.v, PROTOCOL_VERSION, what);
      assert.equal(r.body.host, "a1", what);
      const error = r.body.error as { code: string; message: string };
      assert.equal(error.code, code, `${what}: ${error.message}`);
      assert.equal(r.headers["Tutti-Error"], code, what);
      assert.equal(r.headers["Tutti-Host"], "a1", what);
      if (message) assert.match(error.message, message, what);
    }
    const ping = await ask(world, "a1", "ping");
    assert.equal(ping.body.ok, true);
  } finally {
    await world.close();
  }
});

Deno.test(
  "bad messages without a reply subject are logged, rate-limited, and harmless",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("a1");
      for (let i = 0; i < 200; i++) {
        world.nc.publish(
          world.subjects.host("a1", "run"),
          crypto.getRandomValues(new Uint8Array(64)),
        );
      }
      const ping = await ask(world, "a1", "ping");
      assert.equal(ping.body.ok, true);
      const lines = () =>
        agent.output.join("").split("\n").filter((l) => l.includes("no reply subject"));
      await until("a log line about the unanswerable messages", () => lines().length > 0);
      assert.ok(lines().length <= 2, `rate-limited, got ${lines().length} lines`);
      assert.equal((await ask(world, "a1", "ps")).body.ok, true);
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "a request whose reply subject would not carry the agent's name is neither answered nor acted on",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("a1");
      const s = world.subjects;
      const seen: string[] = [];
      const sub = world.nc.subscribe(">", {
        callback: (_e, m) => {
          seen.push(m.subject);
        },
      });
      await world.nc.flush();
      const marker = `${world.dir}/ran`;
      const elsewhere = [
        "_INBOX.abc.def", // a plain NATS request (nc.request, nats req)
        s.replyTo("abc", "run") + ".a2", // another host's answer
        s.replyTo("abc", "*"),
        `${s.prefix}.reply.abc`,
        "other.reply.abc.run",
      ];
      for (const [i, reply] of elsewhere.entries()) {
        const run = encode({ v: PROTOCOL_VERSION, id: `r${i}`, shell: `touch ${marker}-${i}` });
        world.nc.publish(s.host("a1", "run"), run, { reply });
      }
      // In order: once this is answered, the agent has handled those.
      const ps = await ask(world, "a1", "ps", { all: true });
      assert.deepEqual(ps.body.procs, [], "nothing ran");
      for (const i of elsewhere.keys()) assert.equal(exists(`${marker}-${i}`), false);
      await world.nc.flush();
      sub.unsubscribe();
      const published = seen.filter((x) => !x.startsWith(`${s.prefix}.host.`));
      assert.deepEqual(
        published.filter((x) => !x.startsWith(`${s.prefix}.presence.`)),
        [ps.subject],
        "nothing but the answer to ps",
      );
      assert.match(ps.subject, /^tutti\.reply\.\w+\.req\.a1$/);
      await until(
        "a log line about them",
        () => agent.output.join("").includes(`its reply subject "_INBOX.abc.def" is not`),
      );
    } finally {
      await world.close();
    }
  },
);

/** `[[[[...1...]]]]` nested `depth` times. */
function deep(depth: number): Uint8Array {
  const b = new Uint8Array(depth + 1).fill(0x81);
  b[depth] = 0x01;
  return b;
}

function bigV(): Uint8Array {
  return new Uint8Array([0xa1, 0x61, 0x76, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

/** `{v: 1, condition: {kind: <a map that contains itself>}}`, with cbor-x's shared-reference tags. */
function cyclicKind(): Uint8Array {
  const t = (s: string) => [0x60 + s.length, ...new TextEncoder().encode(s)];
  const self = [0xd8, 28, 0xa1, ...t("a"), 0xd8, 29, 0x00];
  return new Uint8Array([0xa2, ...t("v"), 0x01, ...t("condition"), 0xa1, ...t("kind"), ...self]);
}

/** `{v: 1, pad: "x" * k, f: <tag 86 (Float64Array) over 22 bytes>}`: the bytes start at offset k + 14. */
function oddTypedArray(k: number): Uint8Array {
  const t = (s: string) => [0x60 + s.length, ...new TextEncoder().encode(s)];
  return new Uint8Array([
    0xa3,
    ...t("v"),
    0x01,
    ...t("pad"),
    ...t("x".repeat(k)),
    ...t("f"),
    0xd8,
    86,
    0x56,
    ...new Uint8Array(22),
  ]);
}
