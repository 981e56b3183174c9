/**
 * The shell's persistent history: `shell_history` in the controller's state
 * directory (`$TUTTI_STATE_DIR`, else the XDG state directory), one command
 * a line, the newest last. Each command is appended as it is entered, so
 * several shells open at once all keep theirs; the file is cut back to the
 * last `limit` lines when a shell loads it. A history that cannot be read
 * or written never stops the shell: `problem` says why, once.
 */

export const HISTORY_FILE = "shell_history";
export const HISTORY_LIMIT = 1000;

export class History {
  /** Oldest first (the line editor reads this array). */
  readonly entries: string[] = [];
  /** The first error met reading or writing the file, for one warning. */
  problem: string | null = null;

  private constructor(readonly path: string | null, readonly limit: number) {}

  /** A history kept in memory only (nothing read or written). */
  static memory(limit = HISTORY_LIMIT): History {
    return new History(null, limit);
  }

  static async load(stateDir: string, limit = HISTORY_LIMIT): Promise<History> {
    const h = new History(`${stateDir}/${HISTORY_FILE}`, limit);
    let text = "";
    try {
      text = await Deno.readTextFile(h.path!);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) h.#fail("read", e);
      return h;
    }
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    h.entries.push(...lines.slice(-limit));
    if (lines.length > limit) await h.#rewrite();
    return h;
  }

  /** Records a command entered (blank lines and repeats of the last one are not). */
  async add(line: string): Promise<void> {
    const entry = line.replace(/[\r\n]+/g, " ").trim();
    if (entry === "" || entry === this.entries.at(-1)) return;
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    if (this.path === null || this.problem !== null) return;
    try {
      await ensureDir(this.path);
      await Deno.writeTextFile(this.path, entry + "\n", { append: true, mode: 0o600 });
    } catch (e) {
      this.#fail("write", e);
    }
  }

  /** Replaces the file with the entries kept, atomically (a rename). */
  async #rewrite(): Promise<void> {
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    try {
      await Deno.writeTextFile(tmp, this.entries.map((e) => e + "\n").join(""), { mode: 0o600 });
      await Deno.rename(tmp, this.path!);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      this.#fail("write", e);
    }
  }

  #fail(what: string, e: unknown): void {
    this.problem ??= `cannot ${what} the history ${this.path}: ${
      e instanceof Error ? e.message : String(e)
    }`;
  }
}

async function ensureDir(path: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (dir) await Deno.mkdir(dir, { recursive: true });
}
