/**
 * What the transfer (and queue) tests share: a world whose broker has
 * JetStream, trees and digests, and the users `nats-config` makes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Controller } from "../../controller/mod.ts";
import { CONTROLLER_JS, DENO, World } from "./harness.ts";

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

/**
 * The recommended deployment's users, for a test: `controller nats-config
 * --agents AGENTS` run into a temporary directory (the keys, the server
 * configuration `conf`), and a JetStream store beside it; `remove()` at the
 * end.
 */
export interface NatsConfigured {
  keys: string;
  conf: string;
  store: string;
  /** The seed in `<keys>/<file>`, for the test's own connection. */
  seed(file: string): Promise<Uint8Array>;
  /** The controller CLI's options to connect as `<keys>/<who>` (`controller.nk`, `viewer.nk`). */
  as(who: string): { env: Record<string, string> };
  remove(): Promise<void>;
}

export async function natsConfigured(agents: string): Promise<NatsConfigured> {
  const dir = await Deno.makeTempDir({ prefix: "tutti-keys-" });
  const store = await Deno.makeTempDir({ prefix: "tutti-js-" });
  const keys = `${dir}/keys`;
  const conf = `${dir}/auth.conf`;
  const args = ["nats-config", "--agents", agents, "--keys", keys, "--out", conf];
  const made = await new Deno.Command(DENO, {
    args: ["run", "-A", "--no-config", CONTROLLER_JS, ...args],
  }).output();
  assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
  return {
    keys,
    conf,
    store,
    seed: async (file) =>
      new TextEncoder().encode((await Deno.readTextFile(`${keys}/${file}`)).trim()),
    as: (who) => ({ env: { NATS_NKEY: `${keys}/${who}` } }),
    remove: async () => {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(store, { recursive: true }).catch(() => {});
    },
  };
}
