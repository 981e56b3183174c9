/**
 * `user:` of a program: a name or a numeric uid looked up in /etc/passwd
 * (like getpwnam(3) without NSS: users only known to LDAP or sssd are not
 * found). Its primary group comes from the same line; supplementary groups
 * are dropped (Deno's spawn calls setgroups(0) before setuid), where
 * supervisord calls initgroups(3).
 */
import { TuttiError } from "../../protocol/errors.ts";

export interface UserSpec {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** `user` resolved against the text of a passwd file; null when unknown. */
export function lookupUser(user: string | number, passwd: string): UserSpec | null {
  const byUid = typeof user === "number" || /^\d+$/.test(user);
  for (const line of passwd.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    if (byUid ? uid === Number(user) : f[0] === user) {
      return { name: f[0], uid, gid, home: f[5] };
    }
  }
  return null;
}

/**
 * The user a process may be started as, by a process running as `uid`:
 * programs' `user:` and `run --user` both come through here. Unknown:
 * ENOENT; another user than the agent's own without root: EPERM.
 */
export function resolveUser(user: string | number, passwd: string, uid: number): UserSpec {
  const found = lookupUser(user, passwd);
  if (found === null) {
    throw new TuttiError("ENOENT", `no user ${JSON.stringify(user)} in /etc/passwd`);
  }
  if (uid !== 0 && found.uid !== uid) {
    throw new TuttiError(
      "EPERM",
      `cannot switch to user ${found.name}: the agent does not run as root (it runs as uid ${uid})`,
    );
  }
  return found;
}

/** `env` with what login(1) would set for `user`; what `env` has already wins. */
export function loginEnv(user: UserSpec, env: Record<string, string>): Record<string, string> {
  return { HOME: user.home, USER: user.name, LOGNAME: user.name, ...env };
}

/** The system's passwd file, or "" when it cannot be read. */
export function readPasswd(): string {
  try {
    return Deno.readTextFileSync("/etc/passwd");
  } catch {
    return "";
  }
}
