/**
 * From what a user names (`--hosts`, `--exclude`, `--where`) to what goes on
 * the wire (a `Target`) and what the controller expects back: a node set,
 * comma list or host file names its hosts exactly, so each one that stays
 * silent is reported; a glob or a label condition can only be matched
 * against the hosts the controller knows of, plus any that answer.
 *
 * Everything is parsed here, before anything is sent: a bad selector is an
 * `EBADSEL` with the parser's message and no message leaves.
 */
import { TuttiError } from "../protocol/errors.ts";
import type { Target } from "../protocol/messages.ts";
import { matchTarget, resolveHostFiles, selectorFromArgs } from "../protocol/selector.ts";

/** Which hosts an operation is for. Every field is optional: nothing selects every host. */
export interface HostSpec {
  /** Globs, node sets, comma lists and `@FILE` (one host per line). */
  hosts?: string;
  /** Same syntax; these hosts are left out. */
  exclude?: string;
  /** Label conditions; values may be globs: `{cluster: "gros", rack: "[1-4]"}`. */
  where?: Record<string, string>;
}

export interface ResolvedTarget {
  /** The wire form, `@FILE`s replaced by the folded hosts they list. */
  readonly target: Target;
  /** The hosts named exactly, or null when a glob or a label condition decides. */
  readonly explicit: string[] | null;
  /** Whether a host (with its labels, when known) is selected. */
  matches(host: string, labels?: Record<string, string>): boolean;
}

export function resolveTarget(
  spec: HostSpec,
  readFile: (path: string) => string = Deno.readTextFileSync,
): ResolvedTarget {
  const hosts = spec.hosts === undefined ? undefined : resolveHostFiles(spec.hosts, readFile);
  const exclude = spec.exclude === undefined ? undefined : resolveHostFiles(spec.exclude, readFile);
  const selector = selectorFromArgs({ hosts, exclude });
  const target: Target = { ...selector.target };
  const where = spec.where ?? {};
  for (const key of Object.keys(where)) {
    if (key === "") throw new TuttiError("EBADSEL", "label condition with an empty label name");
  }
  if (Object.keys(where).length > 0) target.where = { ...where };
  // Parse every part the way agents will, so that none of them answers EBADSEL.
  matchTarget(target, "-", {});
  const labelled = target.where !== undefined;
  return {
    target,
    explicit: labelled ? null : selector.explicit(),
    matches: (host, labels) =>
      labelled ? labels !== undefined && matchTarget(target, host, labels) : selector.matches(host),
  };
}

/** `k=v` strings (repeatable `--where`) as a label map; a missing `=` is an EBADSEL. */
export function parseWhere(items: string[]): Record<string, string> {
  const where: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new TuttiError(
        "EBADSEL",
        `label condition ${JSON.stringify(item)}: expected LABEL=VALUE (the value may be a glob)`,
      );
    }
    where[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return where;
}
