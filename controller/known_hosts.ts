/**
 * The controller's memory of the hosts it has seen, per NATS server and
 * prefix: a small JSON file in its state directory. It lets a glob or label
 * selector expect the hosts that answered before (so one that stays silent
 * is reported, not forgotten), and lets `hosts` show a vanished agent as
 * lost. Entries leave by `controller hosts --forget`, or with their server
 * when none of its hosts has been seen for `SERVER_EXPIRY_MS`.
 *
 * Hosts are remembered per server (`serverKey`) because two brokers are two
 * worlds: an agent seen on one is not expected on another. The identity is
 * the server's INFO, known once connected: its cluster name when it has one
 * (every server of a cluster shares it, and a client moves between them),
 * else its configured `server_name`, else its `server_id`. The last one is
 * new at each restart of an unnamed standalone server, so such a server's
 * memory starts afresh after a restart (`server_name` in its configuration
 * keeps it).
 *
 * File format `{v: 2, servers: {KEY: {PREFIX: {HOST: KnownHost}}}}`. A v1
 * file (`{v: 1, prefixes: ...}`, keyed by prefix only) cannot say which
 * server its hosts were seen on: it is read as empty and replaced on the
 * next save.
 *
 * Several controllers may share the file: `save` re-reads it and merges
 * (newest sighting wins, forgotten hosts are removed), then replaces it
 * atomically.
 */
import type { ServerInfo } from "@nats-io/nats-core";
import type { PingReply } from "../protocol/messages.ts";

export interface KnownHost {
  /** When it last answered or sent presence, ms since the epoch (controller clock). */
  lastSeen: number;
  labels?: Record<string, string>;
  /** Heartbeat period in ms, from its presence or ping. */
  heartbeat?: number;
  version?: string;
}

type HostsByName = Record<string, KnownHost>;

interface FileShape {
  v: 2;
  /** Server key → prefix → host name → what was seen. */
  servers: Record<string, Record<string, HostsByName>>;
}

const FILE_NAME = "known_hosts.json";
/** A server none of whose hosts was seen for this long leaves the file (it was restarted, or is gone). */
export const SERVER_EXPIRY_MS = 30 * 24 * 3600_000;

/**
 * The key of the server a connection is on: `cluster NAME` (shared by every
 * server of a cluster) or `server NAME-OR-ID` for a standalone server.
 */
export function serverKey(info: Pick<ServerInfo, "server_id" | "server_name" | "cluster">): string {
  if (info.cluster) return `cluster ${info.cluster}`;
  return `server ${info.server_name || info.server_id}`;
}

/** `$TUTTI_STATE_DIR`, else `$XDG_STATE_HOME/tutti`, else `~/.local/state/tutti`. */
export function defaultStateDir(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n) || undefined,
): string {
  const explicit = env("TUTTI_STATE_DIR");
  if (explicit) return explicit;
  const base = env("XDG_STATE_HOME") ?? `${env("HOME") ?? "."}/.local/state`;
  return `${base}/tutti`;
}

export class KnownHosts {
  readonly #hosts = new Map<string, KnownHost>();
  readonly #changed = new Set<string>();
  readonly #forgotten = new Set<string>();
  #saving: Promise<void> = Promise.resolve();

  /**
   * `path` null: memory only (nothing read or written). `server` null: the
   * hosts of `prefix` on every server, for forgetting only.
   */
  private constructor(
    readonly path: string | null,
    readonly server: string | null,
    readonly prefix: string,
  ) {}

  static memory(prefix: string): KnownHosts {
    return new KnownHosts(null, null, prefix);
  }

  /**
   * The cache of `prefix` on `server` (a `serverKey`) in `stateDir`; a
   * missing or unreadable file is an empty cache.
   */
  static async load(stateDir: string, server: string, prefix: string): Promise<KnownHosts> {
    const k = new KnownHosts(`${stateDir}/${FILE_NAME}`, server, prefix);
    const file = await readFile(k.path!);
    for (const [name, h] of Object.entries(file.servers[server]?.[prefix] ?? {})) {
      if (isKnownHost(h)) k.#hosts.set(name, h);
    }
    return k;
  }

  /**
   * The hosts of `prefix` on every server in the file, without connecting:
   * what `hosts --forget` removes from. Sightings cannot be recorded in it.
   */
  static async loadEveryServer(stateDir: string, prefix: string): Promise<KnownHosts> {
    const k = new KnownHosts(`${stateDir}/${FILE_NAME}`, null, prefix);
    const file = await readFile(k.path!);
    for (const prefixes of Object.values(file.servers)) {
      for (const [name, h] of Object.entries(prefixes[prefix] ?? {})) {
        const had = k.#hosts.get(name);
        if (isKnownHost(h) && (!had || had.lastSeen < h.lastSeen)) k.#hosts.set(name, h);
      }
    }
    return k;
  }

  get(host: string): KnownHost | undefined {
    return this.#hosts.get(host);
  }

  names(): string[] {
    return [...this.#hosts.keys()];
  }

  entries(): [string, KnownHost][] {
    return [...this.#hosts.entries()];
  }

  /** Records a sighting now; `info` (a ping reply or presence body) refreshes what it carries. */
  seen(host: string, info?: Partial<PingReply>, now = Date.now()): void {
    if (this.path !== null && this.server === null) {
      throw new Error("known hosts of every server: a sighting needs its server");
    }
    const old = this.#hosts.get(host);
    const h: KnownHost = { ...old, lastSeen: Math.max(now, old?.lastSeen ?? 0) };
    if (info?.labels) h.labels = info.labels;
    if (typeof info?.heartbeat === "number") h.heartbeat = info.heartbeat;
    if (typeof info?.version === "string") h.version = info.version;
    this.#hosts.set(host, h);
    this.#changed.add(host);
    this.#forgotten.delete(host);
  }

  /** Removes `host`; true if it was known. */
  forget(host: string): boolean {
    this.#changed.delete(host);
    this.#forgotten.add(host);
    return this.#hosts.delete(host);
  }

  get dirty(): boolean {
    return this.#changed.size > 0 || this.#forgotten.size > 0;
  }

  /** Merges this session's changes into the file. Best effort: a read-only home must not fail a run. */
  save(now = Date.now()): Promise<void> {
    // One save at a time: two at once (an operation's end and `close`) would share the
    // temporary file and could leave a damaged cache behind.
    const next = this.#saving.then(() => this.#save(now));
    this.#saving = next.catch(() => {});
    return next;
  }

  async #save(now: number): Promise<void> {
    if (this.path === null || !this.dirty) return;
    const file = await readFile(this.path);
    const servers = this.server === null
      ? Object.keys(file.servers).filter((k) => file.servers[k][this.prefix])
      : [this.server];
    for (const server of servers) {
      const mine = (file.servers[server] ??= {})[this.prefix] ??= {};
      for (const host of this.#forgotten) delete mine[host];
      for (const host of this.#changed) {
        const h = this.#hosts.get(host)!;
        const theirs = mine[host];
        mine[host] = isKnownHost(theirs) && theirs.lastSeen > h.lastSeen ? { ...h, ...theirs } : h;
      }
    }
    expireServers(file, now);
    const dir = this.path.slice(0, this.path.lastIndexOf("/"));
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    try {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(tmp, JSON.stringify(file, null, 1) + "\n");
      await Deno.rename(tmp, this.path);
      this.#changed.clear();
      this.#forgotten.clear();
    } catch {
      await Deno.remove(tmp).catch(() => {});
    }
  }
}

async function readFile(path: string): Promise<FileShape> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(path));
    // Anything else, v1 included (its hosts name no server), is read as empty.
    if (parsed?.v === 2 && isRecord(parsed.servers)) {
      const servers: FileShape["servers"] = {};
      for (const [key, prefixes] of Object.entries(parsed.servers)) {
        if (!isRecord(prefixes)) continue;
        servers[key] = {};
        for (const [prefix, hosts] of Object.entries(prefixes)) {
          if (isRecord(hosts)) servers[key][prefix] = hosts as HostsByName;
        }
      }
      return { v: 2, servers };
    }
  } catch {
    // missing or damaged: start afresh (it is only a cache)
  }
  return { v: 2, servers: {} };
}

/** Drops the servers none of whose hosts was seen within `SERVER_EXPIRY_MS`. */
function expireServers(file: FileShape, now: number): void {
  for (const [key, prefixes] of Object.entries(file.servers)) {
    const hosts = Object.values(prefixes).flatMap((p) => Object.values(p));
    const last = Math.max(-Infinity, ...hosts.map((h) => isKnownHost(h) ? h.lastSeen : -Infinity));
    if (last < now - SERVER_EXPIRY_MS) delete file.servers[key];
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isKnownHost(x: unknown): x is KnownHost {
  return typeof x === "object" && x !== null && typeof (x as KnownHost).lastSeen === "number";
}
