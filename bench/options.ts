/** The benchmark's options, with their defaults, in one place. */
import { parseArgs } from "node:util";
import { UsageError } from "../protocol/cli/usage_error.ts";
import { parseDuration } from "../protocol/duration.ts";
import { type Peer, PEERS } from "./ssh_peers.ts";

export const SECTIONS = [
  "idle",
  "roundtrip",
  "spawnrate",
  "cli",
  "onefile",
  "streaming",
  "fanin",
  "soak",
  "sync",
  "plan",
  "fanout",
  "install",
  "transfer",
  "queue",
  "emulated",
] as const;
export type Section = typeof SECTIONS[number];

export interface BenchOptions {
  quick: boolean;
  /** How long the idle agent is watched, ms. */
  idleMs: number;
  /** Rounds of each fan-out (and CLI start) measurement. */
  rounds: number;
  /** Rounds of the single-host round trip. */
  rtRounds: number;
  /** Fan-out sizes (number of agent processes). */
  sizes: number[];
  /** Sizes of the widest fan-outs, agents emulated in a few processes. */
  emulated: number[];
  /** Processes the emulated agents are spread over. */
  emulatedProcs: number;
  /** Bytes one process writes to stdout in the streaming section. */
  streamBytes: number;
  /** Agents writing at once in the fan-in section. */
  faninHosts: number;
  /** Lines of `seq 1 L` each of them writes. */
  faninLines: number;
  /** Bytes of the one line without a newline written in the fan-in section. */
  faninLine: number;
  /** Runs of `seq 1 200` one after another on the soaked agent. */
  soakRuns: number;
  /** How long the crash-looping programs loop before the supervising agent is measured, ms. */
  soakWindowMs: number;
  /** Agent processes started at one instant (`run --at`). */
  syncAgents: number;
  /** Tasks of `true` in the work-queue section. */
  queueTasks: number;
  /** Agents taking them, 4 slots each. */
  queueAgents: number;
  /** ssh fan-out width, like pdsh's default. */
  sshWidth: number;
  /** Rounds of each ssh-based peer (slow and steady: fewer than tutti's). */
  sshRounds: number;
  /** Which ssh-based peers run. */
  peers: Peer[];
  /** The bundles measured: DIR/agent.js and DIR/controller.js. */
  agentJs: string;
  controllerJs: string;
  /** Where latest.json and latest.md go. */
  out: string;
  sections: Section[];
  help: boolean;
}

export const USAGE = `usage: deno task bench [options]
Measures tutti beside its peers (parallel ssh, pdsh, clush, TakTuk, ansible, raw NATS, a bare deno
process) on this machine and writes bench/results/latest.json and latest.md.

  --quick           a fast smoke run: 3 rounds (ssh 2, parallel ssh only), 30 round trips, 5 s idle,
                    sizes 10,50, 200 emulated agents, 256 MiB streamed, 500 soak runs
  --idle D          how long the idle agent is watched (default 60s; quick 5s)
  --rounds N        rounds of each fan-out measurement (default 10; quick 3)
  --rt-rounds N     single-host round trips (default 200; quick 30)
  --sizes LIST      fan-out sizes, agent processes (default 10,50,100,200)
  --emulated LIST   agents emulated in-process for the widest fan-outs (default 1000,10000)
  --emulated-procs N  processes they are spread over (default 4)
  --stream B        bytes streamed through one agent, e.g. 1GiB (default 1GiB)
  --fanin-hosts N   agents writing at once to one controller (default 20)
  --fanin-lines L   each writes seq 1 L (default 2500000, 19 MB; quick 500000)
  --fanin-line B    then one host writes one line of B bytes, no newline (default 512MiB;
                    quick 64MiB)
  --soak-runs N     runs of seq 1 200 one after another on one agent (default 3000; quick 500)
  --soak-window D   how long 30 programs crash-loop before the supervising agent is measured
                    (default 20s; quick 5s)
  --sync-agents N   agents started at one instant by run --at (default 20; quick 10)
  --queue-tasks N   tasks of true in the work queue section (default 10000; quick 1000)
  --queue-agents N  agents taking them, 4 slots each (default 20; quick 4)
  --ssh-width N     parallel ssh connections at once (default 32, pdsh's default)
  --ssh-rounds N    rounds of each ssh-based peer (default 3; quick 2; at most --rounds);
                    past 50 hosts, scaled down with N (at least 2); also the transfer
                    section's rounds (TakTuk's at most 2)
  --peers LIST      ssh-based peers of the fan-out, of ${PEERS.join(",")}
                    (default all; quick ssh); missing Debian packages are installed; in the
                    transfer section ssh is scp, pdsh is pdcp and rpdcp, clush is clush --copy
                    and --rcopy, taktuk is TakTuk's put and get (ansible: fan-out only)
  --only LIST       sections to run, of ${SECTIONS.join(",")} (default all);
                    transfer: put of 256 MiB to 20 agents, get of 64 MiB from each
  --dist DIR        where agent.js and controller.js are (default dist, from deno task bundle)
  --out DIR         output directory (default bench/results)
  -h, --help        this text`;

export function parseBenchOptions(args: string[]): BenchOptions {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: "boolean" },
        idle: { type: "string" },
        rounds: { type: "string" },
        "rt-rounds": { type: "string" },
        sizes: { type: "string" },
        emulated: { type: "string" },
        "emulated-procs": { type: "string" },
        stream: { type: "string" },
        "fanin-hosts": { type: "string" },
        "fanin-lines": { type: "string" },
        "fanin-line": { type: "string" },
        "soak-runs": { type: "string" },
        "soak-window": { type: "string" },
        "sync-agents": { type: "string" },
        "ssh-width": { type: "string" },
        "queue-tasks": { type: "string" },
        "queue-agents": { type: "string" },
        "ssh-rounds": { type: "string" },
        peers: { type: "string" },
        only: { type: "string" },
        dist: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const quick = v.quick ?? false;
  const rounds = v.rounds === undefined ? (quick ? 3 : 10) : count("--rounds", v.rounds);
  const sshRounds = v["ssh-rounds"] === undefined
    ? (quick ? 2 : 3)
    : count("--ssh-rounds", v["ssh-rounds"]);
  const dist = (v.dist ?? new URL("../dist", import.meta.url).pathname).replace(/\/$/, "");
  return {
    quick,
    idleMs: v.idle === undefined ? (quick ? 5_000 : 60_000) : duration("--idle", v.idle),
    rounds,
    rtRounds: v["rt-rounds"] === undefined
      ? (quick ? 30 : 200)
      : count("--rt-rounds", v["rt-rounds"]),
    sizes: v.sizes === undefined
      ? (quick ? [10, 50] : [10, 50, 100, 200])
      : v.sizes.split(",").map((s) => count("--sizes", s.trim())),
    emulated: v.emulated === undefined
      ? (quick ? [200] : [1000, 10_000])
      : v.emulated.split(",").map((s) => count("--emulated", s.trim())),
    emulatedProcs: v["emulated-procs"] === undefined
      ? 4
      : count("--emulated-procs", v["emulated-procs"]),
    streamBytes: v.stream === undefined
      ? (quick ? 256 : 1024) * MiB
      : byteCount("--stream", v.stream),
    faninHosts: v["fanin-hosts"] === undefined ? 20 : count("--fanin-hosts", v["fanin-hosts"]),
    faninLines: v["fanin-lines"] === undefined
      ? (quick ? 500_000 : 2_500_000)
      : count("--fanin-lines", v["fanin-lines"]),
    faninLine: v["fanin-line"] === undefined
      ? (quick ? 64 : 512) * MiB
      : byteCount("--fanin-line", v["fanin-line"]),
    soakRuns: v["soak-runs"] === undefined
      ? (quick ? 500 : 3000)
      : count("--soak-runs", v["soak-runs"]),
    soakWindowMs: v["soak-window"] === undefined
      ? (quick ? 5_000 : 20_000)
      : duration("--soak-window", v["soak-window"]),
    syncAgents: v["sync-agents"] === undefined
      ? (quick ? 10 : 20)
      : count("--sync-agents", v["sync-agents"]),
    sshWidth: v["ssh-width"] === undefined ? 32 : count("--ssh-width", v["ssh-width"]),
    sshRounds: Math.min(sshRounds, rounds),
    peers: v.peers === undefined ? (quick ? ["ssh"] : [...PEERS]) : v.peers.split(",").map(peer),
    queueTasks: v["queue-tasks"] === undefined
      ? (quick ? 1000 : 10_000)
      : count("--queue-tasks", v["queue-tasks"]),
    queueAgents: v["queue-agents"] === undefined
      ? (quick ? 4 : 20)
      : count("--queue-agents", v["queue-agents"]),
    agentJs: `${dist}/agent.js`,
    controllerJs: `${dist}/controller.js`,
    out: v.out ?? new URL("./results", import.meta.url).pathname,
    sections: v.only === undefined ? [...SECTIONS] : v.only.split(",").map(section),
    help: v.help ?? false,
  };
}

function duration(flag: string, text: string): number {
  try {
    const ms = parseDuration(text, flag);
    if (ms < 1000) throw new Error(`${flag} ${JSON.stringify(text)}: at least 1s`);
    return ms;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

const MiB = 1024 * 1024;
const UNITS: Record<string, number> = {
  "": 1,
  k: 1000,
  kib: 1024,
  m: 1e6,
  mib: MiB,
  g: 1e9,
  gib: 1024 * MiB,
};

/** `1GiB`, `256MiB`, `1000000`: a whole number of bytes, at least 1 MiB. */
function byteCount(flag: string, text: string): number {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) * unit < MiB) {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)}: expected a size of at least 1MiB, e.g. 1GiB`,
    );
  }
  return Number(m[1]) * unit;
}

function count(flag: string, text: string): number {
  if (!/^[1-9]\d*$/.test(text)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number ≥ 1`);
  }
  return Number(text);
}

function peer(text: string): Peer {
  const p = text.trim() as Peer;
  if (!PEERS.includes(p)) {
    throw new UsageError(`--peers ${JSON.stringify(text)}: peers are ${PEERS.join(", ")}`);
  }
  return p;
}

function section(text: string): Section {
  const s = text.trim() as Section;
  if (!SECTIONS.includes(s)) {
    throw new UsageError(`--only ${JSON.stringify(text)}: sections are ${SECTIONS.join(", ")}`);
  }
  return s;
}
