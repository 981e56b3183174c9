/**
 * How agents and controllers reach the broker, with the NATS CLI's own option
 * names and environment variables, so an existing `nats` setup just works:
 * `--server` (NATS_URL), `--creds` (NATS_CREDS), `--nkey` (NATS_NKEY),
 * `--user`/`--password` (NATS_USER/NATS_PASSWORD), `--token`,
 * `--tls-ca`/`--tls-cert`/`--tls-key`, and `--context` (NATS_CONTEXT): a
 * context file of the NATS CLI (context_file.ts). Explicit options override
 * the environment, which overrides the context's values.
 */
import {
  type Authenticator,
  type ConnectionOptions,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/nats-core";
import { TuttiError } from "../errors.ts";
import { splitServers } from "./cli_options.ts";
import { env, readContext, selectedContext } from "./context_file.ts";

export interface ConnectFlags {
  servers?: string[];
  creds?: string;
  nkey?: string;
  user?: string;
  password?: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  context?: string;
}

export const DEFAULT_SERVER = "nats://127.0.0.1:4222";

/** Fills unset flags from the environment and the NATS CLI context, the way `nats` does. */
export async function resolveConnectFlags(flags: ConnectFlags): Promise<ConnectFlags> {
  // A context named by flag or NATS_CONTEXT must exist; one merely selected in context.txt need not.
  const named = flags.context ?? env("NATS_CONTEXT");
  const ctxName = named ?? await selectedContext();
  const ctx = ctxName ? await readContext(ctxName, named !== undefined) : {};
  const servers = flags.servers?.length
    ? flags.servers
    : splitServers(env("NATS_URL") ?? ctx.url ?? DEFAULT_SERVER);
  return {
    servers,
    creds: flags.creds ?? env("NATS_CREDS") ?? ctx.creds,
    nkey: flags.nkey ?? env("NATS_NKEY") ?? ctx.nkey,
    user: flags.user ?? env("NATS_USER") ?? ctx.user,
    password: flags.password ?? env("NATS_PASSWORD") ?? ctx.password,
    token: flags.token ?? ctx.token,
    tlsCa: flags.tlsCa ?? ctx.ca,
    tlsCert: flags.tlsCert ?? ctx.cert,
    tlsKey: flags.tlsKey ?? ctx.key,
  };
}

/**
 * The server's "Authorization Violation", which says neither what was wrong
 * nor what to do, completed: credentials missing or refused, and the options
 * that give them. Other messages are returned as they are.
 */
export function explainAuthError(message: string): string {
  if (!/authorization violation/i.test(message)) return message;
  return `${message}: the server refused this client's credentials, or wants some ` +
    `(--nkey, --creds, --user/--password, --token, --context)`;
}

async function readFile(what: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new TuttiError("EINVAL", `${what} ${path}: ${e instanceof Error ? e.message : e}`);
  }
}

/** How often a client PINGs the server unless told otherwise (nats.js: 2 minutes). */
export const DEFAULT_PING_INTERVAL_MS = 20_000;
/**
 * PINGs left unanswered before the link is declared dead (nats.js checks at
 * each interval): a link that stops carrying packets without closing is
 * noticed within MAX_PINGS_OUT + 1 intervals, and never before a PONG is
 * late by a whole interval.
 */
export const MAX_PINGS_OUT = 2;

/**
 * nats.js options for resolved flags: reconnect forever with jitter (nats.js
 * gives up after 10 attempts by default, which would strand an agent after a
 * broker outage of half a minute), and PINGs every `pingIntervalMs`.
 */
export async function natsOptions(
  flags: ConnectFlags,
  name: string,
  pingIntervalMs = DEFAULT_PING_INTERVAL_MS,
): Promise<ConnectionOptions> {
  const authenticators: Authenticator[] = [];
  if (flags.creds) {
    authenticators.push(credsAuthenticator(await readFile("creds file", flags.creds)));
  }
  if (flags.nkey) {
    const seed = new TextDecoder().decode(await readFile("nkey seed file", flags.nkey)).trim();
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  if (flags.user) authenticators.push(usernamePasswordAuthenticator(flags.user, flags.password));
  if (flags.token) authenticators.push(tokenAuthenticator(flags.token));
  const tls = flags.tlsCa || flags.tlsCert || flags.tlsKey
    ? { caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey }
    : undefined;
  return {
    servers: flags.servers?.length ? flags.servers : [DEFAULT_SERVER],
    name,
    authenticator: authenticators.length ? authenticators : undefined,
    tls,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    reconnectJitter: 500,
    waitOnFirstConnect: true,
    pingInterval: pingIntervalMs,
    maxPingOut: MAX_PINGS_OUT,
  };
}
