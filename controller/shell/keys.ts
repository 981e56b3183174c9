/**
 * Terminal input bytes (stdin in raw mode) to keys. A `KeyDecoder` keeps
 * what a chunk ends in the middle of (an escape sequence, a UTF-8
 * character) for the next chunk, so a key split over two reads is still one
 * key. Sequences it does not know are swallowed whole rather than typed as
 * text. A lone Esc waits for the byte after it (Esc then `b` is Alt-b).
 */

/** Keys with a name; everything typed as text is `{ name: "text" }`. */
export type KeyName =
  | "enter"
  | "tab"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "word-left"
  | "word-right"
  | "ctrl-a"
  | "ctrl-b"
  | "ctrl-c"
  | "ctrl-d"
  | "ctrl-e"
  | "ctrl-f"
  | "ctrl-k"
  | "ctrl-l"
  | "ctrl-n"
  | "ctrl-p"
  | "ctrl-u"
  | "ctrl-w"
  | "ctrl-]";

export type Key = { name: KeyName } | { name: "text"; text: string };

const CONTROL: Record<number, KeyName> = {
  0x01: "ctrl-a",
  0x02: "ctrl-b",
  0x03: "ctrl-c",
  0x04: "ctrl-d",
  0x05: "ctrl-e",
  0x06: "ctrl-f",
  0x08: "backspace",
  0x09: "tab",
  0x0a: "enter",
  0x0b: "ctrl-k",
  0x0c: "ctrl-l",
  0x0d: "enter",
  0x0e: "ctrl-n",
  0x10: "ctrl-p",
  0x15: "ctrl-u",
  0x17: "ctrl-w",
  0x1d: "ctrl-]",
  0x7f: "backspace",
};

/** Final byte of `ESC [ ...` or `ESC O ...` to its key (modifiers ignored except Ctrl on arrows). */
const CSI_FINAL: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
};

/** `ESC [ n ~` to its key. */
const CSI_TILDE: Record<string, KeyName> = {
  "1": "home",
  "3": "delete",
  "4": "end",
  "7": "home",
  "8": "end",
};

const ESC = 0x1b;

export class KeyDecoder {
  #pending: number[] = [];
  readonly #text = new TextDecoder();

  /** The keys completed by `bytes` (with what earlier chunks left pending). */
  feed(bytes: Uint8Array): Key[] {
    const data = [...this.#pending, ...bytes];
    this.#pending = [];
    const keys: Key[] = [];
    let text: number[] = [];
    const flushText = () => {
      if (text.length === 0) return;
      const s = this.#text.decode(new Uint8Array(text), { stream: true });
      text = [];
      if (s) keys.push({ name: "text", text: s });
    };
    let i = 0;
    while (i < data.length) {
      const b = data[i];
      if (b === ESC) {
        const seq = escapeSequence(data, i);
        if (seq === null) {
          flushText();
          this.#pending = data.slice(i);
          return keys;
        }
        flushText();
        if (seq.key) keys.push({ name: seq.key });
        i += seq.length;
        continue;
      }
      const control = CONTROL[b];
      if (control) {
        flushText();
        keys.push({ name: control });
      } else if (b >= 0x20) {
        text.push(b);
      }
      // Other control bytes mean nothing to a line editor: dropped.
      i++;
    }
    flushText();
    return keys;
  }
}

/**
 * The escape sequence at `data[at]` (an ESC): its key (undefined when
 * unknown) and its length, or null when the data ends before it does.
 */
function escapeSequence(data: number[], at: number): { key?: KeyName; length: number } | null {
  if (at + 1 >= data.length) return null;
  const second = String.fromCharCode(data[at + 1]);
  if (second === "b") return { key: "word-left", length: 2 };
  if (second === "f") return { key: "word-right", length: 2 };
  if (second !== "[" && second !== "O") return { length: 2 };
  // Parameters (digits, `;`) then one final byte in 0x40-0x7e.
  let j = at + 2;
  while (j < data.length && data[j] >= 0x30 && data[j] <= 0x3f) j++;
  if (j >= data.length) return null;
  const params = String.fromCharCode(...data.slice(at + 2, j));
  const final = String.fromCharCode(data[j]);
  const length = j - at + 1;
  if (final === "~") return { key: CSI_TILDE[params.split(";")[0]], length };
  const key = CSI_FINAL[final];
  // Ctrl-Left / Ctrl-Right (`ESC [ 1 ; 5 D`) move by words, as in most shells.
  if (params.endsWith(";5") && key === "left") return { key: "word-left", length };
  if (params.endsWith(";5") && key === "right") return { key: "word-right", length };
  return { key, length };
}
