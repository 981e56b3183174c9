/**
 * `--ssh SEL`: the ssh destinations to install on, as node sets
 * (`node-[1-20]`), comma lists and `@FILE` (one destination per line), where
 * a name may carry a domain after its node set (`gros-[1-4].nancy.g5k`).
 * Each gets its agent name (the short host name, or `--name` with `{host}`)
 * and its directory (`--dir` with `{host}`). Globs are refused: ssh must be
 * told every host.
 */
import { TuttiError } from "../../../protocol/errors.ts";
import { splitElements } from "../../../protocol/nodeset_syntax.ts";
import { parseSelector } from "../../../protocol/selector.ts";
import { isToken } from "../../../protocol/subjects.ts";

export interface Target {
  /** What ssh is given. */
  dest: string;
  /** The short host name: `{host}` in templates. */
  host: string;
  /** The agent's name. */
  name: string;
  /** The install directory as given (`{host}` replaced; "" for the default). */
  dir: string;
}

export function fill(template: string, host: string): string {
  return template.replaceAll("{host}", host);
}

export function expandTargets(
  sel: string,
  opts: { name?: string; dir?: string },
  readFile: (path: string) => string = Deno.readTextFileSync,
): Target[] {
  const dests: string[] = [];
  for (const el of splitElements({ text: sel, what: "ssh host set" })) {
    if (el.text.startsWith("@")) {
      dests.push(...hostFile(el.text.slice(1), readFile));
      continue;
    }
    // A domain after the node set: `gros-[1-4].nancy.g5k` is gros-1.nancy.g5k, ...
    const close = el.text.lastIndexOf("]");
    const dot = el.text.indexOf(".", close + 1);
    const head = dot < 0 ? el.text : el.text.slice(0, dot);
    const domain = dot < 0 ? "" : el.text.slice(dot);
    const names = parseSelector(head).explicit();
    if (names === null) {
      throw new TuttiError(
        "EBADSEL",
        `--ssh ${JSON.stringify(sel)}: name the hosts (node sets, lists, @FILE), not a glob`,
      );
    }
    dests.push(...names.map((n) => n + domain));
  }
  const targets = [...new Set(dests)].map((dest): Target => {
    const host = dest.replace(/^.*@/, "").split(".")[0];
    return {
      dest,
      host,
      name: fill(opts.name ?? "{host}", host),
      dir: fill(opts.dir ?? "", host),
    };
  });
  const byName = new Map<string, string>();
  for (const t of targets) {
    if (!isToken(t.name)) {
      throw new TuttiError(
        "EINVAL",
        `agent name ${JSON.stringify(t.name)} (for ${t.dest}): use 1-128 characters from ` +
          `A-Z a-z 0-9 _ - (--name)`,
      );
    }
    const other = byName.get(t.name);
    if (other !== undefined) {
      throw new TuttiError(
        "EINVAL",
        `${other} and ${t.dest} would both be agent ${t.name}: give --name with {host}`,
      );
    }
    byName.set(t.name, t.dest);
  }
  return targets;
}

/** Destinations of a host file: one per line, `#` comments; user@ and domains go to ssh. */
function hostFile(path: string, readFile: (path: string) => string): string[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new TuttiError(
      "EBADSEL",
      `host file ${JSON.stringify(path)} cannot be read: ${(e as Error).message}`,
    );
  }
  const out = text.split(/\r?\n/).map((l) => l.replace(/#.*/, "").trim()).filter((l) => l !== "");
  if (out.length === 0) {
    throw new TuttiError("EBADSEL", `host file ${JSON.stringify(path)} lists no hosts`);
  }
  return out;
}
