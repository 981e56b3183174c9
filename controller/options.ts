/**
 * The controller's global options, parsed and defaulted in one place. They
 * are the NATS CLI's own names (`-s/--server`, `--creds`, `--context`, ...)
 * plus `--prefix`, and are accepted before or after the verb:
 * `controller -s nats://h:4222 run ...` and `controller run -s nats://h:4222 ...`.
 * Unset ones come from the environment (NATS_URL, NATS_CREDS, NATS_CONTEXT,
 * TUTTI_PREFIX) when connecting.
 */
import {
  CONNECT_ARG_OPTIONS,
  CONNECT_USAGE,
  connectFlagsFromArgs,
  splitServers,
} from "../protocol/connection/cli_options.ts";
import type { ConnectFlags } from "../protocol/connection/connect_flags.ts";
import { parseDuration } from "../protocol/duration.ts";
import { checkPrefix } from "../protocol/subjects.ts";
import { type OptionTable, parseArgv, str, type Values } from "../protocol/cli/argv.ts";
import { UsageError } from "../protocol/cli/usage_error.ts";
import type { ControllerOptions } from "./mod.ts";

export const GLOBAL_OPTIONS: OptionTable = {
  server: { type: "string", short: "s", multiple: true },
  ...CONNECT_ARG_OPTIONS,
  prefix: { type: "string" },
  "ack-timeout": { type: "string" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};

export const GLOBAL_USAGE = `global options (before or after the verb):
  -s, --server URL      NATS server, repeatable or comma list (env NATS_URL;
                        default nats://127.0.0.1:4222)
      --prefix P        subject prefix (env TUTTI_PREFIX; default tutti)
      --ack-timeout D   a named host that has not answered after D is reported
                        "no response" (default 5s)
${CONNECT_USAGE}
  -v, --verbose         print each message from an agent that was ignored (malformed, or
                        from a host the command is not about); else one line counts them
  -h, --help            usage`;

/**
 * Splits `args` into the verb and the rest (global options before the verb
 * stay in the rest, to be parsed with the verb's own). No verb: null.
 */
export function splitVerb(args: string[]): { verb: string | null; rest: string[] } {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") {
      return { verb: a, rest: [...args.slice(0, i), ...args.slice(i + 1)] };
    }
    // Skip the value of a global option given as a separate word.
    const name = a.startsWith("--") ? a.slice(2) : shortName(a.slice(1));
    const spec = name === undefined ? undefined : GLOBAL_OPTIONS[name];
    if (spec?.type === "string" && !a.includes("=") && (a.startsWith("--") || a.length === 2)) i++;
  }
  return { verb: null, rest: args };
}

function shortName(s: string): string | undefined {
  return Object.entries(GLOBAL_OPTIONS).find(([, spec]) => spec.short === s)?.[0];
}

/** Only global options (for `controller --help` and friends). */
export function parseGlobalOnly(args: string[]): Values {
  return parseArgv(args, GLOBAL_OPTIONS).values;
}

/** The library's connect options from parsed values. */
export function controllerOptions(v: Values): ControllerOptions {
  const prefix = str(v, "prefix");
  if (prefix !== undefined) {
    try {
      checkPrefix(prefix);
    } catch (e) {
      throw new UsageError(`--prefix: ${(e as Error).message}`);
    }
  }
  const servers = v.server ? splitServers(v.server as string[]) : undefined;
  const connect: ConnectFlags = {
    servers: servers?.length ? servers : undefined,
    ...connectFlagsFromArgs(v),
  };
  const ack = str(v, "ack-timeout");
  let ackTimeoutMs: number | undefined;
  if (ack !== undefined) {
    try {
      ackTimeoutMs = parseDuration(ack, "--ack-timeout");
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return { ...connect, prefix, ackTimeoutMs };
}
