/**
 * Tasks from a command and its arguments, as GNU parallel users write them:
 * `CMD {} ::: a b ::: x y` runs every combination (the first list varies
 * slowest), `{}` is all of a task's arguments, `{1}` `{2}` the argument
 * from each list, `{#}` the task's sequence number. A command without a
 * placeholder gets the arguments appended. Arguments are shell-quoted: the
 * command line is run with `/bin/sh -c`, so the command may hold pipes and
 * redirections but an argument is always one word.
 *
 * Each task's id is a digest of its command line and of how many identical
 * ones came before it in the submission: submitting the same sweep again
 * names the same tasks (those already there are not queued twice).
 */
import { createHash } from "node:crypto";
import { DigestCounts } from "./digest_counts.ts";
import { TuttiError } from "./errors.ts";
import { shellQuote } from "./shell_word.ts";
import type { TaskMessage } from "./queue_messages.ts";

/** What looks like one of parallel's replacement strings: `{}`, `{2}`, `{.}`, `{1/}`, `{#}`... */
const PLACEHOLDER = /\{([0-9]*)([./#%]*)\}/g;

/** Checks the placeholders of `command` against `sources` input lists; EINVAL names a bad one. */
export function checkPlaceholders(command: string, sources: number): void {
  for (const m of command.matchAll(PLACEHOLDER)) {
    const [whole, num, mod] = m;
    if (num === "" && (mod === "" || mod === "#")) continue;
    if (num !== "" && mod === "") {
      const n = Number(num);
      if (n >= 1 && n <= sources) continue;
      throw new TuttiError(
        "EINVAL",
        `placeholder ${whole}: there ${sources === 1 ? "is 1 input list" : `are ${sources}`} ` +
          `(${sources === 1 ? "{1}" : `{1} to {${sources}}`}, or {} for all)`,
      );
    }
    throw new TuttiError(
      "EINVAL",
      `placeholder ${whole} is not supported: use {} (all arguments), {N} (the Nth list) or ` +
        `{#} (the task's number)`,
    );
  }
}

/** The command line of one task: placeholders replaced, or the arguments appended. */
export function expandCommand(command: string, args: string[], seq: number): string {
  let used = false;
  const line = command.replace(PLACEHOLDER, (_whole, num: string, mod: string) => {
    used = true;
    if (mod === "#") return String(seq);
    if (num === "") return args.map(shellQuote).join(" ");
    return shellQuote(args[Number(num) - 1]);
  });
  return used || args.length === 0 ? line : `${line} ${args.map(shellQuote).join(" ")}`;
}

/** Every combination of the lists, the first varying slowest (parallel's order). */
export function combinations(lists: string[][]): string[][] {
  return [...combinationRows(lists)];
}

/**
 * Splits `CMD... ::: a b ::: c d` into the command words and the lists;
 * EINVAL for an empty list or a missing command.
 */
export function splitSources(words: string[]): { command: string[]; lists: string[][] } {
  const at = words.indexOf(":::");
  const command = at < 0 ? words : words.slice(0, at);
  const lists: string[][] = [];
  if (at >= 0) {
    for (const w of words.slice(at + 1)) {
      if (w === ":::") lists.push([]);
      else {
        if (lists.length === 0) lists.push([]);
        lists.at(-1)!.push(w);
      }
    }
    if (lists.length === 0 || lists.some((l) => l.length === 0)) {
      throw new TuttiError("EINVAL", "an empty ::: list: each ::: needs at least one argument");
    }
  }
  if (command.length === 0) throw new TuttiError("EINVAL", "no command before :::");
  return { command, lists };
}

/**
 * Names a submission's tasks one row at a time, so that a sweep of any size
 * is never held whole: each task's number, command line and stable id.
 */
export class TaskNamer {
  #seq = 0;
  /**
   * How many tasks each command line (by a 32-bit digest of it) had so far.
   * Two lines with the same digest only share a count: each id still digests
   * the whole line, so ids stay distinct and, for the same sweep, the same.
   */
  readonly #seen = new DigestCounts();

  constructor(private readonly command: string) {}

  next(args: string[]): TaskMessage {
    const t = this.unnamed(args);
    return { id: t.id(), args, shell: t.shell, seq: t.seq };
  }

  /** The next task with its id left to compute (a digest): for going through tasks to check them. */
  unnamed(args: string[]): { shell: string; seq: number; id: () => string } {
    const seq = ++this.#seq;
    const shell = expandCommand(this.command, args, seq);
    const key = lineDigest(shell);
    const dup = this.#seen.bump(key);
    const id = () =>
      "t" + createHash("sha256").update(`${dup}\0${shell}`).digest("hex").slice(0, 15);
    return { shell, seq, id };
  }
}

/** A task id's length ("t" and 15 hex digits), for sizing a task before its id is computed. */
export const TASK_ID_LENGTH = 16;

/** FNV-1a over the UTF-16 units: cheap, for `TaskNamer`'s counts only. */
function lineDigest(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The tasks of a submission: one per argument row, numbered from 1, with stable ids. */
export function makeTasks(command: string, rows: string[][]): TaskMessage[] {
  checkPlaceholders(command, rows.reduce((n, r) => Math.max(n, r.length), 1));
  const namer = new TaskNamer(command);
  return rows.map((args) => namer.next(args));
}

/** Every combination of the lists, the first varying slowest (parallel's order), made as asked. */
export function* combinationRows(lists: string[][]): Generator<string[]> {
  if (lists.length === 0) return;
  const at = lists.map(() => 0);
  if (lists.some((l) => l.length === 0)) return;
  while (true) {
    yield lists.map((l, i) => l[at[i]]);
    let i = lists.length - 1;
    while (i >= 0 && ++at[i] === lists[i].length) at[i--] = 0;
    if (i < 0) return;
  }
}
