/**
 * How `put` and `get` read on a terminal: one progress line
 * (`put: 12/20 hosts done, 1.2 GiB/5.0 GiB, 310 MiB/s, slowest n-7 41%`),
 * and at the end the failures by error and one summary line in `run`'s
 * words (`20 hosts: 19 ok, 1 failed (n-7)`), then the bytes moved. With
 * `--json`, one JSON object per event on stdout instead of the line.
 */
import type { TransferEvent, TransferSummary } from "../mod.ts";
import type { Out } from "./out.ts";
import { failureLines, summaryLine } from "./summary.ts";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** `512 B`, `1.5 MiB`, `3.0 GiB`. */
export function formatBytes(n: number): string {
  let u = 0;
  while (n >= 1024 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${UNITS[u]}`;
}

export class TransferView {
  readonly #hosts = new Map<string, { done: number; total: number }>();
  #finished = 0;
  #upload = { done: 0, total: 0 };
  readonly #began = Date.now();

  constructor(
    private readonly out: Out,
    private readonly verb: string,
    private readonly json: boolean,
  ) {}

  event(e: TransferEvent): void {
    if (this.json) {
      this.out.stdout(JSON.stringify(e) + "\n");
      return;
    }
    if (e.type === "upload") this.#upload = e;
    else if (e.type === "progress") this.#hosts.set(e.host, { done: e.done, total: e.total });
    else this.#finished++;
    this.out.status(this.line());
  }

  /** The progress line: hosts done, bytes, rate, and the slowest host still at work. */
  line(): string {
    const elapsed = Math.max(0.001, (Date.now() - this.#began) / 1000);
    if (this.#hosts.size === 0 && this.#upload.total > 0) {
      const { done, total } = this.#upload;
      return `${this.verb}: uploading ${formatBytes(done)}/${formatBytes(total)}, ` +
        `${formatBytes(done / elapsed)}/s`;
    }
    let done = 0;
    let total = 0;
    let slowest: [string, number] | undefined;
    for (const [host, p] of this.#hosts) {
      done += p.done;
      total += p.total;
      const frac = p.total === 0 ? 1 : p.done / p.total;
      if (frac < 1 && (!slowest || frac < slowest[1])) slowest = [host, frac];
    }
    const parts = [
      `${this.#finished}/${Math.max(this.#finished, this.#hosts.size)} hosts done`,
      `${formatBytes(done)}/${formatBytes(total)}`,
      `${formatBytes(done / elapsed)}/s`,
    ];
    if (slowest) parts.push(`slowest ${slowest[0]} ${Math.floor(slowest[1] * 100)}%`);
    return `${this.verb}: ${parts.join(", ")}`;
  }

  end(s: TransferSummary): void {
    this.out.status(null);
    if (this.json) {
      this.out.stdout(JSON.stringify({ type: "summary", ...s }) + "\n");
    }
    const moved = s.hosts.reduce((n, h) => n + h.bytes, 0);
    const files = s.hosts.reduce((n, h) => n + h.files, 0);
    const skipped = s.hosts.reduce((n, h) => n + h.skipped, 0);
    const secs = (Date.now() - this.#began) / 1000;
    const upload = this.verb === "put" ? `, ${formatBytes(s.uploaded)} uploaded` : "";
    const lines = [
      ...failureLines(s.hosts),
      summaryLine(s.hosts),
      `${files} file(s) written, ${skipped} already there, ${formatBytes(moved)} moved${upload} ` +
      `in ${secs.toFixed(1)}s`,
    ];
    this.out.stderr(lines.join("\n") + "\n");
  }
}
