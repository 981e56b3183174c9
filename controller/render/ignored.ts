/**
 * Messages from peers that an operation ignored (malformed, or from a host
 * it is not about): never silent. With `--json` each is a JSON line on
 * stdout among the events; with `--verbose` each is a line on stderr;
 * otherwise one line at the end says how many there were and shows the
 * first.
 *
 *   {"type":"ignored","op":"run","subject":"tutti.proc.t-1.r1.exit","host":"t-1","error":{...}}
 *   controller: ignored a run message on tutti.proc.t-1.r1.exit from t-1: EBADMSG exit event: ...
 *   controller: 3 messages from peers were ignored (the first: ...); --verbose shows each
 */
import type { Controller, IgnoredMessage } from "../mod.ts";
import type { Out } from "./out.ts";

export type IgnoredMode = "json" | "verbose" | "summary";

/** Reports what `c` ignores from now on; call the returned function at the end. */
export function reportIgnored(c: Controller, out: Out, mode: IgnoredMode): () => void {
  const off = c.onIgnored((m) => {
    if (mode === "json") out.stdout(JSON.stringify({ type: "ignored", ...m }) + "\n");
    else if (mode === "verbose") out.stderr(`controller: ignored ${describe(m)}\n`);
  });
  return () => {
    off();
    const { count, first } = c.ignored;
    if (mode !== "summary" || count === 0 || !first) return;
    const what = count === 1 ? "1 message from a peer was" : `${count} messages from peers were`;
    out.stderr(
      `controller: ${what} ignored (the first: ${describe(first)}); --verbose shows each\n`,
    );
  };
}

function describe(m: IgnoredMessage): string {
  const from = m.host === undefined ? "" : ` from ${m.host}`;
  return `a ${m.op} message on ${m.subject}${from}: ${m.error.code} ${m.error.message}`;
}
