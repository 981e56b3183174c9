/**
 * A detached run prints, per host, the process it started and returns:
 * `t-1: started r1a2b (pid 4242)`, with `--at` when it started
 * (`at 14:03:27.250412, +0.41 ms ±0.05`). An idempotent retry says so:
 * `t-1: r1a2b already running (pid 4242)`.
 */
import type { RunEvent } from "../mod.ts";
import { describeExit } from "./describe.ts";
import { describeStart } from "./schedule.ts";
import type { Out } from "./out.ts";
import type { RunView } from "./view.ts";

export class DetachView implements RunView {
  constructor(private readonly out: Out) {}

  event(e: RunEvent): void {
    if (e.type !== "started") return;
    const p = e.proc;
    const line = !e.existing
      ? `${e.host}: started ${p.id} (pid ${p.pid})${e.sync ? ` ${describeStart(e.sync)}` : ""}`
      : p.state === "running"
      ? `${e.host}: ${p.id} already running (pid ${p.pid})`
      : `${e.host}: ${p.id} already ran (pid ${p.pid}, ${describeExit(p)})`;
    this.out.stdout(line + "\n");
  }

  end(): void {}
}
