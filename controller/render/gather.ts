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
 *
 * Output is kept until the end in a CaptureStore: each distinct output
 * once, and in temporary files once it is more than the store keeps in
 * memory (capture_store.ts), so gathering a large output costs disk, not
 * the controller's memory.
 */
import { compareHosts } from "../../protocol/nodeset.ts";
import { fold } from "../../protocol/selector.ts";
import type { HostOutcome, RunEvent, RunSummary } from "../mod.ts";
import { type Capture, CaptureStore, type CaptureStoreOptions } from "./capture_store.ts";
import { describeOutcome } from "./describe.ts";
import type { Out } from "./out.ts";
import type { RunView } from "./view.ts";

const RULE = "---------------";
const NEWLINE = new Uint8Array([0x0a]);

interface Captured {
  stdout: Capture;
  stderr: Capture;
}

export interface Group {
  hosts: string[];
  what: string;
  stdout: Capture;
  stderr: Capture;
}

export class GatherView implements RunView {
  readonly #captured = new Map<string, Captured>();
  readonly #encoder = new TextEncoder();
  readonly #store: CaptureStore;
  /** Nothing captured: for hosts without output. */
  readonly #empty: Capture;

  constructor(
    private readonly out: Out,
    private readonly okWord = "exit 0",
    store: CaptureStoreOptions = {},
  ) {
    this.#store = new CaptureStore(store);
    this.#empty = this.#store.capture();
  }

  /** Where the output is kept (for tests: whether it spilled, how many distinct outputs). */
  get store(): CaptureStore {
    return this.#store;
  }

  event(e: RunEvent): void {
    if (e.type === "output") {
      this.#of(e.host)[e.stream].append(e.data);
    } else if (e.type === "missing") {
      const note =
        `[${e.bytes} bytes of ${e.stream} missing: ${e.error.code} ${e.error.message}]\n`;
      this.#of(e.host)[e.stream].append(this.#encoder.encode(note));
    }
  }

  end(summary: RunSummary): void {
    try {
      for (const g of this.groups(summary.hosts)) {
        const header = `${RULE}\n${fold(g.hosts)} (${g.what})\n${RULE}\n`;
        this.out.stdout(header);
        this.#write(g.stdout, (b) => this.out.stdout(b));
        if (g.stderr.length > 0) {
          this.out.stderr(header);
          this.#write(g.stderr, (b) => this.out.stderr(b));
        }
      }
    } finally {
      this.#store.close();
    }
  }

  /** The groups of identical output and outcome, in the order of their first host. */
  groups(outcomes: HostOutcome[]): Group[] {
    const all: Group[] = [];
    const buckets = new Map<string, Group[]>();
    const sorted = [...outcomes].sort((a, b) => compareHosts(a.host, b.host));
    for (const o of sorted) {
      const c = this.#captured.get(o.host);
      const stdout = c?.stdout ?? this.#empty;
      const stderr = c?.stderr ?? this.#empty;
      const what = describeOutcome(o, this.okWord);
      const k = `${what}\0${stdout.length}\0${stderr.length}`;
      const bucket = buckets.get(k) ?? [];
      buckets.set(k, bucket);
      const same = bucket.find((g) => g.stdout.sameAs(stdout) && g.stderr.sameAs(stderr));
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

  /** A capture's bytes, ended by a newline if they do not end with one. */
  #write(c: Capture, write: (b: Uint8Array) => void): void {
    if (c.length === 0) return;
    for (const piece of c.pieces()) write(piece);
    if (c.lastByte() !== 0x0a) write(NEWLINE);
  }

  #of(host: string): Captured {
    let c = this.#captured.get(host);
    if (!c) {
      c = { stdout: this.#store.capture(), stderr: this.#store.capture() };
      this.#captured.set(host, c);
    }
    return c;
  }
}
