/**
 * Single-host round trip of `run true` over the raw protocol (request on
 * `P.host.b-1.run`, until the `exit` event is in), beside its two physical
 * parts measured in the same rounds: a raw NATS request/reply on the same
 * server (a responder in this process on its own connection) and one local
 * `Deno.Command("true")` spawn.
 */
import { connect, type Msg, nuid } from "@nats-io/transport-node";
import { decodeMap, encode, PROTOCOL_VERSION } from "../protocol/codec.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { ratioBelow, Recorder, type Row, row, series } from "./figures.ts";
import { ProcExits } from "./proc_exits.ts";
import { addSeries } from "./stats.ts";

const HOST = "b-1";
const WARMUP = 10;
const TIMEOUT_MS = 10_000;
const ECHO = "bench.echo";

export async function roundTripSection(ctx: BenchContext): Promise<Row[]> {
  await ctx.pool.grow(1);
  const { nc, pool } = ctx;
  const subjects = pool.subjects;
  const run = subjects.host(HOST, "run");
  const tag = Date.now().toString(36);

  const exits = await ProcExits.open(nc, subjects, HOST);
  // The agent's answers: one subscription, a reply subject per round (`P.reply.<id>.<n>`).
  const replyId = nuid.next();
  const answers = new Map<string, PromiseWithResolvers<Msg>>();
  const answerSub = nc.subscribe(subjects.replies(replyId), {
    callback: (_err, m) => {
      const kind = subjects.parseReply(m.subject, replyId)?.kind;
      if (kind !== undefined) answers.get(kind)?.resolve(m);
    },
  });
  const request = (subject: string, payload: Uint8Array, kind: string): Promise<Msg> => {
    const answer = Promise.withResolvers<Msg>();
    answers.set(kind, answer);
    const timer = setTimeout(() => answer.reject(new Error("no answer")), TIMEOUT_MS);
    nc.publish(subject, payload, { reply: subjects.replyTo(replyId, kind) });
    return answer.promise.finally(() => {
      clearTimeout(timer);
      answers.delete(kind);
    });
  };
  // The raw peer: an echo responder on its own connection, as the agent has its own.
  const responderNc = await connect({ servers: ctx.broker.url });
  responderNc.subscribe(ECHO, {
    callback: (_err, m) => {
      m.respond(m.data);
    },
  });
  await Promise.all([nc.flush(), responderNc.flush()]);

  const tutti = new Recorder("tutti: run request → exit event", "ms");
  const raw = new Recorder("raw NATS request/reply", "ms");
  const spawn = new Recorder("local spawn of true", "ms");
  let n = 0;
  const sample = { v: PROTOCOL_VERSION, id: `rt-${tag}-000000`, argv: ["true"] };
  const echoPayload = encode(sample); // the same size as a run request

  const tuttiOnce = async (rec: Recorder | null) => {
    const round = n++;
    const id = `rt-${tag}-${String(round).padStart(6, "0")}`;
    const exited = exits.expect(id, TIMEOUT_MS);
    try {
      const t0 = performance.now();
      const replied = request(run, encode({ ...sample, id }), String(round))
        .then((m) => ({ at: performance.now(), body: decodeMap(m.data) }));
      const [reply, exit] = await Promise.all([replied, exited]);
      if (reply.body.ok !== true) {
        throw new Error(`run failed: ${JSON.stringify(reply.body.error)}`);
      }
      if (exit.body.code !== 0) {
        throw new Error(`true exited with ${JSON.stringify(exit.body.code)}`);
      }
      rec?.add(Math.max(reply.at, exit.at) - t0);
    } catch (e) {
      exited.catch(() => {}); // may still time out after the reply failed
      rec?.fail((e as Error).message);
      if (!rec) throw e;
    }
  };
  const rawOnce = async (rec: Recorder | null) => {
    const t0 = performance.now();
    await nc.request(ECHO, echoPayload, { timeout: TIMEOUT_MS });
    rec?.add(performance.now() - t0);
  };
  const spawnOnce = async (rec: Recorder | null) => {
    const t0 = performance.now();
    const status = await new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" })
      .spawn().status;
    if (!status.success) throw new Error(`true exited with ${status.code}`);
    rec?.add(performance.now() - t0);
  };

  try {
    say(`round trip: ${WARMUP} warm-up rounds, then ${ctx.opts.rtRounds}`);
    await interleave(WARMUP, [() => tuttiOnce(null), () => rawOnce(null), () => spawnOnce(null)]);
    await interleave(ctx.opts.rtRounds, [
      () => tuttiOnce(tutti),
      () => rawOnce(raw),
      () => spawnOnce(spawn),
    ]);
  } finally {
    exits.close();
    answerSub.unsubscribe();
    await responderNc.close();
  }
  const t = tutti.done();
  const r = raw.done();
  const s = spawn.done();
  // Per round, the sum of the two parts: what a perfect agent could not beat.
  const both = series(
    "raw request/reply + local spawn",
    "ms",
    addSeries(r.samples, s.samples),
    [],
    {
      raw: r,
      spawn: s,
    },
  );
  return [
    row(
      "roundtrip",
      "run true on one agent, request → exit event",
      t,
      both,
      ratioBelow(2),
      `raw request/reply ${r.summary.median.toFixed(2)} ms + spawn ${
        s.summary.median.toFixed(2)
      } ms (medians)`,
    ),
  ];
}
