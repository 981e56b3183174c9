/**
 * The command line that runs this very program again, with other arguments:
 * how the agent starts its keeper and re-executes itself.
 *
 * /proc/self/cmdline is the exact argv (`deno run -A dist/agent.js ARGS`,
 * `dist/agent ARGS`, `deno run -A main.ts agent ARGS`); what comes before
 * Deno.args is the way to start the program, relative paths included (the
 * agent never changes directory). The program is Deno.execPath(), which
 * needs no PATH search.
 */
export function selfCommand(args: string[]): string[] {
  const argv = cmdline();
  const launcher = argv.slice(1, argv.length - Deno.args.length);
  // main.ts takes its mode from the first argument when its name does not say it.
  const mode = Deno.args[0] === "agent" ? ["agent"] : [];
  return [Deno.execPath(), ...launcher, ...mode, ...args];
}

/** This program's own command line, as it was started (for a re-exec in place). */
export function ownCommand(): string[] {
  return [Deno.execPath(), ...cmdline().slice(1)];
}

function cmdline(): string[] {
  const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv;
}
