/**
 * A file tree as transfer entries: what `put` sends of the controller's
 * sources and what `get` answers of an agent's paths. Symbolic links are
 * kept as links (never followed, inside the tree or at its root); the
 * order is the walk's, each directory before what it holds, names sorted
 * so that two walks of the same tree agree.
 */
import type { TransferEntry } from "../transfer_messages.ts";
import { sha256File } from "./sha256.ts";

/** A path's last component, without trailing slashes (`/` itself has none: EINVAL). */
export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/**
 * Every entry of the tree at `root`, its own entry first under `name`.
 * Throws Deno's errors (NotFound, PermissionDenied) for the caller to name.
 * Entries that are neither file, directory nor link (sockets, devices) are
 * left out.
 */
export async function walkTree(root: string, name = baseName(root)): Promise<TransferEntry[]> {
  const out: TransferEntry[] = [];
  await walk(root, name, out);
  return out;
}

async function walk(path: string, rel: string, out: TransferEntry[]): Promise<void> {
  const st = await Deno.lstat(path);
  const mode = (st.mode ?? 0o644) & 0o7777;
  if (st.isSymlink) {
    out.push({ path: rel, kind: "link", mode, size: 0, link: await Deno.readLink(path) });
  } else if (st.isFile) {
    out.push({ path: rel, kind: "file", mode, size: st.size, sha256: await sha256File(path) });
  } else if (st.isDirectory) {
    out.push({ path: rel, kind: "dir", mode, size: 0 });
    const names: string[] = [];
    for await (const e of Deno.readDir(path)) names.push(e.name);
    names.sort();
    for (const n of names) await walk(`${path}/${n}`, `${rel}/${n}`, out);
  }
}
