/** The watch verbs' parsers: valid requests come back typed, bad ones name their field. */
import { decodeMap, encode } from "../../protocol/codec.ts";
import {
  parseUnwatchRequest,
  parseWatchEvent,
  parseWatchRequest,
} from "../../protocol/watch_messages.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function refusal(
  m: Record<string, unknown>,
  parse: (m: Record<string, unknown>) => unknown = parseWatchRequest,
): string {
  try {
    parse(m);
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
  return "accepted";
}

Deno.test("valid watch requests", () => {
  const r = parseWatchRequest({
    v: 1,
    id: "w1",
    timeout: 30,
    condition: { kind: "port", port: 9000, address: "::1" },
  });
  assert(r.id === "w1" && r.timeout === 30, "id and timeout");
  assert(JSON.stringify(r.condition) === '{"kind":"port","port":9000,"address":"::1"}', "port");
  const f = parseWatchRequest({ v: 1, condition: { kind: "file", path: "/tmp/x" } });
  assert(f.condition.kind === "file" && f.condition.event === "exists", "event defaults to exists");
  const o = parseWatchRequest({
    v: 1,
    condition: { kind: "output", proc: "p1", pattern: "ready (\\d+)", flags: "i" },
  });
  assert(o.condition.kind === "output" && o.condition.flags === "i", "output");
  const c = parseWatchRequest({
    v: 1,
    condition: { kind: "command", shell: "curl -sf localhost:80", interval: 0.5 },
  });
  assert(c.condition.kind === "command" && c.condition.interval === 0.5, "command");
  const e = parseWatchRequest({ v: 1, condition: { kind: "exit", proc: "p-2" } });
  assert(e.condition.kind === "exit" && e.condition.proc === "p-2", "exit");
});

Deno.test("conditions on supervised programs: NAME, NAME:N, NAME:*, and state", () => {
  for (const proc of ["web", "web:0", "web:12", "web:*", "my_prog-2:*"]) {
    for (const kind of ["exit", "output"]) {
      const r = parseWatchRequest({ v: 1, condition: { kind, proc, pattern: "x" } });
      assert(r.condition.kind === kind && "proc" in r.condition && r.condition.proc === proc, proc);
    }
  }
  const s = parseWatchRequest({
    v: 1,
    condition: { kind: "state", proc: "web:*", state: "FATAL" },
  });
  assert(
    JSON.stringify(s.condition) === '{"kind":"state","proc":"web:*","state":"FATAL"}',
    JSON.stringify(s.condition),
  );
  // The outcome echoes it: the event parser takes it back.
  const ev = parseWatchEvent(decodeMap(encode({
    v: 1,
    host: "h",
    watch: "w",
    condition: s.condition,
    status: "met",
    at: 1,
    elapsed: 2,
    detail: "process web:1 entered FATAL (from BACKOFF)",
  })));
  assert(ev.condition.kind === "state" && ev.condition.state === "FATAL", "event condition");
});

Deno.test("absent optional fields are left out, so a condition echoes cleanly in CBOR", () => {
  const r = parseWatchRequest({ v: 1, condition: { kind: "port", port: 80 } });
  assert(!("address" in r.condition), "no address key");
  const back = decodeMap(encode({ v: 1, condition: r.condition }));
  assert(JSON.stringify(back.condition) === '{"kind":"port","port":80}', JSON.stringify(back));
});

Deno.test("bad watch requests name the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ v: 1 }, 'EINVAL: field "condition": expected a map, missing'],
    [{ v: 1, condition: { kind: "disk" } }, 'field "condition.kind": expected "file", "port"'],
    [{ v: 1, condition: { kind: "file" } }, 'field "condition.path": expected a string, missing'],
    [{ v: 1, condition: { kind: "file", path: "/x", event: "touched" } }, "condition.event"],
    [{ v: 1, condition: { kind: "port", port: 0 } }, 'field "condition.port"'],
    [{ v: 1, condition: { kind: "port", port: 70000 } }, 'field "condition.port"'],
    [{ v: 1, condition: { kind: "port", port: 80.5 } }, 'field "condition.port"'],
    [{ v: 1, condition: { kind: "port", port: "80" } }, 'field "condition.port"'],
    [
      { v: 1, condition: { kind: "exit", proc: "a.b" } },
      'field "condition.proc": "a.b" is not a process',
    ],
    [{ v: 1, condition: { kind: "exit", proc: "web:" } }, 'field "condition.proc"'],
    [{ v: 1, condition: { kind: "output", proc: "web:x", pattern: "a" } }, "NAME:N or NAME:*"],
    [
      { v: 1, condition: { kind: "state", proc: "web" } },
      'field "condition.state": expected a program state (STOPPED, STARTING',
    ],
    [{ v: 1, condition: { kind: "state", proc: "web", state: "running" } }, 'got "running"'],
    [
      { v: 1, condition: { kind: "state", state: "RUNNING" } },
      'field "condition.proc": expected a string, missing',
    ],
    [{ v: 1, condition: { kind: "state", proc: "*", state: "RUNNING" } }, 'field "condition.proc"'],
    [
      { v: 1, condition: { kind: "output", proc: "p", pattern: "(" } },
      'field "condition.pattern": not a regular expression',
    ],
    [{ v: 1, condition: { kind: "output", proc: "p", pattern: "x", flags: "g" } }, "flags"],
    [{ v: 1, condition: { kind: "output", proc: "p", pattern: "x", stream: "err" } }, "stream"],
    [{ v: 1, condition: { kind: "output", proc: "p", pattern: "x", from: "end" } }, "from"],
    [{ v: 1, condition: { kind: "command" } }, 'exactly one of "argv" and "shell"'],
    [{ v: 1, condition: { kind: "command", argv: ["a"], shell: "a" } }, "exactly one of"],
    [{ v: 1, condition: { kind: "command", argv: [] } }, 'field "condition.argv"'],
    [{ v: 1, condition: { kind: "command", shell: "x", interval: 0 } }, "condition.interval"],
    [{ v: 1, condition: { kind: "exit", proc: "p" }, timeout: -1 }, 'field "timeout"'],
    [{ v: 1, condition: { kind: "exit", proc: "p" }, timeout: 1e9 }, 'field "timeout"'],
    [{ v: 1, id: "a b", condition: { kind: "exit", proc: "p" } }, 'watch id "a b"'],
  ];
  for (const [m, want] of cases) {
    const got = refusal(m);
    assert(got.startsWith("EINVAL") && got.includes(want), `${JSON.stringify(m)} → ${got}`);
  }
});

Deno.test("unwatch requests", () => {
  assert(parseUnwatchRequest({ v: 1, watches: ["w1", "w2"] }).watches.length === 2, "two ids");
  assert(refusal({ v: 1, watches: [] }, parseUnwatchRequest).includes('"watches"'), "empty");
  assert(refusal({ v: 1 }, parseUnwatchRequest).includes('"watches"'), "missing");
});

Deno.test("watch events round-trip through CBOR and their parser", () => {
  const ev = {
    v: 1,
    host: "n1",
    watch: "w1",
    condition: { kind: "output", proc: "p1", pattern: "ready" },
    status: "met",
    at: 1700000000000,
    elapsed: 2013,
    detail: "process p1 printed a matching line on stdout",
    line: "ready",
  };
  const back = parseWatchEvent(decodeMap(encode(ev)));
  assert(JSON.stringify(back) === JSON.stringify(ev), JSON.stringify(back));
  assert(refusal({ ...ev, status: "done" }, parseWatchEvent).includes('"status"'), "status");
});
