/**
 * The commands that act on programs and agents: status, start, stop,
 * restart, reload, shutdown. Targets named as `HOST:PROG` go to that host
 * only; the others to every host of the shell's selection; one call per
 * host group, all at once.
 */
import { fold } from "../../protocol/selector.ts";
import type { ActionRow, Answer, HostError, ProgramAction } from "./backend.ts";
import { type Command, type CommandContext, CommandError } from "./command.ts";
import { groupByHost, parseTarget } from "./parse.ts";
import { actionLines, errorLines, reloadLines, statusLines } from "./render.ts";

/** Runs `call` once per host group and merges the answers. */
async function perHostGroup<T>(
  words: string[],
  call: (host: string | undefined, names: string[]) => Promise<Answer<T>>,
): Promise<Answer<T>> {
  const groups = groupByHost(words.map(parseTarget));
  if (groups.size === 0) groups.set(undefined, []);
  const answers = await Promise.all([...groups].map(([host, names]) => call(host, names)));
  return {
    rows: answers.flatMap((a) => a.rows),
    failures: answers.flatMap((a) => a.failures),
    errors: dedupeErrors(answers.flatMap((a) => a.errors)),
  };
}

/**
 * The refusals worth showing. Hosts differ in their programs, so a host
 * without `nginx` is only worth a word when no host has it: an ESRCH for a
 * name that matched somewhere else is left out.
 */
function relevantFailures(failures: ActionRow[], rows: { name: string }[]): ActionRow[] {
  const unknown = (f: ActionRow) => f.error?.code === "ESRCH";
  // A host that refused for another reason (`not running`) has the process.
  const found = [...rows, ...failures.filter((f) => !unknown(f))];
  return failures.filter((f) => !unknown(f) || !found.some((r) => nameMatches(f.name, r.name)));
}

/** Whether `pattern` (`all`, `web`, `web:*`, `web:0`) names the process `name`. */
export function nameMatches(pattern: string, name: string): boolean {
  if (pattern === "all" || pattern === name) return true;
  const program = pattern.endsWith(":*") ? pattern.slice(0, -2) : pattern;
  return name.startsWith(program + ":");
}

function dedupeErrors(errors: HostError[]): HostError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.host}\0${e.error.code}\0${e.error.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export const statusCommand: Command = {
  name: "status",
  usage: "status [NAME...]",
  summary: "state of the programs (all of them, or the ones named)",
  details: `One line per process and host: host, name, state, pid and uptime (or how it ended).
NAME is a process (web:0), a program (web, web:*), or HOST:NAME for one host only.`,
  args: "programs",
  async run(args, ctx) {
    const answer = await perHostGroup(args, (host, names) => ctx.backend.status(host, names));
    ctx.catalog.learnStatus(answer.rows, args.length === 0);
    const failures = relevantFailures(answer.failures, answer.rows);
    ctx.out(statusLines(answer.rows));
    ctx.err(actionLines(failures));
    ctx.err(errorLines(answer.errors));
    if (answer.rows.length + failures.length + answer.errors.length === 0) {
      ctx.err("no programs\n");
    }
    return failures.length === 0 && answer.errors.length === 0;
  },
};

function controlCommand(action: ProgramAction, summary: string): Command {
  return {
    name: action,
    usage: `${action} NAME...|all`,
    summary,
    details:
      `NAME is a process (web:0), a program (web, web:*), all, or HOST:NAME for one host only.`,
    args: "programs",
    all: true,
    async run(args, ctx) {
      if (args.length === 0) throw new CommandError(`${action} needs a NAME (or all)`);
      if (action !== "restart") return await control(action, args, ctx);
      // As supervisorctl's restart does: a stop, then a start, each result printed
      // (`web: stopped`, then `web: started`); the agent's one-step restart says only the last.
      const stopped = await control("stop", args, ctx);
      return await control("start", args, ctx) && stopped;
    },
  };
}

/** One action on the named programs of every host concerned, its results printed. */
async function control(
  action: ProgramAction,
  args: string[],
  ctx: CommandContext,
): Promise<boolean> {
  const answer = await perHostGroup(
    args,
    (host, names) => ctx.backend.control(action, host, names),
  );
  const failures = relevantFailures(answer.failures, answer.rows);
  ctx.out(actionLines(answer.rows));
  ctx.err(actionLines(failures));
  ctx.err(errorLines(answer.errors));
  return failures.length === 0 && answer.errors.length === 0;
}

export const startCommand = controlCommand("start", "start programs");
export const stopCommand = controlCommand("stop", "stop programs (stopsignal, then SIGKILL)");
export const restartCommand = controlCommand("restart", "stop then start programs");

export const reloadCommand: Command = {
  name: "reload",
  usage: "reload [HOST...]",
  summary: "re-read the agents' program files and apply the changes",
  details: `New programs are added (and started with autostart), removed ones stopped, changed ones
restarted; the others keep running untouched. A file with an error changes nothing.`,
  args: "hosts",
  async run(args, ctx) {
    const answers = await Promise.all(
      (args.length === 0 ? [undefined] : args).map((h) => ctx.backend.reload(h)),
    );
    const errors = answers.flatMap((a) => a.errors);
    const rows = answers.flatMap((a) => a.rows);
    for (const r of rows) ctx.catalog.learnReload(r.host, r.added, r.removed);
    ctx.out(reloadLines(rows));
    ctx.err(errorLines(errors));
    return errors.length === 0;
  },
};

export const shutdownCommand: Command = {
  name: "shutdown",
  usage: "shutdown [HOST...]",
  summary: "stop agents (and their programs)",
  details: `Stops the agents on the hosts named (default: every host of the shell's selection);
their programs are stopped first. At a terminal it asks for confirmation.`,
  args: "hosts",
  async run(args, ctx) {
    const which = args.length > 0 ? fold(args) : "every host of this shell";
    if (ctx.interactive) {
      const yes = await ctx.confirm(
        `Really stop the agents on ${which} and their programs? [y/N] `,
      );
      if (!yes) {
        ctx.out("not stopped\n");
        return true;
      }
    }
    const answer = await ctx.backend.shutdown(args);
    ctx.out(answer.rows.map((h) => `${h}: shut down\n`).join(""));
    ctx.err(errorLines(answer.errors));
    ctx.catalog.learnHosts(ctx.catalog.hosts().filter((h) => !answer.rows.includes(h)));
    return answer.errors.length === 0;
  },
};

/**
 * The one process a `tail` or `attach` target names: on the host it names,
 * or on the only host of the selection that has it; a program of several
 * processes must be narrowed to one (`web:0`).
 */
export async function locate(
  word: string,
  ctx: CommandContext,
): Promise<{ host: string; name: string }> {
  const target = parseTarget(word);
  const answer = await ctx.backend.status(target.host, [target.name]);
  const hosts = [...new Set(answer.rows.map((r) => r.host))];
  if (hosts.length > 1) {
    throw new CommandError(
      `${target.name} is on ${fold(hosts)}: name one host (${hosts[0]}:${target.name})`,
    );
  }
  const names = answer.rows.map((r) => r.name);
  if (names.length > 1) {
    throw new CommandError(`${target.name} is ${names.join(", ")}: name one process`);
  }
  if (names.length === 1) return { host: hosts[0], name: names[0] };
  ctx.err(errorLines(answer.errors));
  const where = target.host === undefined ? "any host" : target.host;
  throw new CommandError(`no process ${target.name} on ${where}`);
}
