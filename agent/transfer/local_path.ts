/**
 * Where a transfer's path lands on this host: `{host}` is the agent's name
 * (so that several agents on one machine never share a path), `~` and
 * `~/...` the agent user's home, and a relative path starts at that home,
 * as scp does. The result is absolute and normalised (`a/../b` is `b`).
 */
import { TuttiError } from "../../protocol/errors.ts";

export function localPath(path: string, host: string): string {
  let p = path.replaceAll("{host}", host);
  if (!p.startsWith("/")) {
    const home = Deno.env.get("HOME");
    if (!home) {
      throw new TuttiError(
        "ENOENT",
        `${path}: HOME is not set on this host, so ~ and relative paths have no base`,
      );
    }
    p = p === "~" ? home : p.startsWith("~/") ? `${home}/${p.slice(2)}` : `${home}/${p}`;
  }
  return normalise(p);
}

function normalise(abs: string): string {
  const out: string[] = [];
  for (const c of abs.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return `/${out.join("/")}`;
}

/** The directory part of an absolute path. */
export function dirOf(abs: string): string {
  return abs.slice(0, abs.lastIndexOf("/")) || "/";
}
