/**
 * What `install` copies to a node: the one-file agent (dist/tutti-agent,
 * packaging/one_file.sh), or, where it was not built, the Deno runtime
 * running this controller with the agent bundle (dist/agent.js). Either way
 * a digest names the version, so that a node already running it is left
 * alone, and a target triple says which machines it runs on.
 */
import { createHash } from "node:crypto";
import { InstallError } from "./errors.ts";

export interface ArtifactFile {
  local: string;
  /** Its name in the install directory. */
  name: string;
  size: number;
}

export interface Artifact {
  kind: "one-file" | "runtime+bundle";
  files: ArtifactFile[];
  /** 16 hex digits naming this version (the one file's own, else a SHA-256 of both files). */
  digest: string;
  /** `x86_64-unknown-linux-gnu`: the machines it runs on. */
  target: string;
  /** Bytes the first start unpacks next to the files (the one file's cache). */
  unpacked: number;
  /** The agent's command line in install directory `dir`, before the agent's own options. */
  command(dir: string): string[];
  /** Variables the agent is started with. */
  env(dir: string): Record<string, string>;
}

/** The first bytes of the one file hold its shell header (packaging/launcher.sh). */
const HEADER_BYTES = 16 * 1024;

/**
 * `given` (--agent FILE), else tutti-agent beside this program (dist/ for a
 * bundle, dist/ under the source tree), else the runtime and agent.js there.
 */
export async function findArtifact(given?: string): Promise<Artifact> {
  if (given !== undefined) {
    const one = await oneFile(given);
    if (one === null) {
      throw new InstallError(
        "EAGENT",
        `--agent ${given}: not a one-file agent (build it with compile.sh)`,
      );
    }
    return one;
  }
  const dirs = programDirs();
  for (const dir of dirs) {
    const one = await oneFile(`${dir}/tutti-agent`).catch(() => null);
    if (one) return one;
  }
  for (const dir of dirs) {
    if (await isFile(`${dir}/agent.js`)) return await runtimeAndBundle(`${dir}/agent.js`);
  }
  throw new InstallError(
    "EAGENT",
    `no agent to install in ${dirs.join(" or ")}: build it with compile.sh (dist/tutti-agent), ` +
      `or give --agent FILE`,
  );
}

/** Where this program's build lives: the bundle's own directory, or dist/ beside main.ts. */
function programDirs(): string[] {
  const main = new URL(Deno.mainModule);
  if (main.protocol !== "file:") return [];
  const dir = main.pathname.slice(0, main.pathname.lastIndexOf("/"));
  return [dir, `${dir}/dist`];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** The one file's header values (`tutti_digest=...`), or null when `path` is not one. */
export async function readHeader(path: string): Promise<Record<string, string> | null> {
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(HEADER_BYTES);
    let n = 0;
    while (n < buf.length) {
      const got = await f.read(buf.subarray(n));
      if (got === null) break;
      n += got;
    }
    const text = new TextDecoder().decode(buf.subarray(0, n));
    if (!text.startsWith("#!/bin/sh\n")) return null;
    const values: Record<string, string> = {};
    for (const m of text.matchAll(/^(tutti_\w+|deno_version|unpacked_size)=(\S+)$/gm)) {
      values[m[1]] = m[2];
    }
    return values.tutti_digest && values.tutti_target ? values : null;
  } finally {
    f.close();
  }
}

async function oneFile(path: string): Promise<Artifact | null> {
  const h = await readHeader(path);
  if (h === null) return null;
  const size = (await Deno.stat(path)).size;
  return {
    kind: "one-file",
    files: [{ local: path, name: "tutti-agent", size }],
    digest: h.tutti_digest,
    target: h.tutti_target,
    unpacked: Number(h.unpacked_size ?? 0),
    command: (dir) => [`${dir}/tutti-agent`],
    // Its cache inside the install directory: uninstall removes it with the rest.
    env: (dir) => ({ TUTTI_CACHE_DIR: `${dir}/cache` }),
  };
}

async function runtimeAndBundle(bundle: string): Promise<Artifact> {
  const runtime = Deno.execPath();
  if (!/\/deno$/.test(runtime)) {
    throw new InstallError(
      "EAGENT",
      `no tutti-agent beside ${bundle}, and this program (${runtime}) is not a Deno runtime to ` +
        `copy with it: build dist/tutti-agent with compile.sh, or give --agent FILE`,
    );
  }
  const files = [
    { local: runtime, name: "deno", size: (await Deno.stat(runtime)).size },
    { local: bundle, name: "agent.js", size: (await Deno.stat(bundle)).size },
  ];
  // Streamed: the runtime is about 100 MB.
  const hash = createHash("sha256");
  for (const f of files) {
    for await (const chunk of (await Deno.open(f.local)).readable) hash.update(chunk);
  }
  return {
    kind: "runtime+bundle",
    files,
    digest: hash.digest("hex").slice(0, 16),
    target: Deno.build.target,
    unpacked: 0,
    command: (dir) => [`${dir}/deno`, "run", "-A", "--no-config", `${dir}/agent.js`],
    env: () => ({ DENO_NO_UPDATE_CHECK: "1" }),
  };
}
