/**
 * What a shell command is, and what it gets to work with. Commands write
 * through the context only, so the same command runs at a terminal, in a
 * script (`shell -c`, stdin) and in unit tests.
 */
import type { Attachment, ShellBackend } from "./backend.ts";
import type { Catalog, CompletionSpec } from "./completion.ts";

/** A mistake of the user's (bad arguments, unknown name): printed as one line, the command fails. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

export interface CommandContext {
  backend: ShellBackend;
  /** Hosts and program names seen so far (completion reads it; commands keep it fresh). */
  catalog: Catalog;
  out(text: string | Uint8Array): void;
  err(text: string | Uint8Array): void;
  /** A person types the commands at a terminal (so questions can be asked). */
  interactive: boolean;
  /** Asks a yes/no question (interactive only); no answer, or not `y`/`yes`, is no. */
  confirm(question: string): Promise<boolean>;
  /** Aborted when the user interrupts the running command (Ctrl-C). */
  signal: AbortSignal;
  /**
   * Connects the user to an attached process: its output is shown, what
   * they type goes to its stdin, until they detach (`detached`: Ctrl-] at
   * a terminal, the end of stdin in a script) or its output ends (`ended`).
   * Null where nothing could be typed (commands read from stdin).
   */
  attach: ((session: Attachment) => Promise<"detached" | "ended">) | null;
  /** Ends the shell once this command returns. */
  quit(): void;
  /** Every command, for `help`. */
  commands: readonly Command[];
}

export interface Command extends CompletionSpec {
  /** `start NAME...|all`. */
  usage: string;
  /** One line for `help`. */
  summary: string;
  /** More lines for `help CMD`. */
  details?: string;
  /** It ends itself when `signal` is aborted (else the shell stops waiting for it). */
  interruptible?: boolean;
  /** True when it went well; a failure has printed why. */
  run(args: string[], ctx: CommandContext): Promise<boolean>;
}
