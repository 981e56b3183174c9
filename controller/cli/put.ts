/**
 * `controller put --hosts SEL SRC... DEST` and `controller get --hosts SEL
 * REMOTE... LOCALDIR`: files to and from many hosts, with a progress line on
 * a terminal (or JSON events), and `run`'s summary. `--list FILE` takes a
 * batch, one transfer per line, flushed as one operation.
 */
import { flag, str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import type { PutSpec, TransferOperation } from "../mod.ts";
import { TransferView } from "../render/transfer.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { CliContext, Verb } from "./verb.ts";

const PATHS =
  `Paths on the hosts may hold {host} (each host's name); ~ and relative paths start at the
agent user's home directory, as with scp.`;

export const putVerb: Verb = {
  name: "put",
  summary: "copy files and directories to many hosts, uploading each byte once",
  options: { ...SELECTION_OPTIONS, list: { type: "string" }, json: { type: "boolean" } },
  usage: `usage: controller put --hosts SEL SRC... DEST
       controller put --hosts SEL --list FILE
Copies local files and directories (recursively, modes kept, symbolic links as links) to DEST on
every selected host. Each content is uploaded once to the server's JetStream (nats-server -js),
whatever the number of hosts; each host fetches it, checks its SHA-256, and renames the file into
place only when complete. A host that already has the content skips it; an interrupted put
continues where it stopped when run again.
DEST is a directory (made if missing) when there are several sources, a directory source, or
when it ends with /; else it is the file's name (or an existing directory to put it in).
${PATHS}

${SELECTION_USAGE}
  --list FILE          a batch: one "SRC... DEST" per line (blank lines and # comments skipped),
                       all sent as one transfer with one progress line
  --json               one JSON object per event on stdout`,

  async main(p, ctx) {
    const spec = selection(p.values, true);
    const list = str(p.values, "list");
    let specs: PutSpec[];
    if (list !== undefined) {
      if (p.positionals.length > 0) throw new UsageError("put: --list or SRC... DEST, not both");
      specs = (await readList(list)).map((words) => {
        if (words.length < 2) {
          throw new UsageError(`put: --list ${list}: "${words.join(" ")}": SRC... DEST`);
        }
        return { sources: words.slice(0, -1), dest: words[words.length - 1] };
      });
    } else {
      if (p.positionals.length < 2) throw new UsageError("put needs SRC... DEST");
      specs = [{ sources: p.positionals.slice(0, -1), dest: p.positionals.at(-1)! }];
    }
    const c = await ctx.connect();
    return show(c.put(spec, { specs }), "put", flag(p.values, "json"), ctx);
  },
};

export const getVerb: Verb = {
  name: "get",
  summary: "bring files from many hosts into LOCALDIR/<host>/",
  options: { ...SELECTION_OPTIONS, json: { type: "boolean" }, parallel: { type: "string" } },
  usage: `usage: controller get --hosts SEL REMOTE... LOCALDIR
Brings files and directories from every selected host into LOCALDIR/<host>/ (like rpdcp or
clush --rcopy), each checked against the SHA-256 the host announced and renamed into place only
when complete; a file already there with the same content is skipped, and a get run again
continues the files it left partial.
${PATHS}

${SELECTION_USAGE}
  --parallel N         hosts read from at once (default 8)
  --json               one JSON object per event on stdout`,

  async main(p, ctx) {
    const spec = selection(p.values, true);
    if (p.positionals.length < 2) throw new UsageError("get needs REMOTE... LOCALDIR");
    const par = str(p.values, "parallel");
    const parallel = par === undefined ? undefined : Number(par);
    if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1)) {
      throw new UsageError(`get: --parallel ${par}: a whole number from 1`);
    }
    const c = await ctx.connect();
    const op = c.get(spec, {
      paths: p.positionals.slice(0, -1),
      dir: p.positionals.at(-1)!,
      parallel,
    });
    return show(op, "get", flag(p.values, "json"), ctx);
  },
};

async function show(op: TransferOperation, verb: string, json: boolean, ctx: CliContext) {
  const view = new TransferView(ctx.out, verb, json);
  for await (const e of op) view.event(e);
  const summary = await op.done;
  view.end(summary);
  return summary.ok ? 0 : 1;
}

/** The words of each line of a list file (no quoting: paths with spaces need the library). */
async function readList(path: string): Promise<string[][]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`put: --list ${path}: ${(e as Error).message}`);
  }
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(/\s+/));
}
