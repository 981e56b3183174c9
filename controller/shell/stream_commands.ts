/**
 * The commands that show a process's output: `tail [-f] [--stderr] PROG`
 * and `attach PROG` (output and stdin, until Ctrl-] detaches).
 */
import type { OutputPiece } from "./backend.ts";
import { type Command, type CommandContext, CommandError } from "./command.ts";
import { locate } from "./program_commands.ts";

/** `-f`/`--follow`, `--stderr`, `--stdout`, and the one PROG. */
function tailArgs(args: string[]): { follow: boolean; stderr: boolean; word: string } {
  let follow = false;
  let stderr = false;
  const words: string[] = [];
  for (const a of args) {
    if (a === "-f" || a === "--follow") follow = true;
    else if (a === "--stderr") stderr = true;
    else if (a === "--stdout") stderr = false;
    else if (a.startsWith("-")) throw new CommandError(`tail: unknown option ${a}`);
    else words.push(a);
  }
  if (words.length !== 1) {
    throw new CommandError(words.length === 0 ? "tail needs a PROG" : "tail takes one PROG");
  }
  return { follow, stderr, word: words[0] };
}

/** Writes output pieces, starting notes on a line of their own. */
export class PieceWriter {
  #atLineStart = true;
  constructor(private readonly ctx: Pick<CommandContext, "out" | "err">) {}

  write(piece: OutputPiece): void {
    if (piece.type === "note") {
      this.ctx.err(`${this.#atLineStart ? "" : "\n"}-- ${piece.text}\n`);
      this.#atLineStart = true;
      return;
    }
    if (piece.data.length === 0) return;
    (piece.stream === "stderr" ? this.ctx.err : this.ctx.out)(piece.data);
    this.#atLineStart = piece.data[piece.data.length - 1] === 0x0a;
  }

  /** Ends a last line without its newline (so a prompt does not follow it). */
  finish(): void {
    if (!this.#atLineStart) this.ctx.out("\n");
    this.#atLineStart = true;
  }
}

export const tailCommand: Command = {
  name: "tail",
  usage: "tail [-f] [--stderr] PROG",
  summary: "the end of a program's output (-f: follow it until Ctrl-C)",
  details: `Shows the last bytes of PROG's stdout (--stderr: its stderr) that the agent keeps
(64 KiB). With -f it goes on with what PROG writes, until Ctrl-C. PROG is a process
on one host: HOST:PROG, or just PROG when only one host of the selection has it.`,
  args: "program",
  options: ["-f", "--stderr"],
  interruptible: true,
  async run(args, ctx) {
    const { follow, stderr, word } = tailArgs(args);
    const { host, name } = await locate(word, ctx);
    const feed = ctx.backend.tail(host, name, {
      stream: stderr ? "stderr" : "stdout",
      follow,
    });
    const stop = () => feed.close();
    ctx.signal.addEventListener("abort", stop);
    const writer = new PieceWriter(ctx);
    try {
      for await (const piece of feed) writer.write(piece);
    } finally {
      ctx.signal.removeEventListener("abort", stop);
      await feed.close();
      if (ctx.interactive) writer.finish();
    }
    return true;
  },
};

export const attachCommand: Command = {
  name: "attach",
  usage: "attach PROG",
  summary: "a program's live output, and its stdin (Ctrl-] detaches)",
  details: `Shows PROG's stdout and stderr as it writes them; each line you type (with the usual
editing keys) is sent to its stdin. Ctrl-] detaches and leaves PROG running. Lines
starting with "--" are about PROG (state changes). A PROG under a pseudo-terminal
(tty: true) gets every key as it is (its terminal echoes and edits; Ctrl-C interrupts
it) and this terminal's size. In a script (shell -c), stdin is forwarded until its
end. PROG: HOST:PROG, or PROG when only one host has it.`,
  args: "program",
  interruptible: true,
  async run(args, ctx) {
    if (args.length !== 1) {
      throw new CommandError(args.length === 0 ? "attach needs a PROG" : "attach takes one PROG");
    }
    if (ctx.attach === null) {
      throw new CommandError("attach needs a terminal (or shell -c with the input on stdin)");
    }
    const { host, name } = await locate(args[0], ctx);
    const session = ctx.backend.attach(host, name);
    if (ctx.interactive) {
      ctx.err(`attached to ${host}:${name}; Ctrl-] detaches (it keeps running)\n`);
    }
    try {
      const how = await ctx.attach(session);
      if (ctx.interactive) {
        ctx.err(how === "ended" ? `output of ${host}:${name} ended\n` : `detached\n`);
      }
    } finally {
      await session.close();
    }
    return true;
  },
};
