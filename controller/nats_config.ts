/**
 * The NATS server configuration of the recommended deployment: one NKey user
 * per agent, one for controllers and one for viewers, each with the subject
 * permissions of its role (protocol/permissions.ts). Anonymous clients are
 * refused, and only a controller's key can make an agent run anything.
 *
 * Seeds are kept in a directory, one file per user (`controller.nk`,
 * `viewer.nk`, `agents/<host>.nk`), created when missing and reused
 * otherwise, so the configuration can be written again for more hosts
 * without re-deploying the keys already handed out.
 */
import { nkeys } from "@nats-io/nats-core";
import { TuttiError } from "../protocol/errors.ts";
import {
  agentPermissions,
  controllerPermissions,
  type Permissions,
  type Role,
  viewerPermissions,
} from "../protocol/permissions.ts";
import type { Subjects } from "../protocol/subjects.ts";

export interface NatsUser {
  role: Role;
  /** The agent's host name; for the other roles, the role. */
  name: string;
  /** Public NKey (`U...`). */
  nkey: string;
  permissions: Permissions;
}

export interface KeyFiles {
  users: NatsUser[];
  /** Seed files written now, and those that were already there. */
  created: string[];
  kept: string[];
}

/** The seed file of a user under `dir`. */
export function seedPath(dir: string, role: Role, name: string): string {
  return role === "agent" ? `${dir}/agents/${name}.nk` : `${dir}/${role}.nk`;
}

/** Users of a controller, a viewer and `agents`, their seeds created or read under `dir`. */
export async function loadOrCreateUsers(
  dir: string,
  subjects: Subjects,
  agents: string[],
): Promise<KeyFiles> {
  const out: KeyFiles = { users: [], created: [], kept: [] };
  await mkdirPrivate(dir);
  if (agents.length > 0) await mkdirPrivate(`${dir}/agents`);
  const wanted: [Role, string, Permissions][] = [
    ["controller", "controller", controllerPermissions(subjects)],
    ["viewer", "viewer", viewerPermissions(subjects)],
    ...agents.map((h): [Role, string, Permissions] => ["agent", h, agentPermissions(subjects, h)]),
  ];
  for (const [role, name, permissions] of wanted) {
    const path = seedPath(dir, role, name);
    const { nkey, created } = await userKey(path);
    (created ? out.created : out.kept).push(path);
    out.users.push({ role, name, nkey, permissions });
  }
  return out;
}

async function mkdirPrivate(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new TuttiError("EINVAL", `cannot create the key directory ${dir}: ${message(e)}`);
  }
}

/** The public key of the seed in `path`, written first (mode 0600) when the file does not exist. */
async function userKey(path: string): Promise<{ nkey: string; created: boolean }> {
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new TuttiError("EINVAL", `cannot read the seed file ${path}: ${message(e)}`);
    }
  }
  if (text !== undefined) {
    try {
      const kp = nkeys.fromSeed(new TextEncoder().encode(text.trim()));
      const nkey = kp.getPublicKey();
      if (!nkey.startsWith("U")) throw new Error("not a user seed (SU...)");
      return { nkey, created: false };
    } catch (e) {
      throw new TuttiError("EINVAL", `${path} does not hold a NATS user seed: ${message(e)}`);
    }
  }
  const kp = nkeys.createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  try {
    // createNew: two runs at once must not hand out different keys under one name.
    await Deno.writeTextFile(path, seed + "\n", { createNew: true, mode: 0o600 });
  } catch (e) {
    throw new TuttiError("EINVAL", `cannot write the seed file ${path}: ${message(e)}`);
  }
  return { nkey: kp.getPublicKey(), created: true };
}

const ROLE_COMMENT: Record<Role, string> = {
  controller: "sends requests and run input to every agent, reads everything",
  viewer: "reads events, may only ping, ps, logs, tail and follow",
  agent: "its own requests, broadcasts and run input in, its own events and replies out",
};

/**
 * The configuration text: an `authorization` block, usable as the server's
 * whole configuration (`nats-server -c FILE`) or included from another.
 */
export function renderNatsConfig(users: NatsUser[], header: string[]): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: string[]) => `[${xs.map(q).join(", ")}]`;
  const lines = header.map((h) => `# ${h}`);
  lines.push("authorization {", "  users = [");
  for (const u of users) {
    const who = u.role === "agent" ? `agent ${u.name}` : u.role;
    lines.push(
      `    # ${who}: ${ROLE_COMMENT[u.role]}`,
      `    {`,
      `      nkey: ${q(u.nkey)}`,
      `      permissions: {`,
      `        publish: { allow: ${list(u.permissions.publish)} }`,
      `        subscribe: { allow: ${list(u.permissions.subscribe)} }`,
      `      }`,
      `    }`,
    );
  }
  lines.push("  ]", "}", "");
  return lines.join("\n");
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
