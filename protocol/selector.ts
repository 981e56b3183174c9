/**
 * Host selectors: globs, ClusterShell node sets, comma lists and label
 * conditions parsed into one value type. (Interface stub; implementation in progress.)
 */
import type { Target } from "./messages.ts";

export interface Selector {
  /** The source text, as given. */
  readonly source: string;
  /** Whether `host` is selected. */
  matches(host: string): boolean;
  /** The hosts named exactly when the selector has no glob, else null. */
  explicit(): string[] | null;
}

export function parseSelector(_expr: string): Selector {
  throw new Error("not implemented");
}

export function fold(_hosts: Iterable<string>): string {
  throw new Error("not implemented");
}

export function matchTarget(
  _target: Target | undefined,
  _host: string,
  _labels: Record<string, string>,
): boolean {
  throw new Error("not implemented");
}
