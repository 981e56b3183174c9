/**
 * Gathered output, like `clush -b`: at the end, hosts whose output AND
 * outcome are identical are printed once under one folded node set:
 *
 *   ---------------
 *   g5k-[1-3] (exit 0)
 *   ---------------
 *   Linux
 *
 * stdout goes to stdout; a group's stderr, if any, goes to stderr under the
 * same header. Groups come in the order of their first host.
 */
import { compareHosts } from "../../protocol/nodeset.ts";
import { fold } from "../../protocol/selector.ts";
import type { HostOutcome, RunEvent, RunSummary } from "../mod.ts";
import { describeOutcome } from "./describe.ts";
import { concat, type Out } from "./out.ts";
import type { RunView } from "./view.ts";

const RULE = "---------------";

interface Captured {
  stdout: Uint8Array[];
  stderr: Uint8Array[];
}

export interface Group {
  hosts: string[];
  what: string;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

export class GatherView implements RunView {
  readonly #captured = new Map<string, Captured>();
  readonly #encoder = new TextEncoder();

  constructor(private readonly out: Out, private readonly okWord = "exit 0") {}

  event(e: RunEvent): void {
    if (e.type === "output") {
      this.#of(e.host)[e.stream].push(e.data.slice());
    } else if (e.type === "missing") {
      const note =
        `[${e.bytes} bytes of ${e.stream} missing: ${e.error.code} ${e.error.message}]\n`;
      this.#of(e.host)[e.stream].push(this.#encoder.encode(note));
    }
  }

  end(summary: RunSummary): void {
    for (const g of this.groups(summary.hosts)) {
      const header = `${RULE}\n${fold(g.hosts)} (${g.what})\n${RULE}\n`;
      this.out.stdout(header);
      if (g.stdout.length > 0) this.out.stdout(withNewline(g.stdout));
      if (g.stderr.length > 0) {
        this.out.stderr(header);
        this.out.stderr(withNewline(g.stderr));
      }
    }
  }

  /** The groups of identical output and outcome, in the order of their first host. */
  groups(outcomes: HostOutcome[]): Group[] {
    const all: Group[] = [];
    const buckets = new Map<string, Group[]>();
    const sorted = [...outcomes].sort((a, b) => compareHosts(a.host, b.host));
    for (const o of sorted) {
      const c = this.#captured.get(o.host);
      const stdout = concat(c?.stdout ?? []);
      const stderr = concat(c?.stderr ?? []);
      const what = describeOutcome(o, this.okWord);
      const k = `${what}\0${stdout.length}\0${digest(stdout)}\0${digest(stderr)}`;
      const bucket = buckets.get(k) ?? [];
      buckets.set(k, bucket);
      const same = bucket.find((g) => equal(g.stdout, stdout) && equal(g.stderr, stderr));
      if (same) {
        same.hosts.push(o.host);
      } else {
        const g = { hosts: [o.host], what, stdout, stderr };
        bucket.push(g);
        all.push(g);
      }
    }
    return all;
  }

  #of(host: string): Captured {
    let c = this.#captured.get(host);
    if (!c) {
      c = { stdout: [], stderr: [] };
      this.#captured.set(host, c);
    }
    return c;
  }
}

function withNewline(b: Uint8Array): Uint8Array {
  return b[b.length - 1] === 0x0a ? b : concat([b, new Uint8Array([0x0a])]);
}

/** A cheap content hash (FNV-1a) to bucket outputs; equality is then checked byte by byte. */
function digest(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
