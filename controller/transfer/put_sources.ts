/**
 * What a `put` sends: each destination with the trees of its sources,
 * walked on the controller (digests included), and the files to upload,
 * each distinct content once whatever the number of hosts and paths.
 */
import { fsError } from "../../protocol/files/fs_error.ts";
import { walkTree } from "../../protocol/files/file_tree.ts";
import { TuttiError } from "../../protocol/errors.ts";
import type { PutItem } from "../../protocol/transfer_messages.ts";

/** One line of a batch: these local paths to that destination on every host. */
export interface PutSpec {
  sources: string[];
  /** On the hosts: `{host}` is each host's name; `~` and relative paths start at the agent's home. */
  dest: string;
}

export interface PutPlan {
  items: PutItem[];
  /** Distinct contents: digest → a local path that has it, and its size. */
  contents: Map<string, { path: string; size: number }>;
  /** Bytes every host receives. */
  total: number;
}

export async function planPut(specs: PutSpec[]): Promise<PutPlan> {
  if (specs.length === 0) throw new TuttiError("EINVAL", "put: nothing to send");
  const contents = new Map<string, { path: string; size: number }>();
  const items: PutItem[] = [];
  let total = 0;
  for (const { sources, dest } of specs) {
    if (sources.length === 0) throw new TuttiError("EINVAL", `put to ${dest}: no source`);
    if (dest === "") throw new TuttiError("EINVAL", "put: the destination is empty");
    const entries = [];
    let dirs = false;
    for (const src of sources) {
      if (src.replace(/\/+$/, "") === "") {
        throw new TuttiError("EINVAL", `put: ${src}: the root cannot be sent whole`);
      }
      let tree;
      try {
        tree = await walkTree(src);
      } catch (e) {
        throw fsError(e, "reading", src);
      }
      if (tree[0].kind === "dir") dirs = true;
      for (const e of tree) {
        const at = src.replace(/\/+$/, "") + e.path.slice(tree[0].path.length);
        if (e.kind === "file" && !contents.has(e.sha256!)) {
          contents.set(e.sha256!, { path: at, size: e.size });
        }
        total += e.size;
      }
      entries.push(...tree);
    }
    const into = sources.length > 1 || dirs || dest.endsWith("/");
    const names = new Set<string>();
    for (const e of entries) {
      if (names.has(e.path)) {
        throw new TuttiError("EINVAL", `put to ${dest}: two sources are named ${e.path}`);
      }
      names.add(e.path);
    }
    items.push({ dest, into, entries });
  }
  return { items, contents, total };
}
