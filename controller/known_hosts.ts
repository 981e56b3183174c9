/**
 * The controller's memory of the hosts it has seen, per prefix: a small JSON
 * file in its state directory. It lets a glob or label selector expect the
 * hosts that answered before (so one that stays silent is reported, not
 * forgotten), and lets `hosts` show a vanished agent as lost. Entries leave
 * only by `controller hosts --forget`.
 *
 * Several controllers may share the file: `save` re-reads it and merges
 * (newest sighting wins, forgotten hosts are removed), then replaces it
 * atomically.
 */
import type { PingReply } from "../protocol/messages.ts";

export interface KnownHost {
  /** When it last answered or sent presence, ms since the epoch (controller clock). */
  lastSeen: number;
  labels?: Record<string, string>;
  /** Heartbeat period in ms, from its presence or ping. */
  heartbeat?: number;
  version?: string;
}

interface FileShape {
  v: 1;
  prefixes: Record<string, Record<string, KnownHost>>;
}

const FILE_NAME = "known_hosts.json";

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

  /** `path` null: memory only (nothing read or written). */
  private constructor(readonly path: string | null, readonly prefix: string) {}

  static memory(prefix: string): KnownHosts {
    return new KnownHosts(null, prefix);
  }

  /** The cache of `prefix` in `stateDir`; a missing or unreadable file is an empty cache. */
  static async load(stateDir: string, prefix: string): Promise<KnownHosts> {
    const k = new KnownHosts(`${stateDir}/${FILE_NAME}`, prefix);
    const file = await readFile(k.path!);
    for (const [name, h] of Object.entries(file.prefixes[prefix] ?? {})) {
      if (isKnownHost(h)) k.#hosts.set(name, h);
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
  async save(): Promise<void> {
    if (this.path === null || !this.dirty) return;
    const file = await readFile(this.path);
    const mine = file.prefixes[this.prefix] ??= {};
    for (const host of this.#forgotten) delete mine[host];
    for (const host of this.#changed) {
      const h = this.#hosts.get(host)!;
      const theirs = mine[host];
      mine[host] = isKnownHost(theirs) && theirs.lastSeen > h.lastSeen ? { ...h, ...theirs } : h;
    }
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
    if (parsed?.v === 1 && typeof parsed.prefixes === "object" && parsed.prefixes !== null) {
      return parsed as FileShape;
    }
  } catch {
    // missing or damaged: start afresh (it is only a cache)
  }
  return { v: 1, prefixes: {} };
}

function isKnownHost(x: unknown): x is KnownHost {
  return typeof x === "object" && x !== null && typeof (x as KnownHost).lastSeen === "number";
}
