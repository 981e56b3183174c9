/**
 * Command lines to words, scripts to command lines, and `HOST:PROG` words
 * to targets.
 *
 * Words are separated by blanks; `'...'` and `"..."` quote (no escapes
 * inside single quotes, `\"` and `\\` inside double ones), `\` outside
 * quotes escapes the next character, and a word beginning with `#` starts
 * a comment that runs to the end of the line. A script (`shell -c`, or
 * lines on stdin) holds commands separated by `;` or newlines.
 */

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseError";
  }
}

/** The commands of a script, each as its words (empty commands left out). */
export function parseScript(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | null = null;
  const endWord = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" || c === ";") endCommand();
    else if (c === " " || c === "\t" || c === "\r") endWord();
    else if (c === "#" && word === null) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (c === "\\") {
      if (i + 1 >= text.length) throw new ParseError("a \\ ends the line: nothing to escape");
      word = (word ?? "") + text[++i];
    } else if (c === "'" || c === '"') {
      const end = closingQuote(text, i);
      word = (word ?? "") + unquote(text.slice(i + 1, end), c);
      i = end;
    } else word = (word ?? "") + c;
  }
  endCommand();
  return commands;
}

/** The words of one command line (a `;` in it is an error: one line, one command). */
export function parseLine(line: string): string[] {
  const commands = parseScript(line);
  if (commands.length > 1) throw new ParseError("one command per line here (no ;)");
  return commands[0] ?? [];
}

function closingQuote(text: string, open: number): number {
  const q = text[open];
  for (let i = open + 1; i < text.length; i++) {
    if (q === '"' && text[i] === "\\") i++;
    else if (text[i] === q) return i;
  }
  throw new ParseError(`unterminated ${q === "'" ? "single" : "double"} quote`);
}

function unquote(inner: string, q: string): string {
  return q === "'" ? inner : inner.replace(/\\(["\\])/g, "$1");
}

/** A process (or program, or `all`) on every host of the selection, or on one host. */
export interface Target {
  host?: string;
  name: string;
}

const HOST_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * `nginx` (every host), `g5k-3:nginx` (one host), `web:0` and `web:*` (a
 * process and all of a program's processes, every host), `g5k-3:web:0`.
 * The part after the first `:` decides: digits or `*` name a process of a
 * program, anything else a program on the host before the `:`.
 */
export function parseTarget(word: string): Target {
  const colon = word.indexOf(":");
  if (colon < 0) return { name: word };
  const head = word.slice(0, colon);
  const rest = word.slice(colon + 1);
  if (/^(\d+|\*)$/.test(rest)) return { name: word };
  if (!HOST_TOKEN.test(head)) {
    throw new ParseError(`${JSON.stringify(word)}: ${JSON.stringify(head)} is not a host name`);
  }
  if (rest === "") throw new ParseError(`${JSON.stringify(word)}: no program after the host`);
  return { host: head, name: rest };
}

/** Targets grouped by host (undefined: every host), in the order first named. */
export function groupByHost(targets: Target[]): Map<string | undefined, string[]> {
  const groups = new Map<string | undefined, string[]>();
  for (const t of targets) {
    const names = groups.get(t.host) ?? [];
    if (!names.includes(t.name)) names.push(t.name);
    groups.set(t.host, names);
  }
  return groups;
}
