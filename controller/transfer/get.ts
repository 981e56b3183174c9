/**
 * `get`: files from many hosts, each host's under `LOCALDIR/<host>/` (as
 * `rpdcp` and `clush --rcopy` do). One broadcast asks every host for the
 * manifest of its paths (acknowledged, then answered: digests take a read);
 * then each host's files are pulled with `read` requests (file_pull.ts),
 * several hosts at once. Paths in a manifest are relative and checked
 * (protocol/transfer_messages.ts), so no host can write outside its own
 * directory.
 */
import { makeDir, placeLink } from "../../protocol/files/part_file.ts";
import { toWireError, TuttiError } from "../../protocol/errors.ts";
import { checkToken } from "../../protocol/subjects.ts";
import { compareHosts } from "../../protocol/nodeset.ts";
import { type GetReply, parseGetReply } from "../../protocol/transfer_messages.ts";
import type { Scope } from "../broadcast/scope.ts";
import { errorStatus } from "../events.ts";
import { fanout } from "../fanout.ts";
import { Channel } from "../operation.ts";
import type { ResolvedTarget } from "../target.ts";
import { pullFile } from "./file_pull.ts";
import type { TransferOperation } from "./put.ts";
import type { TransferEvent, TransferResult, TransferSummary } from "./transfer_events.ts";

export interface GetOptions {
  /** Paths on the hosts (`{host}`, `~` and relative paths as for put). */
  paths: string[];
  /** Local directory: each host's files land in `<dir>/<host>/`. */
  dir: string;
  /** Hosts pulled from at once (default 8). */
  parallel?: number;
  signal?: AbortSignal;
}

/** How long a host may take to walk and hash its paths. */
const MANIFEST_TIMEOUT_S = 3600;
const PROGRESS_MS = 250;

export function startGet(
  scope: Scope,
  resolved: ResolvedTarget,
  opts: GetOptions,
): TransferOperation {
  const op = new Channel<TransferEvent, TransferSummary>();
  (async () => {
    if (opts.paths.length === 0) throw new TuttiError("EINVAL", "get: no path to fetch");
    await makeDir(opts.dir);
    const manifests = fanout(scope, {
      verb: "get",
      body: { paths: opts.paths },
      acked: { timeoutS: MANIFEST_TIMEOUT_S },
      parse: parseGetReply,
    }, resolved);
    const results: TransferResult[] = [];
    const running = new Set<Promise<void>>();
    const parallel = Math.max(1, opts.parallel ?? 8);
    let total = 0;
    for await (const r of manifests) {
      opts.signal?.throwIfAborted();
      if (!r.ok) {
        const result = failed(r.host, r.error);
        results.push(result);
        op.push({ type: "result", result });
        continue;
      }
      const size = r.sources.reduce((n, s) => n + s.entries.reduce((m, e) => m + e.size, 0), 0);
      total += size;
      const p = pullHost(scope, r.host, r, opts.dir, size, (e) => op.push(e)).then((result) => {
        results.push(result);
        op.push({ type: "result", result });
      });
      running.add(p);
      p.finally(() => running.delete(p)).catch(() => {});
      if (running.size >= parallel) await Promise.race(running);
    }
    await Promise.all(running);
    await manifests.done;
    results.sort((a, b) => compareHosts(a.host, b.host));
    op.end({
      hosts: results,
      ok: results.length > 0 && results.every((h) => h.status === "ok"),
      uploaded: 0,
      total,
    });
  })().catch((e) => op.fail(e));
  return op;
}

function failed(host: string, error: TransferResult["error"] & object): TransferResult {
  return { host, status: errorStatus(error), error, files: 0, skipped: 0, bytes: 0, resumed: 0 };
}

/** Every file of one host; the first error ends the host, named with its path. */
async function pullHost(
  scope: Scope,
  host: string,
  manifest: GetReply,
  dir: string,
  total: number,
  push: (e: TransferEvent) => void,
): Promise<TransferResult> {
  const result: TransferResult = { host, status: "ok", files: 0, skipped: 0, bytes: 0, resumed: 0 };
  let done = 0;
  let shownAt = 0;
  const progress = (n: number) => {
    done += n;
    const now = Date.now();
    if (now - shownAt < PROGRESS_MS && done < total) return;
    shownAt = now;
    push({ type: "progress", host, done, total });
  };
  const modes: [string, number][] = [];
  try {
    const root = `${dir}/${checkToken("host name", host)}`;
    for (const source of manifest.sources) {
      const base = source.entries[0]?.path ?? "";
      for (const e of source.entries) {
        const local = `${root}/${e.path}`;
        const remote = source.path + e.path.slice(base.length);
        if (e.kind === "dir") {
          await makeDir(local);
          modes.push([local, e.mode]);
        } else if (e.kind === "link") {
          await makeDir(local.slice(0, local.lastIndexOf("/")));
          await placeLink(e.link!, local);
        } else {
          await makeDir(local.slice(0, local.lastIndexOf("/")));
          const c = await pullFile(scope.link, host, remote, local, {
            size: e.size,
            sha256: e.sha256!,
            mode: e.mode,
          }, progress);
          if (c.skipped) result.skipped++;
          else result.files++;
          result.bytes += c.bytes;
          result.resumed += c.resumed;
        }
      }
    }
    for (const [d, mode] of modes.reverse()) await Deno.chmod(d, mode);
  } catch (e) {
    const error = toWireError(e);
    return { ...result, status: errorStatus(error), error };
  }
  return result;
}
