/**
 * Protocol fuzzing: at least 100,000 random, malformed and mutated messages
 * (fuzz_messages.ts) on every verb subject of one agent, per host and
 * broadcast. The agent must answer every one it should with a well-formed
 * refusal (never EINTERNAL, never a sign that it acted), stay up, answer
 * `ping`, run a command normally afterwards, and give its memory back.
 *
 * TUTTI_FUZZ_SEED replays a run (every failure message names it);
 * TUTTI_FUZZ_COUNT sets the number of messages (default 100000).
 */
import assert from "node:assert/strict";
import { type Msg, nuid } from "@nats-io/transport-node";
import { decodeMap, encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import { ERROR_CODES } from "../../protocol/errors.ts";
import {
  classify,
  FUZZ_VERBS,
  generate,
  hex,
  type Kind,
  parseSeed,
  Rng,
  UNKNOWN_VERBS,
} from "./fuzz_messages.ts";
import { ask, rssBytes, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const HOST = "fz-1";
const DEFAULT_COUNT = 100_000;
/** Messages between two `ping` barriers: enough to keep the agent busy, few enough to bound what is in flight. */
const BATCH = 2000;
/** Messages sent before the memory baseline is taken: code compiled, caches and buffers grown. */
const WARM_UP = 6000;
/**
 * How far above the baseline the agent's RSS may stay after the run. The
 * baseline is taken under load and varies by some 25 MiB with the moment of
 * V8's last collection, and V8 keeps part of the heap it grew: runs of
 * 100,000 and of 300,000 messages both settle 10-35 MiB above it. A leak of
 * even 1 KiB per message would keep about 100 MiB, twice the margin.
 */
const RSS_MARGIN = 48 * 1024 * 1024;
/**
 * V8 gives back the heap it grew under load (RSS peaks 50-80 MiB above the
 * baseline during the run) only when its memory reducer runs, once it sees
 * the allocation rate low for a while: 10-25 s after the run here, and no
 * event says when, so it is polled.
 */
const RSS_SETTLE_MS = 40_000;
/** One batch, from its first message to its barrier's answer. */
const BATCH_TIMEOUT_MS = 30_000;

/**
 * Codes a fuzz message may be answered with: refusals of the message
 * (EBADMSG, EPROTO, ENOSYS, EINVAL, EBADSEL, EMSGSIZE) and "no such
 * process" (ESRCH: logs and tail of made-up names). Any other code (ENOENT,
 * EEXIST, ESPAWN...) means the agent tried to act.
 */
const REFUSALS = new Set(["EBADMSG", "EPROTO", "ENOSYS", "EINVAL", "EBADSEL", "EMSGSIZE", "ESRCH"]);
/**
 * Verbs that may answer `ok: true` to a fuzz message: they only read (`programs`: `status`;
 * `get` and `read`: files that exist; `clock`: the agent's clock).
 */
const READ_ONLY = new Set(["ping", "ps", "unwatch", "programs", "get", "read", "clock"]);

/** Verbs that read files, and the codes of a path they cannot read (made up by the fuzzer). */
const FILE_READS = new Set(["get", "read"]);
const FILE_NOT_FOUND = new Set(["ENOENT", "ENOTDIR", "EISDIR", "EACCES"]);

interface Sent {
  subject: string;
  verb: string;
  kind: Kind;
  bytes: Uint8Array;
  /** An answer is due (false: a broadcast whose target leaves the agent out). */
  reply: boolean;
  answered: boolean;
}

/** Whether a reply is the `{ok: true, accepted: true}` that an answer will follow. */
function isAcceptance(data: Uint8Array): boolean {
  try {
    return decodeMap(data).accepted === true;
  } catch {
    return false; // checkReply says what is wrong with it
  }
}

/** What is wrong with reply `m` to `sent`, or null; counts its code in `codes`. */
function checkReply(sent: Sent, m: Msg, codes: Map<string, number>): string | null {
  let body: Record<string, unknown>;
  try {
    body = decodeMap(m.data);
  } catch (e) {
    return `a reply that is not a CBOR map: ${(e as Error).message}`;
  }
  if (!sent.reply) return `an answer to a broadcast not meant for ${HOST}`;
  if (body.host !== HOST) return `a reply from host ${body.host}`;
  if (body.ok === true) {
    codes.set("ok", (codes.get("ok") ?? 0) + 1);
    if (!READ_ONLY.has(sent.verb)) return `ok: true on ${sent.verb}: the agent acted`;
    if (sent.verb === "programs" && body.action !== "status") {
      return `programs ${body.action} was carried out`;
    }
    return null;
  }
  if (body.ok !== false) return `a reply with ok = ${body.ok}`;
  const error = body.error as { code?: unknown; message?: unknown } | undefined;
  const code = String(error?.code);
  codes.set(code, (codes.get(code) ?? 0) + 1);
  if (!Object.hasOwn(ERROR_CODES, code)) return `unknown error code ${code}`;
  // The dispatcher's word for an exception it did not expect: a bug in a parser or handler.
  if (code === "EINTERNAL") return `EINTERNAL: ${error?.message}`;
  const notFound = FILE_READS.has(sent.verb) && FILE_NOT_FOUND.has(code);
  if (!REFUSALS.has(code) && !notFound) return `${code} (the agent acted?): ${error?.message}`;
  const header = m.headers?.get("Tutti-Error");
  if (header !== code) return `Tutti-Error header ${header} for ${code}`;
  return null;
}

Deno.test(
  "protocol fuzzing: random and mutated messages on every verb subject leave the agent up, correct and lean",
  opts,
  async () => {
    const seed = parseSeed(Deno.env.get("TUTTI_FUZZ_SEED"));
    const count = Number(Deno.env.get("TUTTI_FUZZ_COUNT") ?? DEFAULT_COUNT);
    assert.ok(Number.isInteger(count) && count > 0, `TUTTI_FUZZ_COUNT=${count}`);
    const replay = `replay with TUTTI_FUZZ_SEED=${seed} TUTTI_FUZZ_COUNT=${count}`;
    console.log(`fuzz: seed ${seed}, ${count} messages (${replay})`);
    const rng = new Rng(seed);

    const world = await World.create();
    try {
      const agent = await world.agent(HOST);
      let exited: Deno.CommandStatus | undefined;
      const died = agent.proc.status.then((s) => {
        exited = s;
        throw new Error(`the agent exited (code ${s.code}, signal ${s.signal}); ${replay}`);
      });
      died.catch(() => {});
      const s = world.subjects;
      // `shutdown` is not fuzzed (FUZZ_VERBS leaves it out): a well-formed one stops the agent.
      const subjects = [...FUZZ_VERBS, ...UNKNOWN_VERBS].flatMap((verb) => [
        { subject: s.host(HOST, verb), verb, broadcast: false },
        { subject: s.all(verb), verb, broadcast: true },
      ]);

      // ---- replies: one subscription, one reply subject per message (`P.reply.<id>.<seq>`)
      const id = nuid.next();
      // The batch being answered and the one before: a `programs` request with `ack` answers
      // twice, and its second answer may come after its batch is over.
      let batch = new Map<number, Sent>();
      let previous = new Map<number, Sent>();
      let due = 0;
      let barrier = Promise.withResolvers<void>();
      let barrierToken = "";
      let barrierSeen = false;
      const problems: string[] = [];
      let problemCount = 0;
      const codes = new Map<string, number>();
      const settle = () => {
        if (barrierSeen && due === 0) barrier.resolve();
      };
      const acknowledged = new Map<number, Sent>();
      const sub = world.nc.subscribe(s.replies(id), {
        callback: (_err, m) => {
          const where = s.parseReply(m.subject, id);
          if (where?.host !== HOST) {
            problemCount++;
            problems.push(`a reply on ${m.subject}, not on ${HOST}'s subject`);
            return;
          }
          const token = where.kind;
          if (token === barrierToken) {
            barrierSeen = true;
            return settle();
          }
          const n = Number(token);
          const sent = batch.get(n) ?? previous.get(n) ?? acknowledged.get(n);
          // An acknowledged request (`get` walking a tree a mutation made large) answers again
          // later, maybe batches later: its answer is still for a message sent.
          if (sent && isAcceptance(m.data)) acknowledged.set(n, sent);
          const wrong = sent
            ? checkReply(sent, m, codes)
            : `a reply on ${m.subject}, for no recent message`;
          if (wrong) {
            problemCount++;
            if (problems.length < 20) {
              problems.push(
                sent
                  ? `${wrong}\n  ${sent.kind} message on ${sent.subject}: ${hex(sent.bytes)}`
                  : wrong,
              );
            }
          }
          if (sent?.reply && !sent.answered) {
            sent.answered = true;
            due--;
            settle();
          }
        },
      });
      await world.nc.flush();

      // ---- send in batches, each closed by a ping barrier: the agent answers in order, so once
      // the ping's answer is in, so are those of the batch (async handlers a moment later).
      const byKind = new Map<string, number>();
      const skipped = new Map<string, number>();
      let sentTotal = 0;
      let seq = 0;
      let baseline = 0;
      let peak = 0;
      const started = performance.now();
      for (let b = 0; sentTotal < count; b++) {
        previous = batch;
        batch = new Map();
        due = 0;
        barrierSeen = false;
        barrier = Promise.withResolvers<void>();
        barrierToken = `ping${b}`;
        const n = Math.min(BATCH, count - sentTotal);
        for (let i = 0; i < n; i++) {
          const to = rng.pick(subjects);
          for (;;) {
            const { kind, bytes } = generate(rng, to.verb);
            const verdict = classify(to.verb, to.broadcast, bytes, HOST);
            if (!verdict.send) {
              skipped.set(verdict.why, (skipped.get(verdict.why) ?? 0) + 1);
              continue;
            }
            batch.set(++seq, { ...to, kind, bytes, reply: verdict.reply, answered: false });
            if (verdict.reply) due++;
            byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
            world.nc.publish(to.subject, bytes, { reply: s.replyTo(id, String(seq)) });
            break;
          }
        }
        sentTotal += n;
        world.nc.publish(s.host(HOST, "ping"), encode({ v: PROTOCOL_VERSION }), {
          reply: s.replyTo(id, barrierToken),
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const missing = [...batch.values()].filter((m) => m.reply && !m.answered);
            const first = missing.slice(0, 3).map((m) =>
              `\n  ${m.kind} on ${m.subject}: ${hex(m.bytes, 64)}`
            );
            reject(
              new Error(
                `batch ${b}: ${missing.length} answers missing and the ping barrier ${
                  barrierSeen ? "answered" : "unanswered"
                } after ${BATCH_TIMEOUT_MS} ms${first.join("")}\n${replay}`,
              ),
            );
          }, BATCH_TIMEOUT_MS);
        });
        try {
          await Promise.race([barrier.promise, late, died]);
        } finally {
          clearTimeout(timer);
        }
        assert.equal(exited, undefined, `the agent exited during batch ${b}; ${replay}`);
        assert.equal(
          problemCount,
          0,
          `${problemCount} bad replies, the first:\n${problems.join("\n")}\n${replay}`,
        );
        const rss = rssBytes(agent.pid);
        peak = Math.max(peak, rss);
        if (baseline === 0 && (sentTotal >= WARM_UP || sentTotal >= count)) baseline = rss;
      }
      const seconds = (performance.now() - started) / 1000;
      sub.unsubscribe();
      assert.ok(sentTotal >= count);

      // ---- afterwards: up, answering, nothing started, memory given back, still working
      assert.equal(exited, undefined, `the agent exited; ${replay}`);
      const ping = await ask(world, HOST, "ping");
      assert.equal(ping.body.ok, true, replay);
      const ps = await ask(world, HOST, "ps");
      assert.deepEqual(ps.body.procs, [], `the fuzz run started processes; ${replay}`);
      let rss = 0;
      const settling = performance.now();
      await until(
        "the agent's memory to return near its baseline",
        () => (rss = rssBytes(agent.pid)) <= baseline + RSS_MARGIN,
        RSS_SETTLE_MS,
        250,
      ).catch(() =>
        assert.fail(
          `RSS ${mib(rss)} ${RSS_SETTLE_MS} ms after the run, baseline ${mib(baseline)} (+${
            mib(RSS_MARGIN)
          } allowed), peak ${mib(peak)}; ${replay}`,
        )
      );
      const settled = (performance.now() - settling) / 1000;
      const run = await ask(world, HOST, "run", { argv: ["true"] });
      assert.equal(run.body.ok, true, `run true after the fuzz: ${JSON.stringify(run.body)}`);
      assert.equal(exited, undefined, `the agent exited; ${replay}`);
      // An EINTERNAL is logged with its stack (agent/dispatch.ts); nothing else should be there.
      const stderr = agent.output.join("");
      assert.doesNotMatch(
        stderr,
        /uncaught|panic|EINTERNAL|^\s+at |Error:/im,
        `the agent's stderr shows an error; ${replay}:\n${stderr.slice(0, 4000)}`,
      );

      const list = (m: Map<string, number>) =>
        [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ");
      console.log(
        `fuzz: ${sentTotal} messages in ${seconds.toFixed(1)} s; kinds: ${list(byKind)}\n` +
          `fuzz: replies: ${list(codes)}\n` +
          `fuzz: not sent (the agent would act): ${list(skipped) || "none"}\n` +
          `fuzz: RSS baseline ${mib(baseline)}, peak ${mib(peak)}, ${mib(rss)} ${
            settled.toFixed(1)
          } s after the run`,
      );
    } finally {
      await world.close();
    }
  },
);

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}
