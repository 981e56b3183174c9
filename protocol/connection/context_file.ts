/**
 * The NATS CLI's context files: `$XDG_CONFIG_HOME/nats/context/NAME.json`,
 * the one selected by `nats context select` named in `nats/context.txt`.
 * Read here with the CLI's own field names, so an existing `nats` setup just works.
 */
import { TuttiError } from "../errors.ts";

/** The fields of a context file that tutti uses (the NATS CLI writes "" for unset ones). */
export interface NatsContext {
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

/** A variable of the environment, "" counting as unset (as the NATS CLI does). */
export function env(name: string): string | undefined {
  return Deno.env.get(name) || undefined;
}

function configHome(): string {
  return env("XDG_CONFIG_HOME") ?? `${env("HOME") ?? "."}/.config`;
}

/** The context chosen with `nats context select`, if any. */
export async function selectedContext(): Promise<string | undefined> {
  try {
    const name = (await Deno.readTextFile(`${configHome()}/nats/context.txt`)).trim();
    return name || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The context `name`; `explicit` when the user named it (flag or NATS_CONTEXT),
 * in which case a missing file is an error rather than no context.
 */
export async function readContext(name: string, explicit: boolean): Promise<NatsContext> {
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

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
