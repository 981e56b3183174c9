/**
 * How agents and controllers reach the broker, with the NATS CLI's own option
 * names and environment variables, so an existing `nats` setup just works:
 * `--server` (NATS_URL), `--creds` (NATS_CREDS), `--nkey` (NATS_NKEY),
 * `--user`/`--password` (NATS_USER/NATS_PASSWORD), `--token`,
 * `--tls-ca`/`--tls-cert`/`--tls-key`, and `--context` (NATS_CONTEXT): a
 * context file of the NATS CLI under `$XDG_CONFIG_HOME/nats/context/`.
 * Explicit options override the context's values.
 */
import {
  type Authenticator,
  type ConnectionOptions,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/nats-core";
import { TuttiError } from "./errors.ts";

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

/**
 * The authentication and context options both programs take, as `node:util`
 * parseArgs entries (`--server` is declared by each, with its own default),
 * with their usage lines and the mapping of parsed values to ConnectFlags.
 */
export const CONNECT_ARG_OPTIONS = {
  creds: { type: "string" },
  nkey: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  token: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  context: { type: "string" },
} as const;

export const CONNECT_USAGE = `      --creds FILE      NATS credentials file (env NATS_CREDS)
      --nkey FILE       NKey seed file (env NATS_NKEY)
      --user U, --password P, --token T
      --tls-ca FILE, --tls-cert FILE, --tls-key FILE
      --context NAME    NATS CLI context (env NATS_CONTEXT)`;

/** The ConnectFlags (but `servers`) of values parsed with CONNECT_ARG_OPTIONS. */
export function connectFlagsFromArgs(
  values: { [K in keyof typeof CONNECT_ARG_OPTIONS]?: unknown },
): Omit<ConnectFlags, "servers"> {
  const str = (x: unknown) => typeof x === "string" ? x : undefined;
  return {
    creds: str(values.creds),
    nkey: str(values.nkey),
    user: str(values.user),
    password: str(values.password),
    token: str(values.token),
    tlsCa: str(values["tls-ca"]),
    tlsCert: str(values["tls-cert"]),
    tlsKey: str(values["tls-key"]),
    context: str(values.context),
  };
}

function env(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}

/** Splits repeated and comma-separated `--server` values. */
export function splitServers(values: string[] | string | undefined): string[] {
  const list = Array.isArray(values) ? values : values ? [values] : [];
  return list.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s.length > 0);
}

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

interface NatsContext {
  url?: string;
  creds?: string;
  nkey?: string;
  user?: string;
  password?: string;
  token?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

const CONTEXT_FIELDS = [
  "url",
  "creds",
  "nkey",
  "user",
  "password",
  "token",
  "cert",
  "key",
  "ca",
] as const satisfies readonly (keyof NatsContext)[];

function configHome(): string {
  return env("XDG_CONFIG_HOME") ?? `${env("HOME") ?? "."}/.config`;
}

async function selectedContext(): Promise<string | undefined> {
  try {
    const name = (await Deno.readTextFile(`${configHome()}/nats/context.txt`)).trim();
    return name || undefined;
  } catch {
    return undefined;
  }
}

async function readContext(name: string, explicit: boolean): Promise<NatsContext> {
  const path = `${configHome()}/nats/context/${name}.json`;
  let text: string;
  let context: Record<string, unknown>;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    // A context selected by context.txt that vanished is not worth failing for; a named one is.
    if (!explicit) return {};
    throw new TuttiError("EINVAL", `NATS context "${name}": cannot read ${path}: ${msg(e)}`);
  }
  try {
    const parsed = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error("not a JSON object");
    }
    context = parsed as Record<string, unknown>;
  } catch (e) {
    throw new TuttiError("EINVAL", `NATS context "${name}": ${path} is not valid JSON: ${msg(e)}`);
  }
  // The NATS CLI writes "" for unset fields; anything but a string would break later, far away.
  for (const field of CONTEXT_FIELDS) {
    const value = context[field];
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw new TuttiError("EINVAL", `NATS context "${name}": ${path}: "${field}" is not a string`);
    }
  }
  return context as NatsContext;
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

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function readFile(what: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new TuttiError("EINVAL", `${what} ${path}: ${msg(e)}`);
  }
}

/**
 * nats.js options for resolved flags: reconnect forever with jitter (nats.js
 * gives up after 10 attempts by default, which would strand an agent after a
 * broker outage of half a minute).
 */
export async function natsOptions(
  flags: ConnectFlags,
  name: string,
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
    pingInterval: 20_000,
  };
}
