/**
 * `controller shell [--hosts SEL] [-c COMMANDS]`: supervisorctl's shell for
 * the programs of many hosts. At a terminal: a prompt with line editing,
 * history and completion. With `-c`, or with commands on stdin, it runs
 * them and prints only their output; the exit status is 1 if any failed.
 */
import { defaultStateDir } from "../mod.ts";
import { History } from "../shell/history.ts";
import { InteractiveShell } from "../shell/interactive.ts";
import { LibraryBackend } from "../shell/library_backend.ts";
import { scriptSurroundings, Shell } from "../shell/shell.ts";
import { DenoTerminal, stdinQueue } from "../shell/terminal.ts";
import { str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const shellVerb: Verb = {
  name: "shell",
  summary: "an interactive shell for the programs of many hosts (like supervisorctl)",
  options: { ...SELECTION_OPTIONS, command: { type: "string", short: "c" } },
  usage: `usage: controller shell [--hosts SEL] [-c COMMANDS]
A shell in the spirit of supervisorctl for the supervised programs of many hosts (default:
every host): status, start, stop, restart, reload, tail [-f], attach, hosts, shutdown, help,
quit. At a terminal it edits lines (Tab completes commands, programs and hosts; Up/Down
browse the history kept in the state directory's shell_history). HOST:PROG acts on one host.
In attach, typed lines go to the program's stdin (every key as it is for a program with
tty: true) and Ctrl-] detaches (it keeps running).

  -c, --command CMDS   run these commands (separated by ; or newlines) and exit; without
                       a terminal on stdin, the commands are read from stdin
${SELECTION_USAGE}

Exit status (-c, stdin): 0 when every command went well, 1 otherwise.`,

  async main(p, ctx) {
    if (p.positionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])} (use -c)`);
    }
    const backend = new LibraryBackend(ctx.connect, selection(p.values, false));
    const shell = new Shell(backend, ctx.out);
    const script = str(p.values, "command");
    if (script !== undefined) {
      // Only `attach` reads stdin here: what is typed (or piped) goes to the process.
      const ok = await shell.runScript(script, scriptSurroundings(ctx.out, stdinQueue));
      return ok ? 0 : 1;
    }
    if (!Deno.stdin.isTerminal()) {
      const ok = await shell.runLines(stdinQueue(), scriptSurroundings(ctx.out, null));
      return ok ? 0 : 1;
    }
    const history = await History.load(defaultStateDir());
    await new InteractiveShell(shell, new DenoTerminal(), history).run();
    return 0;
  },
};
