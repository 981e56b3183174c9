/**
 * Everything the benchmark starts is registered here, so that one `close()`
 * (in `finally`, or on SIGINT/SIGTERM) stops every process by its PID and
 * removes every temporary directory, whatever failed before.
 */

type Cleanup = () => void | Promise<void>;

export class Scope {
  private readonly cleanups: { what: string; fn: Cleanup }[] = [];
  private readonly children = new Set<Deno.ChildProcess>();
  /** Long-running children (broker, sshd, agents) stopped by their own cleanup, after the others. */
  private readonly services = new Set<Deno.ChildProcess>();
  private closing: Promise<void> | null = null;

  /** Runs `fn` at close, in reverse order of registration. */
  defer(what: string, fn: Cleanup): void {
    this.cleanups.push({ what, fn });
  }

  /**
   * A child is forgotten once it has exited. At close, short-lived children
   * get SIGKILL first (so that sshd still reaps its sessions and agents their
   * processes), then the cleanups stop the services, then anything left gets SIGKILL.
   */
  track(child: Deno.ChildProcess, service = false): Deno.ChildProcess {
    if (this.closing) {
      // Started by a section still running after an interrupt: it must not outlive the scope.
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    this.children.add(child);
    if (service) this.services.add(child);
    child.status.finally(() => {
      this.children.delete(child);
      this.services.delete(child);
    });
    return child;
  }

  get running(): number {
    return this.children.size;
  }

  async tempDir(prefix: string): Promise<string> {
    const dir = await Deno.makeTempDir({ prefix });
    this.defer(`remove ${dir}`, () => Deno.remove(dir, { recursive: true }).catch(() => {}));
    return dir;
  }

  close(): Promise<void> {
    this.closing ??= this.runCleanups();
    return this.closing;
  }

  private async runCleanups(): Promise<void> {
    await this.killAll([...this.children].filter((c) => !this.services.has(c)));
    for (const { what, fn } of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (e) {
        console.error(`bench: cleanup "${what}" failed: ${(e as Error).message}`);
      }
    }
    // Whatever a cleanup did not stop by itself.
    await this.killAll([...this.children]);
  }

  private async killAll(children: Deno.ChildProcess[]): Promise<void> {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await Promise.all(children.map((c) => c.status.catch(() => {})));
  }

  /** Closes the scope and exits when the user interrupts the benchmark. */
  closeOnSignals(): () => void {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const onSignal = () => {
      console.error("\nbench: interrupted, cleaning up");
      this.close().finally(() => Deno.exit(130));
    };
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    return () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    };
  }
}
