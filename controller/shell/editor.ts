/**
 * The shell's line editor as a pure state machine: a key goes in, the new
 * line and cursor and the bytes to write to the terminal come out. Nothing
 * here reads or writes a terminal, so every binding is unit-tested.
 *
 * Bindings (readline's): Left/Right (Ctrl-B/Ctrl-F), Home/End (Ctrl-A/
 * Ctrl-E), Alt-B/Alt-F and Ctrl-Left/Ctrl-Right by words, Backspace, Delete,
 * Ctrl-D (delete, or end of input on an empty line), Ctrl-U (delete to the
 * start), Ctrl-K (delete to the end), Ctrl-W (delete the word before),
 * Up/Down (Ctrl-P/Ctrl-N) through the history, Tab completes and a second
 * Tab lists the candidates, Ctrl-C abandons the line, Ctrl-L clears the
 * screen, Enter submits.
 *
 * One line, scrolled sideways when it is wider than the terminal (as
 * linenoise does); characters count as one column each.
 */
import type { Key } from "./keys.ts";

/** What completing the text before the cursor offers. */
export interface Completion {
  /** The end of the text before the cursor that the candidates replace. */
  word: string;
  candidates: string[];
}

export type Completer = (before: string) => Completion;

export interface EditorOptions {
  prompt: string;
  /** Oldest first; read at each Up/Down, so the caller may append to it between lines. */
  history?: readonly string[];
  complete?: Completer;
  /** Terminal width (the caller updates `columns` when the terminal is resized). */
  columns?: number;
}

/** After a key: the bytes to write, and whether the line is finished. */
export interface Step {
  output: string;
  /** `line`: Enter was pressed; `eof`: Ctrl-D on an empty line. */
  done?: { type: "line"; line: string } | { type: "eof" };
}

const BELL = "\x07";
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

export class LineEditor {
  prompt: string;
  columns: number;
  readonly #history: readonly string[];
  readonly #complete: Completer | undefined;
  #chars: string[] = [];
  #cursor = 0;
  /** Position in the history; `history.length` is the line being typed. */
  #historyAt = 0;
  /** The line being typed, kept while browsing the history. */
  #draft: string[] = [];
  /** The previous key was a Tab that completed nothing: the next one lists. */
  #tabPending = false;

  constructor(opts: EditorOptions) {
    this.prompt = opts.prompt;
    this.columns = opts.columns ?? 80;
    this.#history = opts.history ?? [];
    this.#complete = opts.complete;
    this.#historyAt = this.#history.length;
  }

  get line(): string {
    return this.#chars.join("");
  }

  /** In characters (code points), from the start of the line. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Starts a new, empty line; returns the prompt to write. */
  begin(prompt = this.prompt): string {
    this.prompt = prompt;
    this.#chars = [];
    this.#cursor = 0;
    this.#historyAt = this.#history.length;
    this.#draft = [];
    this.#tabPending = false;
    return this.render();
  }

  /** The whole line as it should look, cursor included. */
  render(): string {
    return renderLine(this.prompt, this.#chars, this.#cursor, this.columns);
  }

  handle(key: Key): Step {
    const wasTabPending = this.#tabPending;
    this.#tabPending = false;
    switch (key.name) {
      case "text":
        return this.#insert(Array.from(key.text));
      case "enter":
        return { output: "\r\n", done: { type: "line", line: this.line } };
      case "ctrl-c": {
        const output = "^C\r\n";
        return { output: output + this.begin() };
      }
      case "ctrl-d":
        if (this.#chars.length === 0) return { output: "\r\n", done: { type: "eof" } };
        return this.#delete(this.#cursor, this.#cursor + 1);
      case "delete":
        return this.#delete(this.#cursor, this.#cursor + 1);
      case "backspace":
        return this.#delete(this.#cursor - 1, this.#cursor);
      case "ctrl-u":
        return this.#delete(0, this.#cursor);
      case "ctrl-k":
        return this.#delete(this.#cursor, this.#chars.length);
      case "ctrl-w":
        return this.#delete(wordStartBefore(this.#chars, this.#cursor), this.#cursor);
      case "left":
      case "ctrl-b":
        return this.#move(this.#cursor - 1);
      case "right":
      case "ctrl-f":
        return this.#move(this.#cursor + 1);
      case "home":
      case "ctrl-a":
        return this.#move(0);
      case "end":
      case "ctrl-e":
        return this.#move(this.#chars.length);
      case "word-left":
        return this.#move(wordStartBefore(this.#chars, this.#cursor));
      case "word-right":
        return this.#move(wordEndAfter(this.#chars, this.#cursor));
      case "up":
      case "ctrl-p":
        return this.#browse(-1);
      case "down":
      case "ctrl-n":
        return this.#browse(+1);
      case "ctrl-l":
        return { output: CLEAR_SCREEN + this.render() };
      case "tab":
        return this.#tab(wasTabPending);
      default:
        // Keys with no binding here (Ctrl-] belongs to `attach`).
        return { output: "" };
    }
  }

  #insert(chars: string[]): Step {
    this.#chars.splice(this.#cursor, 0, ...chars);
    this.#cursor += chars.length;
    return { output: this.render() };
  }

  #delete(from: number, to: number): Step {
    from = Math.max(0, from);
    to = Math.min(this.#chars.length, to);
    if (from >= to) return { output: "" };
    this.#chars.splice(from, to - from);
    this.#cursor = from;
    return { output: this.render() };
  }

  #move(to: number): Step {
    to = Math.max(0, Math.min(this.#chars.length, to));
    if (to === this.#cursor) return { output: "" };
    this.#cursor = to;
    return { output: this.render() };
  }

  #browse(delta: number): Step {
    const at = this.#historyAt + delta;
    if (at < 0 || at > this.#history.length) return { output: BELL };
    if (this.#historyAt === this.#history.length) this.#draft = this.#chars;
    this.#historyAt = at;
    this.#chars = at === this.#history.length ? this.#draft : Array.from(this.#history[at]);
    this.#cursor = this.#chars.length;
    return { output: this.render() };
  }

  #tab(secondTab: boolean): Step {
    if (!this.#complete) return { output: BELL };
    const before = this.#chars.slice(0, this.#cursor).join("");
    const { word, candidates } = this.#complete(before);
    const matching = [...new Set(candidates.filter((c) => c.startsWith(word)))].sort();
    if (matching.length === 0) return { output: BELL };
    if (matching.length === 1) {
      // A finished word gets its space; a host prefix (`g5k-3:`) waits for the program.
      const done = matching[0];
      return this.#replaceWord(word, done.endsWith(":") ? done : done + " ");
    }
    const common = commonPrefix(matching);
    if (common.length > word.length) return this.#replaceWord(word, common);
    if (!secondTab) {
      this.#tabPending = true;
      return { output: BELL };
    }
    return { output: "\r\n" + formatColumns(matching, this.columns) + this.render() };
  }

  #replaceWord(word: string, replacement: string): Step {
    const n = Array.from(word).length;
    this.#chars.splice(this.#cursor - n, n);
    this.#cursor -= n;
    return this.#insert(Array.from(replacement));
  }
}

/**
 * The prompt and the line, scrolled so that the cursor is visible, then
 * the cursor put in its column (`\r`, erase to the end, move right).
 */
export function renderLine(
  prompt: string,
  chars: readonly string[],
  cursor: number,
  columns: number,
): string {
  const promptWidth = Array.from(prompt).length;
  let start = 0;
  let pos = cursor;
  // Keep one column free for the cursor at the end of the line.
  while (promptWidth + pos >= columns && pos > 0) {
    start++;
    pos--;
  }
  const room = Math.max(0, columns - promptWidth);
  const visible = chars.slice(start, start + room).join("");
  const column = promptWidth + pos;
  return `\r${prompt}${visible}\x1b[0K\r${column > 0 ? `\x1b[${column}C` : ""}`;
}

/** Candidates in columns, filled top to bottom like `ls`, each line ending in `\r\n`. */
export function formatColumns(items: readonly string[], columns: number): string {
  const width = Math.max(...items.map((s) => Array.from(s).length)) + 2;
  const perRow = Math.max(1, Math.floor(columns / width));
  const rows = Math.ceil(items.length / perRow);
  let out = "";
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [];
    for (let c = 0; c * rows + r < items.length; c++) cells.push(items[c * rows + r]);
    out += cells.map((s) => s.padEnd(width)).join("").trimEnd() + "\r\n";
  }
  return out;
}

export function commonPrefix(items: readonly string[]): string {
  let prefix = items[0] ?? "";
  for (const s of items) {
    while (!s.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}

const isSpace = (c: string | undefined) => c === " " || c === "\t";

/** Where the word before `at` starts (spaces before it skipped first), as Ctrl-W deletes. */
function wordStartBefore(chars: readonly string[], at: number): number {
  let i = at;
  while (i > 0 && isSpace(chars[i - 1])) i--;
  while (i > 0 && !isSpace(chars[i - 1])) i--;
  return i;
}

function wordEndAfter(chars: readonly string[], at: number): number {
  let i = at;
  while (i < chars.length && isSpace(chars[i])) i++;
  while (i < chars.length && !isSpace(chars[i])) i++;
  return i;
}
