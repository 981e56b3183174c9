/**
 * `controller programs attach --hosts HOST NAME`: this terminal connected to
 * one supervised process, until Ctrl-] (byte 0x1d, as in telnet) detaches;
 * the process keeps running.
 *
 * A process under a pseudo-terminal (`tty: true`) at a terminal here: this
 * terminal goes to raw mode, so every key (Ctrl-C, Ctrl-D, arrows, Tab) is
 * a byte sent as is and the remote terminal does the echo and the line
 * editing, as over ssh; its size is sent at once and again on each SIGWINCH.
 * Otherwise the terminal stays as it is (lines typed are sent when Enter is
 * pressed, echoed here; Ctrl-] then Enter detaches) and input from a pipe
 * is sent, then the command detaches at its end.
 */
import { TuttiError } from "../../protocol/errors.ts";
import { isToken } from "../../protocol/subjects.ts";
import { str } from "../../protocol/cli/argv.ts";
import type { Parsed } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import type { ProgramAttachment } from "../mod.ts";
import { DenoTerminal, stdinQueue } from "../shell/terminal.ts";
import type { CliContext } from "./verb.ts";

/** Ctrl-], telnet's escape: not a key programs use. */
const DETACH = 0x1d;

export async function attachMain(p: Parsed, names: string[], ctx: CliContext): Promise<number> {
  const host = str(p.values, "hosts");
  if (host === undefined || !isToken(host)) {
    throw new UsageError("attach needs --hosts HOST, exactly one host name");
  }
  if (names.length !== 1) throw new UsageError("attach needs exactly one NAME");
  const c = await ctx.connect();
  const a = c.attach(host, names[0]);
  try {
    await a.ready;
    // The start failed (no such process...): the events end with why.
    if (a.closed) { for await (const _ of a) continue; }
  } catch (e) {
    return failed(e, ctx);
  }
  const raw = a.tty && Deno.stdin.isTerminal();
  const nl = raw ? "\r\n" : "\n";
  ctx.out.stderr(
    `attached to ${host}:${names[0]}${a.tty ? " (a terminal)" : ""}; Ctrl-] detaches${nl}`,
  );
  const term = raw ? new DenoTerminal() : null;
  let resize: (() => void) | null = null;
  if (term) {
    term.setRaw(true);
    resize = () => sendSize(a);
    resize();
    Deno.addSignalListener("SIGWINCH", resize);
  }
  const stop = new AbortController();
  const shown = (async () => {
    for await (const e of a) {
      if (e.type === "output") ctx.out.stdout(e.data);
      else if (e.type === "gap") ctx.out.stderr(`${nl}[${e.bytes} bytes not received live]${nl}`);
      else if (e.event.type === "state") ctx.out.stderr(`${nl}[${e.event.message}]${nl}`);
    }
  })();
  const typed = (async () => {
    const input = stdinQueue();
    for (;;) {
      const chunk = await input.next(stop.signal);
      if (!chunk) return; // end of input, or the output ended
      const at = chunk.indexOf(DETACH);
      await a.write(at < 0 ? chunk : chunk.subarray(0, at));
      if (at >= 0) return;
    }
  })();
  try {
    await Promise.race([shown, typed]);
    return 0;
  } catch (e) {
    return failed(e, ctx, nl);
  } finally {
    stop.abort();
    if (resize) Deno.removeSignalListener("SIGWINCH", resize);
    term?.setRaw(false);
    await a.detach();
    await Promise.allSettled([shown, typed]);
    ctx.out.stderr(`\ndetached from ${host}:${names[0]} (it keeps running)\n`);
  }
}

/** This terminal's size to the process's pseudo-terminal (a failure is only worth a note). */
function sendSize(a: ProgramAttachment): void {
  let size: { rows: number; columns: number };
  try {
    size = Deno.consoleSize();
  } catch {
    return;
  }
  if (size.rows < 1 || size.columns < 1) return;
  a.resize(size.rows, size.columns).catch(() => {});
}

function failed(e: unknown, ctx: CliContext, nl = "\n"): number {
  if (!(e instanceof TuttiError)) throw e;
  ctx.out.stderr(`controller programs attach: ${e.code} ${e.message}${nl}`);
  return 1;
}
