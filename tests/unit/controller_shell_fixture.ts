/**
 * For the shell's unit tests: a `ShellBackend` over a table of hosts and
 * their processes (what agents would answer), recording every call, and a
 * `Terminal` that is typed into and read from.
 */
import type {
  ActionRow,
  Answer,
  Attachment,
  OutputFeed,
  OutputPiece,
  ProgramAction,
  ProgramRow,
  ReloadRow,
  ShellBackend,
  StreamName,
} from "../../controller/shell/backend.ts";
import { InputQueue } from "../../controller/shell/input_queue.ts";
import type { Terminal } from "../../controller/shell/interactive.ts";
import { nameMatches } from "../../controller/shell/program_commands.ts";

const enc = new TextEncoder();

export function row(host: string, name: string, state = "RUNNING"): ProgramRow {
  const program = name.split(":")[0];
  const description = state === "RUNNING" ? "pid 100, uptime 0:00:05" : "Not started";
  return { host, name, program, state, description };
}

export class TableBackend implements ShellBackend {
  readonly calls: string[] = [];
  /** Hosts that do not answer (ENORESPONSE). */
  readonly silent = new Set<string>();
  /** `host:name` → what `tail` returns. */
  readonly output = new Map<string, string>();
  /** Bytes written to attached processes, as text. */
  readonly typed: string[] = [];
  /** Pieces an attached process "writes" (pushed by the test). */
  readonly attachOutput = new InputQueue();
  inputClosed = false;
  /** Attached processes run under a pseudo-terminal (`tty: true`). */
  attachTerminal = false;
  /** Sizes sent to attached processes, as "ROWSxCOLS". */
  readonly sizes: string[] = [];
  readonly #watchers = new Set<() => void>();

  constructor(readonly rows: ProgramRow[]) {}

  /** Resolves once `check` holds (checked after every call and write). */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    const test = () => {
      if (!check()) return;
      this.#watchers.delete(test);
      resolve();
    };
    this.#watchers.add(test);
    return promise;
  }

  #changed(): void {
    for (const fn of [...this.#watchers]) fn();
  }

  #call(what: string): void {
    this.calls.push(what);
    this.#changed();
  }

  #hosts(host: string | undefined): string[] {
    const all = [...new Set([...this.rows.map((r) => r.host), ...this.silent])].sort();
    return host === undefined ? all : [host];
  }

  #answer<T>(host: string | undefined, fn: (h: string) => Partial<Answer<T>>): Answer<T> {
    const answer: Answer<T> = { rows: [], failures: [], errors: [] };
    for (const h of this.#hosts(host)) {
      if (this.silent.has(h)) {
        answer.errors.push({ host: h, error: { code: "ENORESPONSE", message: "no answer" } });
        continue;
      }
      const a = fn(h);
      answer.rows.push(...a.rows ?? []);
      answer.failures.push(...a.failures ?? []);
    }
    return answer;
  }

  #matching(h: string, names: string[]) {
    const mine = this.rows.filter((r) => r.host === h);
    const failures: ActionRow[] = names
      .filter((n) => !mine.some((r) => nameMatches(n, r.name)))
      .map((n) => ({
        host: h,
        name: n,
        message: "no such process",
        error: { code: "ESRCH", message: `${n}: no such process` },
      }));
    const rows = names.length === 0
      ? mine
      : mine.filter((r) => names.some((n) => nameMatches(n, r.name)));
    return { rows, failures };
  }

  hosts(): Promise<Answer<string>> {
    this.#call("hosts");
    return Promise.resolve(this.#answer(undefined, (h) => ({ rows: [h] })));
  }

  status(host: string | undefined, names: string[]): Promise<Answer<ProgramRow>> {
    this.#call(`status ${host ?? "*"} ${names.join(" ")}`.trimEnd());
    return Promise.resolve(this.#answer(host, (h) => this.#matching(h, names)));
  }

  control(
    action: ProgramAction,
    host: string | undefined,
    names: string[],
  ): Promise<Answer<ActionRow>> {
    this.#call(`${action} ${host ?? "*"} ${names.join(" ")}`);
    return Promise.resolve(this.#answer<ActionRow>(host, (h) => {
      const { rows, failures } = this.#matching(h, names);
      const done: ActionRow[] = [];
      for (const r of rows) {
        const running = r.state === "RUNNING";
        if (action === "start" && running) {
          failures.push({
            host: h,
            name: r.name,
            message: "already started",
            error: { code: "EEXIST", message: "already started" },
          });
          continue;
        }
        r.state = action === "stop" ? "STOPPED" : "RUNNING";
        done.push({ host: h, name: r.name, message: action === "stop" ? "stopped" : "started" });
      }
      return { rows: done, failures };
    }));
  }

  /** While set, reload answers only once it resolves (an agent taking its time). */
  reloadGate: Promise<void> | null = null;

  async reload(host: string | undefined): Promise<Answer<ReloadRow>> {
    this.#call(`reload ${host ?? "*"}`);
    await this.reloadGate;
    return this.#answer<ReloadRow>(host, (h) => ({
      rows: [{ host: h, source: "programs.yaml", added: ["cache"], changed: ["web"], removed: [] }],
    }));
  }

  shutdown(hosts: string[]): Promise<Answer<string>> {
    this.#call(`shutdown ${hosts.join(" ")}`.trimEnd());
    return Promise.resolve(
      this.#answer(hosts.length === 1 ? hosts[0] : undefined, (h) => ({ rows: [h] })),
    );
  }

  tail(host: string, name: string, opts: { stream: StreamName; follow: boolean }): OutputFeed {
    this.#call(`tail ${host} ${name} ${opts.stream}${opts.follow ? " follow" : ""}`);
    const text = this.output.get(`${host}:${name}`) ?? "";
    let closed = false;
    const { promise: ended, resolve: end } = Promise.withResolvers<void>();
    return {
      async *[Symbol.asyncIterator]() {
        yield { type: "output", stream: opts.stream, data: enc.encode(text) } as OutputPiece;
        if (opts.follow && !closed) await ended;
      },
      close: () => {
        closed = true;
        end();
        return Promise.resolve();
      },
    };
  }

  attach(host: string, name: string): Attachment {
    this.#call(`attach ${host} ${name}`);
    const queue = this.attachOutput;
    const stop = new AbortController();
    const dec = new TextDecoder();
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const chunk = await queue.next(stop.signal);
          if (!chunk) return;
          yield { type: "output", stream: "stdout", data: chunk } as OutputPiece;
        }
      },
      close: () => {
        stop.abort();
        return Promise.resolve();
      },
      write: (data) => {
        this.typed.push(dec.decode(data));
        this.#changed();
        return Promise.resolve();
      },
      terminal: () => Promise.resolve(this.attachTerminal),
      resize: (rows, cols) => {
        this.sizes.push(`${rows}x${cols}`);
        this.#changed();
        return Promise.resolve();
      },
      closeInput: () => {
        this.inputClosed = true;
        this.#changed();
        return Promise.resolve();
      },
    };
  }
}

/** A terminal typed into by the test; everything written to it is kept as text. */
export class FakeTerminal implements Terminal {
  readonly input = new InputQueue();
  screen = "";
  raw: boolean[] = [];
  readonly #waiters: { text: string; resolve: () => void }[] = [];

  write(data: string | Uint8Array): void {
    this.screen += typeof data === "string" ? data : new TextDecoder().decode(data);
    for (const w of [...this.#waiters]) {
      if (this.screen.includes(w.text)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  columns(): number {
    return 80;
  }

  rows = 24;
  #onResize: (() => void) | null = null;

  size(): { rows: number; columns: number } {
    return { rows: this.rows, columns: this.columns() };
  }

  onResize(fn: () => void): () => void {
    this.#onResize = fn;
    return () => this.#onResize = null;
  }

  /** The window gets `rows` rows (as SIGWINCH would say). */
  resize(rows: number): void {
    this.rows = rows;
    this.#onResize?.();
  }

  setRaw(on: boolean): void {
    this.raw.push(on);
  }

  type(text: string): void {
    this.input.push(enc.encode(text));
  }

  /** Resolves once `text` has been written (the screen is checked as it grows). */
  shows(text: string): Promise<void> {
    if (this.screen.includes(text)) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ text, resolve });
    return promise;
  }
}
