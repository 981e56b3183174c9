/**
 * Tab completion for the shell: command names first, then what each
 * command takes (program names, host names, command names, options).
 * Completion must answer at once, so it reads a `Catalog` of the hosts and
 * program names the shell has seen in the agents' answers; the shell keeps
 * it fresh (at start, and from every `status` and `hosts`).
 */
import type { Completer } from "./editor.ts";
import type { ProgramRow } from "./backend.ts";

/** What a command's arguments are, for completion. */
export type ArgKind = "programs" | "program" | "hosts" | "command" | "none";

export interface CompletionSpec {
  name: string;
  aliases?: string[];
  args: ArgKind;
  /** Also offer `all` among the programs. */
  all?: boolean;
  options?: string[];
}

/** Hosts and their program names, as last seen. */
export class Catalog {
  #hosts: string[] = [];
  readonly #programs = new Map<string, Set<string>>();

  hosts(): string[] {
    return this.#hosts;
  }

  /** Names on `host`, or on any host: processes (`web:0`) and their programs (`web`). */
  programs(host?: string): string[] {
    const sets = host === undefined ? [...this.#programs.values()] : [this.#programs.get(host)];
    const names = new Set<string>();
    for (const set of sets) for (const n of set ?? []) names.add(n);
    return [...names].sort();
  }

  learnHosts(hosts: string[]): void {
    this.#hosts = [...hosts];
    for (const h of this.#programs.keys()) if (!hosts.includes(h)) this.#programs.delete(h);
  }

  /** From a reload's changes on `host` (process names). */
  learnReload(host: string, added: string[], removed: string[]): void {
    const names = this.#programs.get(host) ?? new Set<string>();
    for (const n of removed) names.delete(n);
    for (const n of added) names.add(n).add(n.split(":")[0]);
    this.#programs.set(host, names);
  }

  /** From a status of every program (`complete`: the rows are all of them on their hosts). */
  learnStatus(rows: ProgramRow[], complete: boolean): void {
    const byHost = new Map<string, Set<string>>();
    for (const r of rows) {
      const set = byHost.get(r.host) ?? new Set();
      set.add(r.name);
      if (r.program !== r.name) set.add(r.program);
      byHost.set(r.host, set);
    }
    for (const [host, names] of byHost) {
      const old = complete ? new Set<string>() : this.#programs.get(host) ?? new Set();
      this.#programs.set(host, new Set([...old, ...names]));
      if (!this.#hosts.includes(host)) this.#hosts = [...this.#hosts, host].sort();
    }
  }
}

export function shellCompleter(specs: readonly CompletionSpec[], catalog: Catalog): Completer {
  return (before) => {
    const words = before.split(/[ \t]+/);
    const word = words.pop() ?? "";
    const done = words.filter((w) => w !== "");
    if (done.length === 0) return { word, candidates: commandNames(specs) };
    const spec = specs.find((s) => s.name === done[0] || s.aliases?.includes(done[0]));
    if (!spec) return { word, candidates: [] };
    if (word.startsWith("-")) return { word, candidates: spec.options ?? [] };
    const args = done.slice(1).filter((w) => !w.startsWith("-"));
    switch (spec.args) {
      case "command":
        return { word, candidates: args.length === 0 ? commandNames(specs) : [] };
      case "hosts":
        return { word, candidates: catalog.hosts() };
      case "program":
        if (args.length > 0) return { word, candidates: [] };
        return { word, candidates: programCandidates(word, catalog, false) };
      case "programs":
        return { word, candidates: programCandidates(word, catalog, spec.all === true) };
      default:
        return { word, candidates: [] };
    }
  };
}

function commandNames(specs: readonly CompletionSpec[]): string[] {
  return specs.flatMap((s) => [s.name, ...(s.aliases ?? [])]);
}

/**
 * `g5k-3:ng` completes among g5k-3's programs; otherwise program names (of
 * any host), and when none begins with the word, host names followed by a
 * `:` so that the next Tab completes that host's programs.
 */
function programCandidates(word: string, catalog: Catalog, all: boolean): string[] {
  const colon = word.indexOf(":");
  if (colon > 0) {
    const host = word.slice(0, colon);
    if (catalog.hosts().includes(host)) {
      return catalog.programs(host).map((p) => `${host}:${p}`);
    }
  }
  const names = [...catalog.programs(), ...(all ? ["all"] : [])];
  if (names.some((n) => n.startsWith(word))) return names;
  return catalog.hosts().map((h) => `${h}:`);
}
