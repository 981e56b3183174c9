/**
 * The transfer section's peers, all through the benchmark's loopback sshd
 * (one account, so every host's path is on the same disk):
 *
 * - put: N `scp` at once, each to its own directory; `clush --copy` and
 *   `pdcp -R ssh`, which give every host the same destination (here all N
 *   write one file, which can only spare them disk writes); TakTuk's
 *   `broadcast put`, whose instances relay the file along their tree, each to
 *   `$TAKTUK_HOSTNAME.bin`.
 * - get: N `scp` at once, each host's own file; `rpdcp -R ssh` and
 *   `clush --rcopy`, which read one path on every host (here the same file)
 *   into `<name>.<host>`; TakTuk's `broadcast get` of each host's own file.
 *
 * TakTuk connects onwards from the nodes it has reached, as the ssh
 * account: its client configuration names a copy of the client key owned
 * by that account (mode 600), which ssh accepts on every hop.
 */
import { ensurePackage } from "./apt.ts";
import { timed } from "./child.ts";
import type { BenchContext } from "./context.ts";
import type { Goal } from "./figures.ts";
import { parallel } from "./parallel.ts";
import type { Peer } from "./ssh_peers.ts";
import { SSH_USER, type Sshd } from "./sshd.ts";
import { type Expected, fromParallel, fromTimed, type Move, type Owner } from "./transfer_move.ts";

export const TIMEOUT_MS = 300_000;
/** TakTuk is the slowest by far and has no target: two rounds are enough to place it. */
const TAKTUK_ROUNDS = 2;

/** What every peer needs: the sshd, the hosts, the tools that could be installed. */
export interface PeerSetup {
  sshd: Sshd | string;
  /** The peers selected (`--peers`): the tools of the others are left out. */
  peers: Peer[];
  names: string[];
  owner?: Owner;
  /** Tool → its path, or why it is missing. */
  bins: Map<string, string | Error>;
  /** TakTuk's ssh configuration (the key owned by the ssh account), or why it could not be made. */
  taktukConfig: string | Error;
}

/** Each tool, the `--peers` name that selects it, and its Debian package. */
const TOOLS: { tool: string; peer: Peer; pkg: string; paths: string[] }[] = [
  { tool: "scp", peer: "ssh", pkg: "openssh-client", paths: ["/usr/bin/scp"] },
  { tool: "clush", peer: "clush", pkg: "clustershell", paths: ["/usr/bin/clush"] },
  { tool: "pdcp", peer: "pdsh", pkg: "pdsh", paths: ["/usr/bin/pdcp"] },
  { tool: "rpdcp", peer: "pdsh", pkg: "pdsh", paths: ["/usr/bin/rpdcp"] },
  { tool: "taktuk", peer: "taktuk", pkg: "taktuk", paths: ["/usr/bin/taktuk"] },
];

export async function peerSetup(
  ctx: BenchContext,
  names: string[],
  work: string,
  owner: Owner | undefined,
): Promise<PeerSetup> {
  const bins = new Map<string, string | Error>();
  for (const t of TOOLS) {
    if (!ctx.opts.peers.includes(t.peer)) continue;
    bins.set(t.tool, await ensurePackage(t.pkg, t.paths).catch((e) => e as Error));
  }
  let taktukConfig: string | Error = new Error("no sshd");
  if (typeof ctx.sshd !== "string" && owner && bins.has("taktuk")) {
    taktukConfig = await taktukSsh(ctx.sshd, `${work}/taktuk`, owner).catch((e) => e as Error);
  }
  return { sshd: ctx.sshd, peers: ctx.opts.peers, names, owner, bins, taktukConfig };
}

/** A client key and configuration that the ssh account itself can use (TakTuk's relays). */
async function taktukSsh(sshd: Sshd, dir: string, owner: Owner): Promise<string> {
  await Deno.mkdir(dir, { mode: 0o755 });
  const key = `${dir}/client_key`;
  await Deno.copyFile(`${sshd.dir}/client_ed25519`, key);
  await Deno.chown(key, owner.uid, owner.gid);
  await Deno.chmod(key, 0o600);
  const config = (await Deno.readTextFile(sshd.clientConfig))
    .replace(/^(\s*IdentityFile\s+).*$/m, `$1${key}`);
  await Deno.writeTextFile(`${dir}/ssh_config`, config, { mode: 0o644 });
  return `${dir}/ssh_config`;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** A peer that cannot run here, with why. */
function missing(label: string, why: string, goal?: Goal): Move {
  return {
    label,
    unavailable: why,
    goal,
    prepare: () => Promise.resolve([]),
    run: () => Promise.resolve({ ms: NaN }),
  };
}

/**
 * No network, no tool: `cp` of every file at once (`copy_file_range`, in the
 * kernel), what writing them alone costs this machine: the floor under every
 * contender.
 */
function localLimit(
  ctx: BenchContext,
  names: string[],
  what: string,
  prepare: Move["prepare"],
  src: (host: string) => string,
): Move {
  const n = names.length;
  return {
    label: `local limit: ${n} parallel cp, ${what}`,
    prepare,
    run: async (out) =>
      fromParallel(
        await parallel(
          ctx.scope,
          n,
          n,
          "cp",
          (i) => [src(names[i]), `${out}/${names[i]}/`],
          TIMEOUT_MS,
        ),
        n,
      ),
  };
}

/**
 * The tool's path and the ssh configuration, why the peer cannot run, or
 * null when it is not selected.
 */
function needs(p: PeerSetup, tool: string): { bin: string; cfg: string } | string | null {
  if (!TOOLS.some((t) => t.tool === tool && p.peers.includes(t.peer))) return null;
  if (typeof p.sshd === "string") return p.sshd;
  const bin = p.bins.get(tool);
  if (bin instanceof Error || bin === undefined) return bin?.message ?? `${tool}: not set up`;
  if (tool === "taktuk" && p.taktukConfig instanceof Error) {
    return `TakTuk's ssh configuration: ${p.taktukConfig.message}`;
  }
  const cfg = tool === "taktuk" ? p.taktukConfig as string : p.sshd.clientConfig;
  return { bin, cfg };
}

function pdshEnv(cfg: string): Record<string, string> {
  // pdsh appends `-l%u %h` itself when missing; -F keeps to the loopback config.
  return { PDSH_SSH_ARGS: `-F ${cfg} -l%u %h` };
}

export interface PutJob {
  file: string;
  size: number;
}

export function putPeers(
  ctx: BenchContext,
  p: PeerSetup,
  job: PutJob,
  goals: { scp?: Goal; clush?: Goal },
): Move[] {
  const n = p.names.length;
  const hosts = `b-[1-${n}]`;
  const name = basename(job.file);
  const same = (out: string): Expected[] =>
    p.names.map((host) => ({ host, path: `${out}/${name}`, source: job.file }));
  /** A directory per host (the ssh account's), for a copy each. */
  const hostDirs = async (out: string): Promise<Expected[]> => {
    for (const host of p.names) {
      await Deno.mkdir(`${out}/${host}`);
      if (p.owner) await Deno.chown(`${out}/${host}`, p.owner.uid, p.owner.gid);
    }
    return p.names.map((host) => ({ host, path: `${out}/${host}/${name}`, source: job.file }));
  };
  const moves: Move[] = [];

  moves.push(
    localLimit(ctx, p.names, `each to its own directory`, hostDirs, () => job.file),
  );

  const scpLabel = `${n} parallel scp, each to its own directory`;
  const scp = needs(p, "scp");
  if (typeof scp === "string") moves.push(missing(scpLabel, scp, goals.scp));
  else if (scp) {
    const { bin, cfg } = scp;
    moves.push({
      label: scpLabel,
      goal: goals.scp,
      prepare: hostDirs,
      run: async (out) =>
        fromParallel(
          await parallel(
            ctx.scope,
            n,
            n,
            bin,
            (i) => ["-F", cfg, job.file, `${p.names[i]}:${out}/${p.names[i]}/`],
            TIMEOUT_MS,
          ),
          n,
        ),
    });
  }

  const clushLabel = `clush -w '${hosts}' --copy (one destination)`;
  const clush = needs(p, "clush");
  if (typeof clush === "string") moves.push(missing(clushLabel, clush, goals.clush));
  else if (clush) {
    moves.push({
      label: clushLabel,
      goal: goals.clush,
      prepare: (out) => Promise.resolve(same(out)),
      run: async (out) =>
        fromTimed(
          await timed(ctx.scope, clush.bin, [
            "-S",
            "-o",
            `-F ${clush.cfg}`,
            "-w",
            hosts,
            "--copy",
            job.file,
            "--dest",
            `${out}/`,
          ], { timeoutMs: TIMEOUT_MS }),
          TIMEOUT_MS,
        ),
    });
  }

  const pdcpLabel = `pdcp -R ssh -w '${hosts}' (one destination)`;
  const pdcp = needs(p, "pdcp");
  if (typeof pdcp === "string") moves.push(missing(pdcpLabel, pdcp));
  else if (pdcp) {
    moves.push({
      label: pdcpLabel,
      prepare: (out) => Promise.resolve(same(out)),
      run: async (out) =>
        fromTimed(
          await timed(
            ctx.scope,
            pdcp.bin,
            ["-R", "ssh", "-l", SSH_USER, "-w", hosts, job.file, `${out}/`],
            { env: pdshEnv(pdcp.cfg), timeoutMs: TIMEOUT_MS },
          ),
          TIMEOUT_MS,
        ),
    });
  }

  const taktukLabel = `taktuk -m '${hosts}' broadcast put (relayed along its tree)`;
  const taktuk = needs(p, "taktuk");
  if (typeof taktuk === "string") moves.push(missing(taktukLabel, taktuk));
  else if (taktuk) {
    moves.push({
      label: taktukLabel,
      rounds: TAKTUK_ROUNDS,
      prepare: (out) =>
        Promise.resolve(
          p.names.map((host) => ({ host, path: `${out}/${host}.bin`, source: job.file })),
        ),
      run: async (out) =>
        fromTimed(
          await timed(ctx.scope, taktuk.bin, [
            "-c",
            `ssh -F ${taktuk.cfg}`,
            "-m",
            hosts,
            "broadcast",
            "put",
            "[",
            job.file,
            "]",
            "[",
            `${out}/$TAKTUK_HOSTNAME.bin`,
            "]",
          ], { timeoutMs: TIMEOUT_MS }),
          TIMEOUT_MS,
        ),
    });
  }
  return moves;
}

export interface GetJob {
  /** Each host's own file: `src(host)`; `src("{host}")` for tutti, `src("$host")` for TakTuk. */
  src: (host: string) => string;
  /** For the tools that read one path on every host. */
  shared: string;
  size: number;
}

export function getPeers(ctx: BenchContext, p: PeerSetup, job: GetJob): Move[] {
  const n = p.names.length;
  const hosts = `b-[1-${n}]`;
  const suffixed = (out: string): Expected[] =>
    p.names.map((host) => ({
      host,
      path: `${out}/${basename(job.shared)}.${host}`,
      source: job.shared,
    }));
  /** A directory per host, for each host's own file. */
  const hostDirs = async (out: string): Promise<Expected[]> => {
    for (const host of p.names) await Deno.mkdir(`${out}/${host}`);
    return p.names.map((host) => ({
      host,
      path: `${out}/${host}/${basename(job.src(host))}`,
      source: job.src(host),
    }));
  };
  const moves: Move[] = [];

  moves.push(localLimit(ctx, p.names, `each host's own file`, hostDirs, job.src));

  const scpLabel = `${n} parallel scp, each host's own file`;
  const scp = needs(p, "scp");
  if (typeof scp === "string") moves.push(missing(scpLabel, scp));
  else if (scp) {
    const { bin, cfg } = scp;
    moves.push({
      label: scpLabel,
      prepare: hostDirs,
      run: async (out) =>
        fromParallel(
          await parallel(
            ctx.scope,
            n,
            n,
            bin,
            (i) => ["-F", cfg, `${p.names[i]}:${job.src(p.names[i])}`, `${out}/${p.names[i]}/`],
            TIMEOUT_MS,
          ),
          n,
        ),
    });
  }

  const rpdcpLabel = `rpdcp -R ssh -w '${hosts}' (one path)`;
  const rpdcp = needs(p, "rpdcp");
  if (typeof rpdcp === "string") moves.push(missing(rpdcpLabel, rpdcp));
  else if (rpdcp) {
    moves.push({
      label: rpdcpLabel,
      prepare: (out) => Promise.resolve(suffixed(out)),
      run: async (out) =>
        fromTimed(
          await timed(
            ctx.scope,
            rpdcp.bin,
            ["-R", "ssh", "-l", SSH_USER, "-w", hosts, job.shared, `${out}/`],
            { env: pdshEnv(rpdcp.cfg), timeoutMs: TIMEOUT_MS },
          ),
          TIMEOUT_MS,
        ),
    });
  }

  const clushLabel = `clush -w '${hosts}' --rcopy (one path)`;
  const clush = needs(p, "clush");
  if (typeof clush === "string") moves.push(missing(clushLabel, clush));
  else if (clush) {
    moves.push({
      label: clushLabel,
      prepare: (out) => Promise.resolve(suffixed(out)),
      run: async (out) =>
        fromTimed(
          await timed(ctx.scope, clush.bin, [
            "-S",
            "-o",
            `-F ${clush.cfg}`,
            "-w",
            hosts,
            "--rcopy",
            job.shared,
            "--dest",
            `${out}/`,
          ], { timeoutMs: TIMEOUT_MS }),
          TIMEOUT_MS,
        ),
    });
  }

  const taktukLabel = `taktuk -m '${hosts}' broadcast get`;
  const taktuk = needs(p, "taktuk");
  if (typeof taktuk === "string") moves.push(missing(taktukLabel, taktuk));
  else if (taktuk) {
    moves.push({
      label: taktukLabel,
      rounds: TAKTUK_ROUNDS,
      prepare: (out) =>
        Promise.resolve(
          p.names.map((host) => ({ host, path: `${out}/${host}.bin`, source: job.src(host) })),
        ),
      run: async (out) =>
        fromTimed(
          await timed(ctx.scope, taktuk.bin, [
            "-c",
            `ssh -F ${taktuk.cfg}`,
            "-m",
            hosts,
            "broadcast",
            "get",
            "[",
            job.src("$host"),
            "]",
            "[",
            `${out}/$host.bin`,
            "]",
          ], { timeoutMs: TIMEOUT_MS }),
          TIMEOUT_MS,
        ),
    });
  }
  return moves;
}
