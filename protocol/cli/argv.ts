/**
 * The command-line parser of both programs, with their own error messages
 * (one line each, as UsageError): `--name value`, `--name=value`, `-s value`,
 * repeatable options, `--` ending the options. For the controller's `run`,
 * options also end at the first word that is not one, so
 * `run --hosts x echo -n hi` needs no `--`. (node:util's parseArgs cannot stop
 * there, and its messages span several lines.)
 */
import { UsageError } from "./usage_error.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: Values;
  /** Words that are not options (and everything after `--`, or after the first word with `stopAtWord`). */
  positionals: string[];
}

export function parseArgv(
  args: string[],
  table: OptionTable,
  opts: { stopAtWord?: boolean } = {},
): Parsed {
  const values: Values = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(table).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]),
  );
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (opts.stopAtWord) {
        positionals.push(...args.slice(i));
        break;
      }
      positionals.push(a);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else {
      const long = byShort.get(a.slice(1, 2));
      if (long === undefined) throw new UsageError(`unknown option ${a}`);
      name = long;
      inline = a.length > 2 ? a.slice(2) : undefined;
    }
    const spec = table[name];
    if (!spec) throw new UsageError(`unknown option ${a.split("=")[0]}`);
    let value: string | boolean;
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      value = true;
    } else if (inline !== undefined) {
      value = inline;
    } else {
      if (i + 1 >= args.length) throw new UsageError(`option --${name} needs a value`);
      value = args[++i];
    }
    if (spec.multiple) {
      const list = (values[name] as string[] | undefined) ?? [];
      list.push(value as string);
      values[name] = list;
    } else {
      values[name] = value;
    }
  }
  return { values, positionals };
}

/** Accessors that keep the verbs' code free of casts. */
export function str(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === "string" ? x : undefined;
}

export function list(v: Values, name: string): string[] {
  const x = v[name];
  return Array.isArray(x) ? x : [];
}

export function flag(v: Values, name: string): boolean {
  return v[name] === true;
}
