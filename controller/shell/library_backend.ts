/**
 * The shell's backend over the controller library: each call is one
 * library operation on the shell's selection (or on the one host named),
 * its per-host replies sorted into rows, refusals and host errors.
 * Connects on first use (so `help` needs no broker), once.
 */
import type { Controller, HostReply, HostSpec, ProgramOutput, ProgramOutputEvent } from "../mod.ts";
import { formatAgo } from "../render/describe.ts";
import type { ProgramsReply } from "../../protocol/program_messages.ts";
import type {
  ActionRow,
  Answer,
  Attachment,
  OutputFeed,
  OutputPiece,
  ProgramAction,
  ProgramRow,
  ReloadRow,
  ShellBackend,
  StreamName,
} from "./backend.ts";

export class LibraryBackend implements ShellBackend {
  #controller: Promise<Controller> | null = null;

  constructor(
    private readonly connect: () => Promise<Controller>,
    /** The shell's selection (`--hosts`, `--exclude`, `--where`). */
    private readonly selection: HostSpec,
  ) {}

  async hosts(): Promise<Answer<string>> {
    const c = await this.#connected();
    const answer: Answer<string> = { rows: [], failures: [], errors: [] };
    for (const h of await c.hosts(this.selection)) {
      if (h.state === "up" && !h.error) answer.rows.push(h.host);
      else {
        const error = h.error ?? {
          code: "ENORESPONSE" as const,
          message: h.lastSeen === undefined
            ? "lost (never seen)"
            : `lost (last seen ${formatAgo(Date.now() - h.lastSeen)})`,
        };
        answer.errors.push({ host: h.host, error });
      }
    }
    return answer;
  }

  async status(host: string | undefined, names: string[]): Promise<Answer<ProgramRow>> {
    const replies = await this.#programs("status", host, names);
    return sortReplies(replies, (r) =>
      r.processes.map((p) => ({
        host: r.host,
        name: p.name,
        program: p.program,
        state: p.state,
        description: p.description,
      })));
  }

  async control(
    action: ProgramAction,
    host: string | undefined,
    names: string[],
  ): Promise<Answer<ActionRow>> {
    const replies = await this.#programs(action, host, names);
    return sortReplies(replies, (r) =>
      r.results.filter((x) => x.ok).map((x) => ({
        host: r.host,
        name: x.name,
        message: x.message,
      })));
  }

  async reload(host: string | undefined): Promise<Answer<ReloadRow>> {
    const replies = await this.#programs("reload", host, []);
    return sortReplies(
      replies,
      (r) => r.reload ? [{ host: r.host, ...r.reload }] : [],
    );
  }

  async shutdown(hosts: string[]): Promise<Answer<string>> {
    const c = await this.#connected();
    const spec = hosts.length === 0 ? this.selection : { hosts: hosts.join(",") };
    const answer: Answer<string> = { rows: [], failures: [], errors: [] };
    for (const r of await c.shutdown(spec).done) {
      if (r.ok) answer.rows.push(r.host);
      else answer.errors.push({ host: r.host, error: r.error });
    }
    return answer;
  }

  tail(host: string, name: string, opts: { stream: StreamName; follow: boolean }): OutputFeed {
    return feedOf(this.#connected().then((c) => c.programTail(host, name, opts)));
  }

  attach(host: string, name: string): Attachment {
    const attachment = this.#connected().then((c) => c.attach(host, name));
    return {
      ...feedOf(attachment),
      write: async (data) => await (await attachment).write(data),
      closeInput: async () => await (await attachment).closeInput(),
      terminal: async () => {
        const a = await attachment;
        await a.ready;
        return a.tty;
      },
      resize: async (rows, cols) => await (await attachment).resize(rows, cols),
    };
  }

  async #programs(
    action: "status" | "reload" | ProgramAction,
    host: string | undefined,
    names: string[],
  ): Promise<HostReply<ProgramsReply>[]> {
    const c = await this.#connected();
    const spec = host === undefined ? this.selection : { hosts: host };
    return await c.programs(action, { ...spec, names }).done;
  }

  #connected(): Promise<Controller> {
    if (this.#controller === null) {
      const p = this.connect();
      this.#controller = p;
      // A failed connection is tried again by the next command.
      p.catch(() => {
        if (this.#controller === p) this.#controller = null;
      });
    }
    return this.#controller;
  }
}

/**
 * The rows of each host that answered (`rowsOf` its reply), the names it
 * refused (its results that are not ok), and the hosts that failed.
 */
function sortReplies<T>(
  replies: HostReply<ProgramsReply>[],
  rowsOf: (r: ProgramsReply & { host: string }) => T[],
): Answer<T> {
  const answer: Answer<T> = { rows: [], failures: [], errors: [] };
  for (const r of replies) {
    if (!r.ok) {
      answer.errors.push({ host: r.host, error: r.error });
      continue;
    }
    answer.rows.push(...rowsOf(r));
    for (const x of r.results ?? []) {
      if (x.ok) continue;
      const error = x.error ?? { code: "EINTERNAL" as const, message: x.message };
      answer.failures.push({ host: r.host, name: x.name, message: x.message, error });
    }
  }
  return answer;
}

/** The library's output events as the shell's pieces; `close()` ends them (the process runs on). */
function feedOf(output: Promise<ProgramOutput>): OutputFeed {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const e of await output) {
        const piece = pieceOf(e);
        if (piece) yield piece;
      }
    },
    close: async () => {
      const o = await output.catch(() => null);
      await o?.close();
    },
  };
}

function pieceOf(e: ProgramOutputEvent): OutputPiece | null {
  switch (e.type) {
    case "output":
      return { type: "output", stream: e.stream, data: e.data };
    case "gap":
      return {
        type: "note",
        text: `${e.bytes} bytes of ${e.stream} could not be shown live (tail shows them)`,
      };
    case "event":
      return { type: "note", text: e.event.message };
  }
}
