/**
 * Files to many hosts and back: tutti's `put` and `get` through the
 * controller CLI (its process start included) with the pool's agents
 * b-1 ... b-20, beside the tools used today through the loopback sshd
 * (transfer_peers.ts), every one in the same run, interleaved:
 *
 * - put: one file of 256 MiB (random bytes) to every host, command → every
 *   copy in place. And what the controller sent to the broker for it, as the
 *   server counts it (`/connz` in_bytes of the connection "tutti-controller"):
 *   the file once, whatever the number of hosts.
 * - get: a file of 64 MiB from every host (its own), command → every file here.
 *
 * Every round writes every byte again: outputs are removed between rounds
 * (transfer_move.ts), and before each put the transfer stream is deleted
 * (untimed), so that the content is uploaded again, into a stream the put
 * makes anew as on a fresh broker. Everything the section writes (GiBs) is
 * removed when it ends.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { AgentPool, DENO } from "./agents.ts";
import { timed } from "./child.ts";
import { closedConnection } from "./connz.ts";
import {
  type BenchContext,
  type Contender,
  interleave,
  interleaveContenders,
  say,
} from "./context.ts";
import { allOk } from "./fanout.ts";
import { ratioAtMost, Recorder, type Row, row } from "./figures.ts";
import { sshAccountIds } from "./sshd.ts";
import {
  type GetJob,
  getPeers,
  type PeerSetup,
  peerSetup,
  type PutJob,
  putPeers,
  TIMEOUT_MS,
} from "./transfer_peers.ts";
import {
  fromTimed,
  type Move,
  moveContender,
  OutputCheck,
  type Owner,
  randomFile,
} from "./transfer_move.ts";

const HOSTS = 20;
const MiB = 1024 * 1024;
const PUT_BYTES = 256 * MiB;
const GET_BYTES = 64 * MiB;
/** The warm-up moves this much: first starts and connections, at little cost. */
const WARM_BYTES = MiB;
const CONTROLLER_NAME = "tutti-controller";

export async function transferSection(ctx: BenchContext): Promise<Row[]> {
  say(`transfer: starting agents up to ${HOSTS}`);
  await ctx.pool.grow(HOSTS);
  const names = AgentPool.names(HOSTS);
  // Every round writes GiBs, and the peers are the ssh family: their number of rounds.
  const rounds = ctx.opts.sshRounds;
  const work = await ctx.scope.tempDir("tutti-bench-transfer-");
  try {
    // The ssh account reads the sources and writes the outputs below it.
    await Deno.chmod(work, 0o755);
    const owner = typeof ctx.sshd === "string" ? undefined : await sshAccountIds();
    const peers = await peerSetup(ctx, names, work, owner);
    say(`transfer: making the files (${PUT_BYTES / MiB} MiB, ${HOSTS} × ${GET_BYTES / MiB} MiB)`);
    const rows = await putRows(ctx, peers, work, owner, rounds);
    rows.push(...await getRows(ctx, peers, work, rounds));
    return rows;
  } finally {
    await dropStream(ctx).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** Deletes tutti's transfer stream: the next put stores its content again. */
async function dropStream(ctx: BenchContext): Promise<void> {
  const jsm = await jetstreamManager(ctx.nc);
  await jsm.streams.delete(ctx.pool.subjects.xferStream()).catch((e) => {
    if (!/not found/i.test((e as Error).message)) throw e;
  });
}

function cli(ctx: BenchContext, args: string[]) {
  return timed(ctx.scope, DENO, ["run", "-A", "--no-config", ctx.opts.controllerJs, ...args], {
    env: { NATS_URL: ctx.broker.url, NO_COLOR: "1" },
    timeoutMs: TIMEOUT_MS,
  });
}

/** The CLI's outcome: exit 0 is not enough, every host must be ok. */
async function cliOutcome(ctx: BenchContext, args: string[], n: number) {
  const r = await cli(ctx, args);
  const o = fromTimed(r, TIMEOUT_MS);
  if (!o.error && !allOk(r.output, n)) o.error = `no "${n} hosts: ${n} ok" summary: ${r.output}`;
  return o;
}

function tuttiPut(ctx: BenchContext, names: string[], job: PutJob, upload?: Recorder): Move {
  const hosts = `b-[1-${names.length}]`;
  const name = job.file.slice(job.file.lastIndexOf("/") + 1);
  const seen = new Set<number>();
  return {
    label: `tutti: controller put --hosts '${hosts}' FILE 'DIR/{host}/'`,
    prepare: async (out) => {
      await dropStream(ctx);
      return names.map((host) => ({ host, path: `${out}/${host}/${name}`, source: job.file }));
    },
    run: (out) =>
      cliOutcome(ctx, ["put", "--hosts", hosts, job.file, `${out}/{host}/`], names.length),
    after: upload &&
      (async (since) => {
        try {
          const c = await closedConnection(ctx.broker.monitorUrl, CONTROLLER_NAME, since, seen);
          upload.add(c.inBytes / MiB);
        } catch (e) {
          upload.fail((e as Error).message);
        }
      }),
  };
}

function tuttiGet(ctx: BenchContext, names: string[], job: GetJob): Move {
  const hosts = `b-[1-${names.length}]`;
  return {
    label: `tutti: controller get --hosts '${hosts}' 'DIR/src-{host}.bin' LOCALDIR`,
    prepare: (out) =>
      Promise.resolve(names.map((host) => {
        const src = job.src(host);
        return { host, path: `${out}/${host}/${src.slice(src.lastIndexOf("/") + 1)}`, source: src };
      })),
    run: (out) => cliOutcome(ctx, ["get", "--hosts", hosts, job.src("{host}"), out], names.length),
  };
}

/** One unrecorded round of `warm`, then `rounds` of `moves`; answers their recorders. */
async function measure(
  rounds: number,
  warm: Move[],
  moves: Move[],
  opts: { out: string; owner?: Owner; warmSize: number; size: number },
): Promise<Recorder[]> {
  const check = new OutputCheck();
  const scratch = warm.map((m) =>
    moveContender(m, new Recorder("warm-up", "ms"), { ...opts, size: opts.warmSize, check })
  );
  await interleave(1, scratch.filter((c) => c.warmUp ?? true).map((c) => () => c.once(c.rec)));
  // Unavailable peers take no warm-up: any failure here is a real one, seen before the rounds.
  const failed = scratch.flatMap((c) => c.rec.failures);
  if (failed.length > 0) say(`transfer: warm-up failures: ${failed.join("; ")}`);
  const contenders: Contender[] = moves.map((m) =>
    moveContender(m, new Recorder(m.label, "ms"), { ...opts, check })
  );
  await interleaveContenders(
    rounds,
    contenders.map((c) => ({ run: () => c.once(c.rec), rounds: c.rounds })),
  );
  return contenders.map((c) => c.rec);
}

async function putRows(
  ctx: BenchContext,
  peers: PeerSetup,
  work: string,
  owner: Owner | undefined,
  rounds: number,
): Promise<Row[]> {
  const job: PutJob = { file: `${work}/put.bin`, size: PUT_BYTES };
  const warm: PutJob = { file: `${work}/warm.bin`, size: WARM_BYTES };
  await randomFile(job.file, job.size);
  await randomFile(warm.file, warm.size);
  const goals = { scp: ratioAtMost(1 / 5), clush: ratioAtMost(1 / 3) };
  const upload = new Recorder(
    `tutti: bytes the controller sent (nats-server /connz in_bytes)`,
    "MiB",
  );
  const moves = [tuttiPut(ctx, peers.names, job, upload), ...putPeers(ctx, peers, job, goals)];
  say(`transfer: put of ${PUT_BYTES / MiB} MiB to ${HOSTS} hosts: warm-up, then ${rounds} rounds`);
  const recs = await measure(
    rounds,
    [tuttiPut(ctx, peers.names, warm), ...putPeers(ctx, peers, warm, {})],
    moves,
    { out: `${work}/out`, owner, warmSize: WARM_BYTES, size: PUT_BYTES },
  );
  await Deno.remove(job.file);
  const figure = `put a ${
    PUT_BYTES / MiB
  } MiB file to ${HOSTS} hosts, command → every copy in place`;
  const t = recs[0].done();
  const size = new Recorder("the file", "MiB");
  size.add(PUT_BYTES / MiB);
  return [
    ...moves.slice(1).map((m, i) =>
      row(
        "transfer",
        figure,
        t,
        recs[i + 1].done(),
        m.goal,
        i === 0
          ? "outputs removed and tutti's transfer stream deleted between rounds (each put uploads " +
            "again); tutti syncs every file to disk before its rename, the peers do not"
          : undefined,
      )
    ),
    row(
      "transfer",
      `put a ${PUT_BYTES / MiB} MiB file to ${HOSTS} hosts: uploaded by the controller`,
      upload.done(),
      size.done(),
      ratioAtMost(1.1),
      `the server's count of bytes received on the controller's connection, per round; ` +
        `${HOSTS} scp send ${HOSTS}×`,
    ),
  ];
}

async function getRows(
  ctx: BenchContext,
  peers: PeerSetup,
  work: string,
  rounds: number,
): Promise<Row[]> {
  const jobIn = async (dir: string, size: number): Promise<GetJob> => {
    await Deno.mkdir(dir, { mode: 0o755 });
    const src = (host: string) => `${dir}/src-${host}.bin`;
    for (const host of peers.names) await randomFile(src(host), size);
    return { src, shared: src(peers.names[0]), size };
  };
  const job = await jobIn(`${work}/get`, GET_BYTES);
  const warm = await jobIn(`${work}/get-warm`, WARM_BYTES);
  const moves = [tuttiGet(ctx, peers.names, job), ...getPeers(ctx, peers, job)];
  say(`transfer: get of ${HOSTS} × ${GET_BYTES / MiB} MiB: warm-up, then ${rounds} rounds`);
  const recs = await measure(
    rounds,
    [tuttiGet(ctx, peers.names, warm), ...getPeers(ctx, peers, warm)],
    moves,
    { out: `${work}/out`, warmSize: WARM_BYTES, size: GET_BYTES },
  );
  const figure = `get a ${GET_BYTES / MiB} MiB file from each of ${HOSTS} hosts, ` +
    "command → every file here";
  const t = recs[0].done();
  const onePath = moves.some((m) => /rpdcp|--rcopy/.test(m.label));
  return moves.slice(1).map((_, i) =>
    row(
      "transfer",
      figure,
      t,
      recs[i + 1].done(),
      undefined,
      i === 0 && onePath
        ? "rpdcp and clush --rcopy read one path on every host: here the same file for all"
        : undefined,
    )
  );
}
