/**
 * Waiting for each installed agent to say hello, through the controller
 * library's own presence (`Controller.telemetry`: a ping of the names first,
 * then every presence message). Followed from the start of the install, so
 * that what an agent says is never missed, and so that an agent already
 * running is known (its pid and start time) before it is upgraded.
 */
import type { Controller, PingReply, TelemetryHandle } from "../../mod.ts";

type Info = Partial<PingReply>;

interface Waiter {
  match: (info: Info) => boolean;
  resolve: (info: Info) => void;
}

export class Hellos {
  readonly #last = new Map<string, Info>();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #handle: TelemetryHandle;
  readonly #ready = Promise.withResolvers<void>();

  constructor(controller: Controller, hosts: string) {
    const handle = this.#handle = controller.telemetry({ hosts });
    (async () => {
      for await (const e of handle) {
        if (e.type === "ready") this.#ready.resolve();
        if (e.type !== "up") continue;
        this.#last.set(e.host, e.info);
        const list = this.#waiters.get(e.host) ?? [];
        for (const w of list.filter((w) => w.match(e.info))) {
          list.splice(list.indexOf(w), 1);
          w.resolve(e.info);
        }
      }
    })().finally(() => this.#ready.resolve());
  }

  /** Resolves once the first ping is over: every agent already up has answered. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** What `host` last said about itself (its pid, its start time), if anything. */
  seen(host: string): Info | undefined {
    return this.#last.get(host);
  }

  /**
   * The first presence of `host` that `match` accepts (one already seen
   * counts), or null after `timeoutMs`.
   */
  wait(host: string, match: (info: Info) => boolean, timeoutMs: number): Promise<Info | null> {
    const last = this.#last.get(host);
    if (last && match(last)) return Promise.resolve(last);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const list = this.#waiters.get(host) ?? [];
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        resolve(null);
      }, timeoutMs);
      const w: Waiter = {
        match,
        resolve: (info) => {
          clearTimeout(timer);
          resolve(info);
        },
      };
      const list = this.#waiters.get(host) ?? [];
      list.push(w);
      this.#waiters.set(host, list);
    });
  }

  close(): Promise<void> {
    return this.#handle.close();
  }
}
