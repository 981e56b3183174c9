/**
 * Ctrl-C during `controller run`, the way pdsh answers it: the first press
 * prints where the run stands (done, failed, which hosts still run it) and
 * the run goes on; a second press within a second stops waiting. Stopping
 * to wait does not stop the processes: they belong to the agents, not to
 * this command, so the last lines name the hosts that still run the process
 * and the `kill` command that stops them.
 */
import { compareHosts } from "../../protocol/nodeset.ts";
import { fold } from "../../protocol/selector.ts";
import {
  errorStatus,
  exitStatus,
  type HostOutcome,
  type RunEvent,
  type RunSummary,
  type Unended,
} from "../mod.ts";
import { formatInstant } from "./schedule.ts";
import { failureLines, summaryLine } from "./summary.ts";
import type { RunView } from "./view.ts";

/** A second Ctrl-C within this long of the first stops waiting (pdsh uses one second too). */
export const INTERRUPT_WINDOW_MS = 1000;

export class InterruptView implements RunView {
  readonly #running = new Set<string>();
  readonly #done = new Map<string, HostOutcome>();
  /** A run at an instant: the hosts asked to start then, and the instant. */
  readonly #scheduled = new Set<string>();
  #at = 0;

  constructor(private readonly id: string, private readonly expected: () => number) {}

  event(e: RunEvent): void {
    if (e.type === "scheduled") {
      this.#at = e.at;
      this.#scheduled.add(e.host);
    } else if (e.type === "started") {
      this.#scheduled.delete(e.host);
      if (!this.#done.has(e.host)) this.#running.add(e.host);
    } else if (e.type === "exit") {
      this.#finish({ host: e.host, status: exitStatus(e.proc), proc: e.proc });
    } else if (e.type === "error") {
      this.#finish({ host: e.host, status: errorStatus(e.error), error: e.error });
    }
  }

  end(): void {}

  #finish(o: HostOutcome): void {
    this.#scheduled.delete(o.host);
    this.#running.delete(o.host);
    this.#done.set(o.host, o);
  }

  get #outcomes(): HostOutcome[] {
    return [...this.#done.values()].sort((a, b) => compareHosts(a.host, b.host));
  }

  /** Hosts expected that have neither started the process nor ended. */
  get #waiting(): number {
    const known = this.#done.size + this.#running.size + this.#scheduled.size;
    return Math.max(0, this.expected() - known);
  }

  /** The answer to a first Ctrl-C. */
  status(): string {
    const failed = this.#outcomes.filter((o) => o.status !== "ok").length;
    const parts = [`${this.#done.size} done${failed > 0 ? ` (${failed} failed)` : ""}`];
    parts.push(
      `${this.#running.size} running${this.#running.size ? ` (${fold([...this.#running])})` : ""}`,
    );
    if (this.#scheduled.size > 0) {
      parts.push(`${this.#scheduled.size} to start at ${formatInstant(this.#at)}`);
    }
    if (this.#waiting > 0) parts.push(`${this.#waiting} not answered yet`);
    return `${this.id}: ${parts.join(", ")}; Ctrl-C again within 1s to stop waiting ` +
      `(the processes keep running)`;
  }

  /** The hosts that still run the process, and those still to start it. */
  unended(): Unended {
    return { running: [...this.#running], scheduled: [...this.#scheduled] };
  }

  /** The hosts that finished, as a summary (the views' end of an interrupted run). */
  partial(): RunSummary {
    return { id: this.id, hosts: this.#outcomes, ok: false };
  }

  /** The last lines of an interrupted run. */
  stopLines(): string[] {
    const running = [...this.#running];
    const lines = failureLines(this.#outcomes);
    if (running.length > 0) {
      const where = fold(running);
      lines.push(
        `interrupted: ${where} still running ${this.id}; ` +
          `stop it with: controller kill --hosts '${where}' ${this.id}`,
      );
    }
    if (this.#scheduled.size > 0) {
      const where = fold([...this.#scheduled]);
      lines.push(
        `interrupted: ${where} will start ${this.id} at ${formatInstant(this.#at)}; ` +
          `cancel it with: controller kill --hosts '${where}' ${this.id}`,
      );
    }
    if (running.length === 0 && this.#scheduled.size === 0) lines.push("interrupted");
    lines.push(summaryLine(this.#outcomes, "ok", [
      { label: "still running", count: running.length, hosts: running },
      { label: "to start", count: this.#scheduled.size, hosts: [...this.#scheduled] },
      { label: "not answered yet", count: this.#waiting },
    ]));
    return lines;
  }
}
