/** What the transfer tests share: a world whose broker has JetStream, trees and digests. */
import { createHash } from "node:crypto";
import { Controller } from "../../controller/mod.ts";
import { World } from "./harness.ts";

export const opts = { sanitizeResources: false, sanitizeOps: false };

/** A world whose broker runs JetStream with a store of its own (removed at close). */
export async function jetStreamWorld(): Promise<{ world: World; close: () => Promise<void> }> {
  const store = await Deno.makeTempDir({ prefix: "tutti-js-" });
  const world = await World.create({ brokerArgs: ["-js", "-sd", store] });
  return {
    world,
    close: async () => {
      await world.close();
      await Deno.remove(store, { recursive: true }).catch(() => {});
    },
  };
}

export async function connect(world: World): Promise<Controller> {
  return await Controller.connect({
    servers: [world.broker.url],
    prefix: world.prefix,
    stateDir: false,
    ackTimeoutMs: 5000,
  });
}

/** `size` bytes that differ from file to file (`seed`), without a random source. */
export function bytesOf(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function shaOf(path: string): Promise<string> {
  return sha(await Deno.readFile(path));
}

/** Every entry under `root`: relative path → `file <mode> <sha>`, `dir <mode>` or `link -> x`. */
export async function describeTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      const st = await Deno.lstat(path);
      const mode = ((st.mode ?? 0) & 0o7777).toString(8);
      if (st.isSymlink) out[r] = `link -> ${await Deno.readLink(path)}`;
      else if (st.isDirectory) {
        out[r] = `dir ${mode}`;
        await walk(path, r);
      } else out[r] = `file ${mode} ${await shaOf(path)}`;
    }
  };
  await walk(root, "");
  return out;
}
