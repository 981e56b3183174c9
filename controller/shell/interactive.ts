/**
 * The shell at a terminal: the prompt loop with the line editor, history
 * and completion, Ctrl-C to interrupt a running command, questions, and
 * attached processes (output above the line being typed, Ctrl-] detaches).
 * It talks to a `Terminal`, so it runs the same over a real TTY
 * (terminal.ts) and in tests that type bytes into it.
 */
import type { Attachment, OutputPiece } from "./backend.ts";
import { shellCompleter } from "./completion.ts";
import { LineEditor } from "./editor.ts";
import type { History } from "./history.ts";
import type { InputQueue } from "./input_queue.ts";
import { KeyDecoder } from "./keys.ts";
import { parseScript } from "./parse.ts";
import { errorText, type Shell, type Surroundings } from "./shell.ts";

export const PROMPT = "tutti> ";

export interface Terminal {
  readonly input: InputQueue;
  /** Writes to the terminal (raw mode keeps the output translation: `\n` is a new line). */
  write(data: string | Uint8Array): void;
  columns(): number;
  setRaw(on: boolean): void;
  /** Rows and columns, when known (for a program under a pseudo-terminal). */
  size?(): { rows: number; columns: number } | null;
  /** Calls `fn` whenever the terminal is resized; returns what stops it. */
  onResize?(fn: () => void): () => void;
}

const CTRL_C = 0x03;

export class InteractiveShell {
  readonly #decoder = new KeyDecoder();
  readonly #editor: LineEditor;
  /** The Ctrl-C watch of the running command, paused while a command reads the keyboard. */
  #watch: InterruptWatch | null = null;
  /** Resolves once the hosts and programs for completion are learnt (at start, in the background). */
  catalogFilled: Promise<void> = Promise.resolve();

  constructor(
    readonly shell: Shell,
    readonly term: Terminal,
    readonly history: History,
  ) {
    this.#editor = new LineEditor({
      prompt: PROMPT,
      history: history.entries,
      complete: shellCompleter(shell.commands, shell.catalog),
    });
  }

  /** Until quit, Ctrl-D or the end of input; the terminal is left as it was found. */
  async run(): Promise<void> {
    this.term.setRaw(true);
    try {
      if (this.history.problem) this.term.write(`warning: ${this.history.problem}\n`);
      this.catalogFilled = this.shell.refreshCatalog();
      for (;;) {
        const line = await this.#readLine(this.#editor, PROMPT);
        if (line === null) return;
        await this.history.add(line);
        let commands: string[][];
        try {
          commands = parseScript(line);
        } catch (e) {
          this.term.write(errorText(e));
          continue;
        }
        for (const words of commands) {
          await this.shell.execute(words, this.#surroundings);
          if (this.shell.quitting) return;
        }
      }
    } finally {
      this.term.setRaw(false);
    }
  }

  readonly #surroundings: Surroundings = {
    interactive: true,
    confirm: (question) => this.#confirm(question),
    attach: (session) => this.#attach(session),
    watchInterrupt: (interrupt) => {
      const watch = new InterruptWatch(this.term, interrupt);
      this.#watch = watch;
      return async () => {
        this.#watch = null;
        await watch.pause();
      };
    },
  };

  /** One line typed with `editor`, or null at Ctrl-D on an empty line or the end of input. */
  async #readLine(editor: LineEditor, prompt: string): Promise<string | null> {
    editor.columns = this.term.columns();
    this.term.write(editor.begin(prompt));
    for (;;) {
      const chunk = await this.term.input.next();
      if (!chunk) {
        this.term.write("\r\n");
        return null;
      }
      const [now, later] = splitAfterLineEnd(chunk);
      this.term.input.unread(later);
      editor.columns = this.term.columns();
      for (const key of this.#decoder.feed(now)) {
        const step = editor.handle(key);
        this.term.write(step.output);
        if (step.done) return step.done.type === "line" ? step.done.line : null;
      }
    }
  }

  async #confirm(question: string): Promise<boolean> {
    await this.#watch?.pause();
    try {
      const answer = await this.#readLine(new LineEditor({ prompt: question }), question);
      return /^\s*y(es)?\s*$/i.test(answer ?? "");
    } finally {
      this.#watch?.resume();
    }
  }

  /**
   * Output of the process is printed above the line being typed; its
   * unfinished last line (a prompt of its own) is shown before it, as a
   * terminal would. Enter sends the line, Ctrl-D on an empty line closes
   * the process's stdin, Ctrl-] detaches.
   */
  async #attach(session: Attachment): Promise<"detached" | "ended"> {
    await this.#watch?.pause();
    const terminal = await session.terminal?.().catch(() => false);
    if (terminal) return await this.#attachTerminal(session);
    const editor = new LineEditor({ prompt: "", columns: this.term.columns() });
    const text = new TextDecoder();
    let partial = "";
    const show = (piece: OutputPiece) => {
      const s = piece.type === "note"
        ? `${partial ? "\n" : ""}-- ${piece.text}\n`
        : text.decode(piece.data, { stream: true });
      const all = partial + s;
      const cut = all.lastIndexOf("\n") + 1;
      partial = all.slice(cut);
      this.term.write("\r\x1b[0K" + all.slice(0, cut));
      editor.prompt = partial;
      this.term.write(editor.render());
    };
    const stop = new AbortController();
    const shown = (async () => {
      for await (const piece of session) show(piece);
      return "ended" as const;
    })();
    const typed = (async () => {
      this.term.write(editor.begin(""));
      for (;;) {
        const chunk = await this.term.input.next(stop.signal);
        if (!chunk) return "detached" as const;
        editor.columns = this.term.columns();
        for (const key of this.#decoder.feed(chunk)) {
          if (key.name === "ctrl-]") return "detached" as const;
          const step = editor.handle(key);
          if (step.done?.type === "eof") {
            await session.closeInput();
            this.term.write(editor.render());
            continue;
          }
          this.term.write(step.output);
          if (step.done?.type === "line") {
            partial = "";
            await session.write(new TextEncoder().encode(step.done.line + "\n"));
            this.term.write(editor.begin(""));
          }
        }
      }
    })();
    try {
      return await Promise.race([shown, typed]);
    } finally {
      stop.abort();
      await session.close();
      await Promise.allSettled([shown, typed]);
      if (partial !== "" || editor.line !== "") this.term.write("\r\n");
      this.#watch?.resume();
    }
  }

  /**
   * A process under a pseudo-terminal: its output goes to this terminal as
   * it is and every key to it as it is (Ctrl-C included: its terminal makes
   * it an interrupt), so a REPL or a curses program works; its terminal
   * gets this one's size, now and on every resize. Ctrl-] detaches.
   */
  async #attachTerminal(session: Attachment): Promise<"detached" | "ended"> {
    const sendSize = () => {
      const size = this.term.size?.();
      if (size) session.resize?.(size.rows, size.columns).catch(() => {});
    };
    sendSize();
    const stopResize = this.term.onResize?.(sendSize);
    const stop = new AbortController();
    const shown = (async () => {
      for await (const piece of session) {
        this.term.write(piece.type === "note" ? `\r\n-- ${piece.text}\r\n` : piece.data);
      }
      return "ended" as const;
    })();
    const typed = (async () => {
      for (;;) {
        const chunk = await this.term.input.next(stop.signal);
        if (!chunk) return "detached" as const;
        const at = chunk.indexOf(DETACH);
        await session.write(at < 0 ? chunk : chunk.subarray(0, at));
        if (at >= 0) return "detached" as const;
      }
    })();
    try {
      return await Promise.race([shown, typed]);
    } finally {
      stop.abort();
      stopResize?.();
      await session.close();
      await Promise.allSettled([shown, typed]);
      this.term.write("\r\n");
      this.#watch?.resume();
    }
  }
}

/** Ctrl-], telnet's escape: detaches. */
const DETACH = 0x1d;

/**
 * Watches the keyboard while a command runs: Ctrl-C interrupts it (and
 * drops what was typed before, as a terminal's interrupt does); anything
 * else typed is kept for the next prompt.
 */
class InterruptWatch {
  #stop: AbortController | null = null;
  #loop: Promise<void> = Promise.resolve();
  readonly #typeahead: Uint8Array[] = [];

  constructor(readonly term: Terminal, readonly interrupt: () => void) {
    this.resume();
  }

  resume(): void {
    if (this.#stop) return;
    const stop = new AbortController();
    this.#stop = stop;
    this.#loop = (async () => {
      for (;;) {
        const chunk = await this.term.input.next(stop.signal);
        if (!chunk) return;
        const at = chunk.lastIndexOf(CTRL_C);
        if (at < 0) {
          this.#typeahead.push(chunk);
          continue;
        }
        this.#typeahead.length = 0;
        this.#typeahead.push(chunk.subarray(at + 1));
        this.term.write("^C\r\n");
        this.interrupt();
      }
    })();
  }

  /** Stops watching; what was typed goes back to the input. */
  async pause(): Promise<void> {
    this.#stop?.abort();
    this.#stop = null;
    await this.#loop;
    for (const chunk of this.#typeahead.splice(0).reverse()) this.term.input.unread(chunk);
  }
}

/** `chunk` cut after its first line end (CR, LF or CRLF), and the rest. */
export function splitAfterLineEnd(chunk: Uint8Array): [Uint8Array, Uint8Array] {
  const at = chunk.findIndex((b) => b === 0x0d || b === 0x0a);
  if (at < 0) return [chunk, new Uint8Array(0)];
  const end = chunk[at] === 0x0d && chunk[at + 1] === 0x0a ? at + 2 : at + 1;
  return [chunk.subarray(0, end), chunk.subarray(end)];
}
