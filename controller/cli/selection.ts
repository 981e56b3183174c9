/**
 * The host selection options shared by the verbs that address many hosts:
 * `--hosts SEL`, `--exclude SEL`, `--where k=v` (repeatable), parsed here
 * into the library's `HostSpec` and checked before anything is sent.
 */
import { type HostSpec, parseWhere, resolveTarget } from "../mod.ts";
import { list, type OptionTable, str, type Values } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";

export const SELECTION_OPTIONS: OptionTable = {
  hosts: { type: "string" },
  exclude: { type: "string" },
  where: { type: "string", multiple: true },
};

export const SELECTION_USAGE =
  `  --hosts SEL          hosts: globs (g5k-*), node sets (g5k-[1-100,120]), comma lists,
                       @FILE (one host per line)
  --exclude SEL        leave these hosts out (same syntax)
  --where K=V          only hosts whose label K matches V (a glob); repeatable`;

/** The selection, validated (EBADSEL is thrown before anything is sent). */
export function selection(v: Values, required: boolean): HostSpec {
  const hosts = str(v, "hosts");
  if (required && hosts === undefined) throw new UsageError("missing --hosts SEL");
  const spec: HostSpec = { hosts, exclude: str(v, "exclude") };
  const where = list(v, "where");
  if (where.length > 0) spec.where = parseWhere(where);
  resolveTarget(spec);
  return spec;
}
