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
import { TuttiError } from "./errors.ts";
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
  let out: string[][] = [[]];
  for (const list of lists) out = out.flatMap((prefix) => list.map((a) => [...prefix, a]));
  return lists.length === 0 ? [] : out;
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

/** The tasks of a submission: one per argument row, numbered from 1, with stable ids. */
export function makeTasks(command: string, rows: string[][]): TaskMessage[] {
  checkPlaceholders(command, rows.reduce((n, r) => Math.max(n, r.length), 1));
  const seen = new Map<string, number>();
  return rows.map((args, i) => {
    const shell = expandCommand(command, args, i + 1);
    const dup = seen.get(shell) ?? 0;
    seen.set(shell, dup + 1);
    const id = "t" + createHash("sha256").update(`${dup}\0${shell}`).digest("hex").slice(0, 15);
    return { id, args, shell, seq: i + 1 };
  });
}

/** One shell word: as is when it is plain, else in single quotes. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\/.,:=+@%^-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
