/**
 * The shell's core: runs commands, alone or as a script, with what the
 * place it runs in provides (a terminal, `shell -c`, lines on stdin).
 * Every command's failure is printed and counted; the shell goes on.
 */
import { TuttiError } from "../../protocol/errors.ts";
import { ConnectError } from "../mod.ts";
import type { ShellBackend } from "./backend.ts";
import { type Command, type CommandContext, CommandError } from "./command.ts";
import { COMMANDS, findCommand } from "./commands.ts";
import { Catalog } from "./completion.ts";
import type { InputQueue } from "./input_queue.ts";
import { ParseError, parseScript } from "./parse.ts";
import { PieceWriter } from "./stream_commands.ts";

export interface ShellOutput {
  stdout(data: string | Uint8Array): void;
  stderr(data: string | Uint8Array): void;
}

/** What differs between a terminal and a script. */
export interface Surroundings {
  interactive: boolean;
  confirm(question: string): Promise<boolean>;
  attach: CommandContext["attach"];
  /**
   * Calls `interrupt` when the user interrupts the running command, until
   * the returned function is called (and has resolved).
   */
  watchInterrupt?(interrupt: () => void): () => Promise<void>;
}

export class Shell {
  readonly catalog = new Catalog();
  #quitting = false;

  constructor(
    readonly backend: ShellBackend,
    readonly output: ShellOutput,
    readonly commands: readonly Command[] = COMMANDS,
  ) {}

  /** A command said quit. */
  get quitting(): boolean {
    return this.#quitting;
  }

  /** Runs one command (its words); true when it went well. */
  async execute(words: string[], where: Surroundings): Promise<boolean> {
    const cmd = findCommand(this.commands, words[0]);
    if (!cmd) {
      this.output.stderr(`unknown command ${JSON.stringify(words[0])} (help lists them)\n`);
      return false;
    }
    const abort = new AbortController();
    // After an interrupt, whatever the abandoned command still prints is dropped.
    let live = true;
    const ctx: CommandContext = {
      backend: this.backend,
      catalog: this.catalog,
      commands: this.commands,
      interactive: where.interactive,
      out: (t) => live && this.output.stdout(t),
      err: (t) => live && this.output.stderr(t),
      confirm: (q) => where.confirm(q),
      attach: where.attach,
      signal: abort.signal,
      quit: () => this.#quitting = true,
    };
    const stopWatch = where.watchInterrupt?.(() => abort.abort());
    try {
      const run = cmd.run(words.slice(1), ctx);
      if (cmd.interruptible) return await run;
      const interrupted = new Promise<"interrupted">((resolve) =>
        abort.signal.addEventListener("abort", () => resolve("interrupted"), { once: true })
      );
      const outcome = await Promise.race([run, interrupted]);
      if (outcome !== "interrupted") return outcome;
      live = false;
      run.catch(() => {});
      this.output.stderr("interrupted (the agents carry on with what was asked)\n");
      return false;
    } catch (e) {
      if (live) this.output.stderr(errorText(e));
      return false;
    } finally {
      await stopWatch?.();
    }
  }

  /** The commands of `text` (`;` or newlines between them) in order; false if any failed. */
  async runScript(text: string, where: Surroundings): Promise<boolean> {
    let commands: string[][];
    try {
      commands = parseScript(text);
    } catch (e) {
      this.output.stderr(errorText(e));
      return false;
    }
    let ok = true;
    for (const words of commands) {
      ok = await this.execute(words, where) && ok;
      if (this.#quitting) break;
    }
    return ok;
  }

  /** Commands from input that is not a terminal, each line run as it arrives. */
  async runLines(input: InputQueue, where: Surroundings): Promise<boolean> {
    const decoder = new TextDecoder();
    let pending = "";
    let ok = true;
    for (;;) {
      const chunk = await input.next();
      const text = chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
      pending += text;
      const end = chunk ? pending.lastIndexOf("\n") : pending.length;
      if (end >= 0) {
        const lines = pending.slice(0, end);
        pending = pending.slice(end + 1);
        for (const line of lines.split("\n")) {
          ok = await this.runScript(line, where) && ok;
          if (this.#quitting) return ok;
        }
      }
      if (!chunk) return ok;
    }
  }

  /**
   * Learns the hosts and program names for completion. Failures are left
   * for the commands to report.
   */
  async refreshCatalog(): Promise<void> {
    try {
      const [hosts, status] = await Promise.all([
        this.backend.hosts(),
        this.backend.status(undefined, []),
      ]);
      this.catalog.learnHosts(hosts.rows);
      this.catalog.learnStatus(status.rows, true);
    } catch {
      // Not connected yet, or the broker is away: the next command says so.
    }
  }
}

/**
 * Surroundings of a script: no questions; attach forwards the input (when
 * there is some; `input` is called at the first attach) until its end.
 */
export function scriptSurroundings(
  output: ShellOutput,
  input: (() => InputQueue) | null,
): Surroundings {
  return {
    interactive: false,
    confirm: () => Promise.resolve(true),
    attach: input === null ? null : async (session) => {
      const writer = new PieceWriter({ out: output.stdout, err: output.stderr });
      const stop = new AbortController();
      const shown = (async () => {
        for await (const piece of session) writer.write(piece);
        return "ended" as const;
      })();
      const typed = (async () => {
        for (;;) {
          const chunk = await input().next(stop.signal);
          if (!chunk) return "detached" as const;
          await session.write(chunk);
        }
      })();
      try {
        return await Promise.race([shown, typed]);
      } finally {
        stop.abort();
        await session.close();
        await Promise.allSettled([shown, typed]);
      }
    },
  };
}

/** One line saying what went wrong. */
export function errorText(e: unknown): string {
  if (e instanceof CommandError || e instanceof ParseError) return `error: ${e.message}\n`;
  if (e instanceof TuttiError) return `error: ${e.code} ${e.message}\n`;
  if (e instanceof ConnectError) return `error: ${e.message}\n`;
  return `error: ${e instanceof Error ? e.message : String(e)}\n`;
}
