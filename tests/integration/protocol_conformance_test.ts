/**
 * What a real agent sends, read back with protocol/'s parsers: every reply of
 * every verb and every event it publishes parses, and every number that is
 * not one of the documented fractional fields (PROTOCOL.md, Numbers) is a
 * CBOR integer on the wire, never a float64.
 */
import assert from "node:assert/strict";
import { type Msg, nuid } from "@nats-io/transport-node";
import { decodeMap, encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import {
  parseDroppedEvent,
  parsePresence,
  parseProcInfo,
  parseProgramLogBody,
} from "../../protocol/events.ts";
import { H } from "../../protocol/headers.ts";
import {
  isProgramsAccepted,
  parseFollowReply,
  parseInputReply,
  parseLogsReply,
  parsePingReply,
  parseProgramsReply,
  parsePsReply,
  parseReply,
  parseRunReply,
  parseShutdownReply,
  parseSignalReply,
  parseTailReply,
  parseUnwatchReply,
  parseWatchReply,
  throwIfFailed,
} from "../../protocol/replies.ts";
import { parseMachineTelemetry, parseProcsTelemetry } from "../../protocol/telemetry_messages.ts";
import { parseWatchEvent } from "../../protocol/watch_messages.ts";
import { requestBytes, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Fields documented as numbers that may have a fraction; every other number must be an integer. */
const FRACTIONAL =
  /^(cpu(\.[a-z]+|\.cores\[\d+\])?|load\[\d\]|uptime|procs\[\d+\]\.cpu|processes\[\d+\]\.uptime)$/;

Deno.test(
  "a real agent's replies and events parse, with integers as CBOR integers",
  opts,
  async () => {
    const world = await World.create();
    const seen: Msg[] = [];
    const floats: string[] = [];
    const check = (m: Msg, what: string) => {
      for (const path of floatPaths(m.data)) {
        if (!FRACTIONAL.test(path)) {
          floats.push(`${what}: ${path}`);
        }
      }
    };
    try {
      const sub = world.nc.subscribe(`${world.prefix}.>`, {
        callback: (_e, m) => {
          seen.push(m);
        },
      });
      await world.nc.flush();
      await world.agent("c1", { args: ["--heartbeat", "200ms", "--telemetry", "100ms"] });
      const s = world.subjects;

      const ask = async <T>(
        verb: string,
        body: object,
        parse: (f: Record<string, unknown>) => T,
      ) => {
        const r = await requestBytes(
          world,
          s.host("c1", verb),
          encode({ v: PROTOCOL_VERSION, ...body }),
        );
        return parseReply(r.body, parse);
      };

      throwIfFailed(await ask("ping", {}, parsePingReply));
      const run = throwIfFailed(
        await ask("run", {
          id: "r1",
          shell: "echo out; echo err >&2; sleep 0.3; exit 3",
        }, parseRunReply),
      );
      assert.equal(run.proc.id, "r1");
      await until(
        "the exit event",
        () => seen.some((m) => m.subject === s.proc("c1", "r1", "exit")),
      );
      const ps = throwIfFailed(await ask("ps", { procs: ["r1"] }, parsePsReply));
      assert.deepEqual([ps.procs[0].code, ps.procs[0].stdout, ps.procs[0].stderr], [3, 4, 4]);
      const logs = throwIfFailed(await ask("logs", { proc: "r1", offset: 0 }, parseLogsReply));
      assert.equal(new TextDecoder().decode(logs.data), "out\n");
      const past = throwIfFailed(await ask("logs", { proc: "r1", offset: 100 }, parseLogsReply));
      assert.deepEqual([past.data.length, past.offset, past.complete], [0, 100, true]);
      const sig = throwIfFailed(
        await ask("signal", { procs: ["r1", "nope"], signal: 15 }, parseSignalReply),
      );
      assert.deepEqual(sig.results.map((r) => r.ok), [true, false]);
      const refused = await ask("signal", { procs: ["r1"], signal: "SIGNOPE" }, parseSignalReply);
      assert.ok(!refused.ok && refused.error.code === "EINVAL");

      const watch = throwIfFailed(
        await ask("watch", {
          id: "w1",
          condition: { kind: "file", path: world.dir },
          timeout: 60.0005, // 60000.5 ms: the deadline is still whole ms
        }, parseWatchReply),
      );
      assert.ok(Number.isSafeInteger(watch.deadline));
      await until("the watch outcome", () => seen.some((m) => m.subject === s.watch("c1", "w1")));
      const unwatch = throwIfFailed(await ask("unwatch", { watches: ["w1"] }, parseUnwatchReply));
      assert.equal(unwatch.results[0].error?.code, "ESRCH");

      const config = "programs:\n  cat:\n    cmd: cat\n    starttime: 0.2\n";
      const applied = throwIfFailed(
        await ask("programs", { action: "apply", config }, parseProgramsReply),
      );
      assert.ok(!isProgramsAccepted(applied));
      await until("cat RUNNING", async () => {
        const r = throwIfFailed(await ask("programs", { action: "status" }, parseProgramsReply));
        return !isProgramsAccepted(r) && r.processes[0]?.state === "RUNNING";
      });
      // With `ack`, two replies: the early acknowledgement, then the answer.
      const id = nuid.next();
      const both: Msg[] = [];
      const two = Promise.withResolvers<void>();
      const acks = world.nc.subscribe(s.replies(id), {
        callback: (_e, m) => {
          if (both.push(m) === 2) two.resolve();
        },
      });
      world.nc.publish(
        s.host("c1", "programs"),
        encode({ v: PROTOCOL_VERSION, action: "restart", names: ["cat"], ack: true }),
        { reply: s.replyTo(id, "programs") },
      );
      await two.promise;
      acks.unsubscribe();
      const [first, second] = both.map((m) => {
        assert.equal(m.subject, s.reply(id, "programs", "c1"));
        return throwIfFailed(parseReply(decodeMap(m.data), parseProgramsReply));
      });
      assert.ok(isProgramsAccepted(first) && !isProgramsAccepted(second));

      throwIfFailed(await ask("follow", { name: "cat", seconds: 1.0005 }, parseFollowReply));
      const input = throwIfFailed(
        await ask("input", {
          name: "cat",
          data: new TextEncoder().encode("hi\n"),
        }, parseInputReply),
      );
      assert.equal(input.written, 3);
      await until("cat's echo in its tail", async () => {
        const t = throwIfFailed(await ask("tail", { name: "cat" }, parseTailReply));
        return new TextDecoder().decode(t.data) === "hi\n";
      });
      await until("process telemetry", () => seen.some((m) => m.subject === s.telProcs("c1")));
      throwIfFailed(await ask("shutdown", {}, parseShutdownReply));
      await until("bye", () => seen.some((m) => m.headers?.get(H.type) === "bye"));
      await world.nc.flush();
      sub.unsubscribe();

      // Every CBOR event and reply, through its parser; every reply on the subject of its host.
      const kinds = new Set<string>();
      for (const m of seen) {
        if (m.headers?.get(H.encoding) !== "cbor") continue;
        const type = m.headers.get(H.type);
        const body = decodeMap(m.data);
        const tokens = m.subject.slice(world.prefix.length + 1).split(".");
        check(m, `${type} ${tokens[0] === "reply" ? "reply" : "event"}`);
        const kind = tokens[0] === "proc" ? `proc.${tokens[3]}` : tokens[0];
        if (kind === "host" || kind === "all") continue; // requests
        kinds.add(kind === "tel" && tokens.length === 3 ? "tel.procs" : kind);
        switch (kind) {
          case "proc.started":
          case "proc.exit":
            parseProcInfo(body, `${type} event`);
            break;
          case "proc.dropped":
            parseDroppedEvent(body);
            break;
          case "presence":
            parsePresence(body);
            break;
          case "log":
            parseProgramLogBody(body);
            break;
          case "reply":
            assert.equal(tokens.length, 4, m.subject); // reply.<id>.<kind>.<host>
            assert.equal(tokens[3], "c1", m.subject);
            assert.equal(body.host, "c1", m.subject);
            parseReply(body, (f) => f);
            break;
          case "watch":
            parseWatchEvent(body);
            break;
          case "tel":
            if (tokens.length === 3) parseProcsTelemetry(body);
            else parseMachineTelemetry(body);
            break;
          default:
            assert.fail(`unexpected CBOR message on ${m.subject}`);
        }
      }
      assert.deepEqual([...kinds].sort(), [
        "log",
        "presence",
        "proc.exit",
        "proc.started",
        "reply",
        "tel",
        "tel.procs",
        "watch",
      ]);
      assert.deepEqual(floats, [], "numbers sent as float64 where an integer is documented");
    } finally {
      await world.close();
    }
  },
);

/** The paths (`procs[0].cpu`) of every float item in one CBOR item of definite lengths. */
function floatPaths(b: Uint8Array): string[] {
  const out: string[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  const arg = (ai: number): number => {
    if (ai < 24) return ai;
    const width = [1, 2, 4, 8][ai - 24];
    if (width === undefined) throw new Error(`unexpected additional info ${ai} at ${i}`);
    const v = width === 1
      ? b[i]
      : width === 2
      ? dv.getUint16(i)
      : width === 4
      ? dv.getUint32(i)
      : Number(dv.getBigUint64(i));
    i += width;
    return v;
  };
  const item = (path: string): string | undefined => {
    const ib = b[i++];
    const major = ib >> 5, ai = ib & 31;
    if (major === 7) {
      if (ai >= 25 && ai <= 27) {
        out.push(path);
        i += [2, 4, 8][ai - 25];
      }
      return undefined;
    }
    const n = arg(ai);
    if (major === 2) i += n;
    if (major === 3) {
      const s = new TextDecoder().decode(b.subarray(i, i + n));
      i += n;
      return s;
    }
    if (major === 4) { for (let k = 0; k < n; k++) item(`${path}[${k}]`); }
    if (major === 5) {
      for (let k = 0; k < n; k++) {
        const key = item(path);
        item(path === "" ? `${key}` : `${path}.${key}`);
      }
    }
    if (major === 6) item(path);
    return undefined;
  };
  item("");
  return out;
}
