/**
 * The live progress line on a terminal's stderr for long fan-outs:
 * `r1a2b: 45/100 done (3 failed), 50 running, 5 waiting`. It is drawn through
 * `Out.status`, which keeps it below the output and removes it at the end.
 */
import type { RunEvent } from "../mod.ts";
import type { Out } from "./out.ts";
import type { RunView } from "./view.ts";

export class ProgressView implements RunView {
  readonly #running = new Set<string>();
  readonly #done = new Set<string>();
  #failed = 0;

  constructor(
    private readonly out: Out,
    private readonly id: string,
    private readonly expected: () => number,
  ) {}

  event(e: RunEvent): void {
    if (e.type === "started") {
      this.#running.add(e.host);
    } else if (e.type === "exit" || e.type === "error") {
      this.#running.delete(e.host);
      if (!this.#done.has(e.host)) {
        this.#done.add(e.host);
        if (e.type === "error" || e.proc.code !== 0) this.#failed++;
      }
    } else {
      return;
    }
    this.out.status(this.line());
  }

  end(): void {
    this.out.status(null);
  }

  line(): string {
    const total = Math.max(this.expected(), this.#done.size + this.#running.size);
    const waiting = Math.max(0, total - this.#done.size - this.#running.size);
    const failed = this.#failed > 0 ? ` (${this.#failed} failed)` : "";
    const parts = [`${this.#done.size}/${total} done${failed}`, `${this.#running.size} running`];
    if (waiting > 0) parts.push(`${waiting} waiting`);
    return `${this.id}: ${parts.join(", ")}`;
  }
}
