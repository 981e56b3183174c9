/**
 * The connection options both programs take on their command line, with the
 * NATS CLI's names: the option table (`--server` is declared by each program,
 * with its own help line), their usage lines and the mapping of parsed values
 * to ConnectFlags.
 */
import type { ConnectFlags } from "./connect_flags.ts";

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

/** Splits repeated and comma-separated `--server` values. */
export function splitServers(values: string[] | string | undefined): string[] {
  const list = Array.isArray(values) ? values : values ? [values] : [];
  return list.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s.length > 0);
}
