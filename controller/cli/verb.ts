/**
 * What every CLI verb is: its options, its usage text and its action. The
 * dispatcher (controller/main.ts) parses the options (global ones included),
 * answers `--help`, turns errors into messages and exit codes, and hands
 * the verb a way to connect and a place to write.
 */
import type { Controller } from "../mod.ts";
import type { Out } from "../render/out.ts";
import type { OptionTable, Parsed } from "../../protocol/cli/argv.ts";

export interface CliContext {
  out: Out;
  /** Connects with the global options (the first call; later calls return the same controller). */
  connect(): Promise<Controller>;
  /** The global `--prefix`, if given. */
  prefix?: string;
}

export interface Verb {
  name: string;
  /** One line for `controller --help`. */
  summary: string;
  usage: string;
  options: OptionTable;
  /** Options end at the first word that is not one (the command of `run`). */
  stopAtWord?: boolean;
  /** The exit code: 0 all went well, 1 something failed. Throws UsageError for bad usage. */
  main(p: Parsed, ctx: CliContext): Promise<number>;
}
