/**
 * The shell's commands, in the order `help` lists them, and the ones about
 * the shell itself: hosts, help, quit.
 */
import type { HostError } from "./backend.ts";
import { type Command, CommandError } from "./command.ts";
import {
  reloadCommand,
  restartCommand,
  shutdownCommand,
  startCommand,
  statusCommand,
  stopCommand,
} from "./program_commands.ts";
import { errorLines } from "./render.ts";
import { attachCommand, tailCommand } from "./stream_commands.ts";

const hostsCommand: Command = {
  name: "hosts",
  usage: "hosts",
  summary: "the agents of this shell's selection, up or lost",
  details: "One host per line: up, or lost (with when it was last seen).",
  args: "none",
  async run(args, ctx) {
    if (args.length > 0) throw new CommandError("hosts takes no argument");
    const answer = await ctx.backend.hosts();
    ctx.catalog.learnHosts(answer.rows);
    ctx.out(answer.rows.map((h) => `${h}: up\n`).join(""));
    // A lost host is news, not a failure of the command.
    ctx.out(answer.errors.filter(isLost).map((e) => `${e.host}: ${e.error.message}\n`).join(""));
    ctx.err(errorLines(answer.errors.filter((e) => !isLost(e))));
    if (answer.rows.length === 0 && answer.errors.length === 0) ctx.err("no agent answered\n");
    return true;
  },
};

const isLost = (e: HostError) => e.error.code === "ENORESPONSE";

const helpCommand: Command = {
  name: "help",
  usage: "help [CMD]",
  summary: "the commands, or how to use one",
  args: "command",
  run(args, ctx) {
    if (args.length > 1) throw new CommandError("help takes one CMD");
    if (args.length === 1) {
      const cmd = findCommand(ctx.commands, args[0]);
      if (!cmd) throw new CommandError(`no command ${JSON.stringify(args[0])} (help lists them)`);
      const aliases = cmd.aliases?.length ? `\n(also: ${cmd.aliases.join(", ")})` : "";
      ctx.out(`${cmd.usage}\n${cmd.summary}${cmd.details ? `\n${cmd.details}` : ""}${aliases}\n`);
      return Promise.resolve(true);
    }
    const width = Math.max(...ctx.commands.map((c) => c.usage.length));
    const lines = ctx.commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}\n`);
    ctx.out(
      `commands:\n${lines.join("")}
NAME and PROG: a process (web:0), a program (web), and HOST:NAME for one host only.
Keys: Tab completes (twice: lists), Up/Down history, Ctrl-A/E start/end, Ctrl-U/K/W delete,
Ctrl-C clears the line (or interrupts a command), Ctrl-L clears the screen, Ctrl-D quits.
In attach, Ctrl-] detaches.\n`,
    );
    return Promise.resolve(true);
  },
};

const quitCommand: Command = {
  name: "quit",
  aliases: ["exit"],
  usage: "quit",
  summary: "leave the shell (also exit, Ctrl-D)",
  args: "none",
  run(_args, ctx) {
    ctx.quit();
    return Promise.resolve(true);
  },
};

export const COMMANDS: readonly Command[] = [
  statusCommand,
  startCommand,
  stopCommand,
  restartCommand,
  reloadCommand,
  tailCommand,
  attachCommand,
  hostsCommand,
  shutdownCommand,
  helpCommand,
  quitCommand,
];

export function findCommand(commands: readonly Command[], name: string): Command | undefined {
  return commands.find((c) => c.name === name || c.aliases?.includes(name));
}
