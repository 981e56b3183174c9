/**
 * The `--alert-*` options of both programs: their table, their usage lines
 * and their parsing, so an agent and a controller take alerts the same way.
 */
import { flag, type OptionTable, str, type Values } from "../cli/argv.ts";
import { UsageError } from "../cli/usage_error.ts";
import { parseDuration } from "../duration.ts";

export interface AlertOptions {
  exec: string | null;
  webhook: string | null;
  /** The syslog socket (`/dev/log`), or null for no syslog. */
  syslog: string | null;
  /** Per kind, in any 60 s. */
  perMinute: number;
  /** Each exec and each webhook attempt (ms). */
  timeoutMs: number;
}

export const ALERT_OPTIONS = {
  "alert-exec": { type: "string" },
  "alert-webhook": { type: "string" },
  "alert-syslog": { type: "boolean" },
  "alert-syslog-socket": { type: "string" },
  "alert-rate": { type: "string" },
  "alert-timeout": { type: "string" },
} satisfies OptionTable;

/** Whether any destination is set. */
export function alertsWanted(o: AlertOptions): boolean {
  return o.exec !== null || o.webhook !== null || o.syslog !== null;
}

/** The options from parsed arguments; a UsageError names a bad one. */
export function parseAlertOptions(v: Values): AlertOptions {
  const socket = str(v, "alert-syslog-socket");
  if (socket === "") throw new UsageError("--alert-syslog-socket: expected a file name");
  const timeout = str(v, "alert-timeout") ?? "10s";
  let timeoutMs: number;
  try {
    timeoutMs = parseDuration(timeout, "--alert-timeout");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    exec: nonEmptyCommand(str(v, "alert-exec")),
    webhook: webhookUrl(str(v, "alert-webhook")),
    syslog: socket ?? (flag(v, "alert-syslog") ? "/dev/log" : null),
    perMinute: atLeastOne("--alert-rate", str(v, "alert-rate") ?? "10"),
    timeoutMs: atLeastOne("--alert-timeout", String(timeoutMs)),
  };
}

function nonEmptyCommand(cmd: string | undefined): string | null {
  if (cmd === undefined) return null;
  if (cmd.trim() === "") throw new UsageError("--alert-exec: expected a command");
  return cmd;
}

function webhookUrl(text: string | undefined): string | null {
  if (text === undefined) return null;
  const refuse = () =>
    new UsageError(`--alert-webhook ${JSON.stringify(text)}: expected an http:// or https:// URL`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse();
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw refuse();
  return url.href;
}

function atLeastOne(flagName: string, text: string): number {
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`${flagName} ${JSON.stringify(text)}: expected a whole number`);
  }
  const n = Number(text);
  if (n < 1) throw new UsageError(`${flagName} ${JSON.stringify(text)}: must be at least 1`);
  return n;
}
