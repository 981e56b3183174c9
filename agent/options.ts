/**
 * Every agent option, with its default and its validation, in one place.
 * `parseAgentOptions` either returns a complete `AgentOptions` or throws a
 * `UsageError` whose message is one line suitable for stderr.
 */
import { flag, list, type OptionTable, parseArgv, str } from "../protocol/cli/argv.ts";
import { parseBytes } from "../protocol/cli/sizes.ts";
import { UsageError } from "../protocol/cli/usage_error.ts";
import {
  CONNECT_ARG_OPTIONS,
  CONNECT_USAGE,
  connectFlagsFromArgs,
  splitServers,
} from "../protocol/connection/cli_options.ts";
import type { ConnectFlags } from "../protocol/connection/connect_flags.ts";
import { parseDuration } from "../protocol/duration.ts";
import { checkPrefix, DEFAULT_PREFIX, isToken } from "../protocol/subjects.ts";
import {
  ALERT_OPTIONS,
  type AlertOptions,
  parseAlertOptions,
} from "../protocol/alerts/alert_options.ts";

export interface AgentOptions {
  /** This agent's name: one subject token. */
  name: string;
  labels: Record<string, string>;
  prefix: string;
  /** Spool files and other state live here. */
  stateDir: string;
  /** Presence beat period in ms; 0 turns beats off (hello and bye are still sent). */
  heartbeatMs: number;
  /** Telemetry period in ms; 0 (the default) publishes none and reads nothing. */
  telemetryMs: number;
  /** Exited processes kept in the table for `ps`. */
  keep: number;
  /** Exited processes older than this (ms) leave the table. */
  keepForMs: number;
  /** Largest request payload accepted (bytes); larger ones get EMSGSIZE. */
  maxPayload: number;
  /** Bytes of live output allowed in flight on the connection before output goes to the spool only. */
  liveWindow: number;
  /** The programs file to supervise (`--config`); null: none until a controller pushes one. */
  config: string | null;
  /** Where supervision events are appended, one JSON line each (default `<state-dir>/events.log`). */
  eventLog: string;
  /**
   * `process`: a keeper process holds the processes, which outlive the agent.
   * `embedded`: the agent holds them itself (one process less; they die with it).
   */
  keeper: "process" | "embedded";
  /** Where alerts go (a supervised process that died unexpectedly, a FATAL program). */
  alerts: AlertOptions;
  /** Unresolved connection flags (environment and NATS context are applied at connect time). */
  connect: ConnectFlags;
  help: boolean;
}

export const USAGE = `usage: agent [options]
Runs the tutti agent: connects to NATS and runs, signals and watches processes on request.

  -s, --server URL      NATS server, repeatable or comma list (env NATS_URL;
                        default nats://127.0.0.1:4222)
      --name NAME       this agent's name, one token of A-Z a-z 0-9 _ - (default: short host name)
      --label K=V       a label for --where selections (repeatable)
      --prefix P        subject prefix (env TUTTI_PREFIX; default tutti)
      --state-dir DIR   spool and state (default $XDG_STATE_HOME/tutti/NAME,
                        else ~/.local/state/tutti/NAME)
      --heartbeat D     presence beat period, e.g. 5s; 0 turns it off (default 5s)
      --telemetry D     publish machine and process telemetry every D, e.g. 5s, at
                        least 100ms (default 0: off, so that an experiment's nodes
                        are not disturbed unless asked)
      --keep N          exited processes kept for ps (default 1000)
      --keep-for D      how long exited processes are kept (default 1h)
      --max-payload B   largest request accepted, e.g. 1MiB (default 1MiB)
      --live-window B   live output in flight before output is spooled only (default 8MiB)
      --config FILE     supervise the programs of this YAML file (SIGHUP re-reads it,
                        SIGUSR2 reopens the programs' output files)
      --event-log FILE  supervision events, one JSON line each (default
                        STATE-DIR/events.log)
      --keeper MODE     process (default): processes and programs belong to a keeper
                        process and outlive the agent; embedded: the agent holds
                        them itself, one process less, and they die with it
      --alert-exec CMD  on an alert, run sh -c CMD with the alert as JSON on its stdin
      --alert-webhook URL  on an alert, POST it as JSON to URL (tried 3 times)
      --alert-syslog    on an alert, send a line to the local syslog (/dev/log)
      --alert-syslog-socket PATH  the syslog socket (default /dev/log; implies
                        --alert-syslog)
      --alert-rate N    at most N alerts of each kind per minute; the next one
                        counts those left out (default 10)
      --alert-timeout D each --alert-exec run and webhook attempt (default 10s)
${CONNECT_USAGE}
  -h, --help            this text

Processes started by run belong to a keeper (agent keeper, started by the agent on its state
directory), so they outlive the agent: one restarted on the same --state-dir adopts them.
SIGTERM or SIGINT: a clean stop, every process and program stopped first.
SIGUSR1: restart in place (re-exec from the program on disk), every process kept.
Alerts: a supervised process that exits unexpectedly (kind exited) or a program
that enters FATAL (kind fatal).`;

const OPTIONS = {
  server: { type: "string", short: "s", multiple: true },
  name: { type: "string" },
  label: { type: "string", multiple: true },
  prefix: { type: "string" },
  "state-dir": { type: "string" },
  heartbeat: { type: "string" },
  telemetry: { type: "string" },
  keep: { type: "string" },
  "keep-for": { type: "string" },
  "max-payload": { type: "string" },
  "live-window": { type: "string" },
  config: { type: "string" },
  "event-log": { type: "string" },
  keeper: { type: "string" },
  ...ALERT_OPTIONS,
  ...CONNECT_ARG_OPTIONS,
  help: { type: "boolean", short: "h" },
} satisfies OptionTable;

export function parseAgentOptions(
  args: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n) || undefined,
): AgentOptions {
  const { values: v, positionals } = parseArgv(args, OPTIONS);
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  }
  const name = str(v, "name") ?? defaultName();
  if (!isToken(name)) {
    throw new UsageError(
      str(v, "name") === undefined
        ? `the host name ${
          JSON.stringify(name)
        } cannot be an agent name: give one with --name (A-Z a-z 0-9 _ -)`
        : `--name ${JSON.stringify(name)}: use 1-128 characters from A-Z a-z 0-9 _ -`,
    );
  }
  const prefix = str(v, "prefix") ?? env("TUTTI_PREFIX") ?? DEFAULT_PREFIX;
  try {
    checkPrefix(prefix);
  } catch (e) {
    throw new UsageError(`--prefix: ${(e as Error).message}`);
  }
  const stateDir = str(v, "state-dir") ?? defaultStateDir(name, env);
  return {
    name,
    labels: parseLabels(list(v, "label")),
    prefix,
    stateDir,
    heartbeatMs: duration("--heartbeat", str(v, "heartbeat") ?? "5s"),
    telemetryMs: telemetryPeriod(str(v, "telemetry") ?? "0"),
    keep: count("--keep", str(v, "keep") ?? "1000"),
    keepForMs: duration("--keep-for", str(v, "keep-for") ?? "1h"),
    maxPayload: bytes("--max-payload", str(v, "max-payload") ?? "1MiB"),
    liveWindow: bytes("--live-window", str(v, "live-window") ?? "8MiB"),
    config: nonEmpty("--config", str(v, "config")) ?? null,
    eventLog: nonEmpty("--event-log", str(v, "event-log")) ?? `${stateDir}/events.log`,
    keeper: keeperMode(str(v, "keeper") ?? "process"),
    alerts: parseAlertOptions(v),
    connect: {
      servers: v.server ? splitServers(list(v, "server")) : undefined,
      ...connectFlagsFromArgs(v),
    },
    help: flag(v, "help"),
  };
}

function keeperMode(s: string): AgentOptions["keeper"] {
  if (s === "process" || s === "embedded") return s;
  throw new UsageError(`--keeper ${JSON.stringify(s)}: expected process or embedded`);
}

function defaultName(): string {
  const host = Deno.hostname();
  return host.split(".")[0];
}

function defaultStateDir(name: string, env: (name: string) => string | undefined): string {
  const base = env("XDG_STATE_HOME") ?? `${env("HOME") ?? "."}/.local/state`;
  return `${base}/tutti/${name}`;
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === "") throw new UsageError(`${flag}: expected a file name`);
  return value;
}

function parseLabels(list: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--label ${JSON.stringify(item)}: expected KEY=VALUE`);
    labels[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return labels;
}

function duration(flag: string, text: string): number {
  try {
    return parseDuration(text, flag);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Below this, sampling /proc would itself become the load being measured. */
const MIN_TELEMETRY_MS = 100;

function telemetryPeriod(text: string): number {
  const ms = duration("--telemetry", text);
  if (ms > 0 && ms < MIN_TELEMETRY_MS) {
    throw new UsageError(
      `--telemetry ${
        JSON.stringify(text)
      }: use 0 to turn it off, or at least ${MIN_TELEMETRY_MS}ms`,
    );
  }
  return ms;
}

function count(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number`);
  }
  return Number(text);
}

function bytes(flag: string, text: string): number {
  const n = parseBytes(flag, text);
  if (n < 1) throw new UsageError(`${flag} ${JSON.stringify(text)}: must be at least 1 byte`);
  return n;
}

export { parseBytes };
