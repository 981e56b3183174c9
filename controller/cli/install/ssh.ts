/**
 * The system's own `ssh`, run through Deno.Command, never asking anything
 * (BatchMode): the user's ~/.ssh/config, agent and known_hosts apply, and
 * `--ssh-option`, `--ssh-config`, `--ssh-port`, `--identity` and
 * `--ssh-user` are passed through. A failure of ssh itself (exit 255) is
 * turned into one exact error: authentication refused, unknown host key,
 * connection refused, host unreachable, timeout.
 */
import { InstallError } from "./errors.ts";

export interface SshConfig {
  /** `-l USER` (default: ssh's own, from its configuration or the local user). */
  user?: string;
  /** `-p PORT`. */
  port?: string;
  /** `-i FILE`. */
  identity?: string;
  /** `-F FILE`. */
  configFile?: string;
  /** `-o OPT` each, before tutti's defaults (for ssh, the first value given wins). */
  options: string[];
}

/** Options tutti adds: never a prompt; a bounded connect; a dead link noticed. */
const FIXED = ["BatchMode=yes"];
const DEFAULTS = ["ConnectTimeout=10", "ServerAliveInterval=15", "ServerAliveCountMax=3"];

export function sshArgs(cfg: SshConfig, dest: string, command: string): string[] {
  const o = (opts: string[]) => opts.flatMap((x) => ["-o", x]);
  return [
    ...(cfg.configFile ? ["-F", cfg.configFile] : []),
    ...o(FIXED),
    ...o(cfg.options),
    ...o(DEFAULTS),
    ...(cfg.port ? ["-p", cfg.port] : []),
    ...(cfg.identity ? ["-i", cfg.identity] : []),
    ...(cfg.user ? ["-l", cfg.user] : []),
    "-T",
    "--",
    dest,
    command,
  ];
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` on `dest` (a remote shell command line), with `input` on its
 * standard input: text (a script for `sh -s`) or a local file streamed as it
 * is read. Throws InstallError when ssh itself failed.
 */
export async function ssh(
  cfg: SshConfig,
  dest: string,
  command: string,
  input?: { text: string } | { file: string },
): Promise<SshResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("ssh", {
      args: sshArgs(cfg, dest, command),
      stdin: input ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new InstallError("ESSH", `cannot run ssh: ${(e as Error).message}`);
  }
  // A remote end that stopped reading (it failed first) breaks the pipe: its words say why.
  const feeding = input ? feed(child.stdin, input).catch(() => {}) : Promise.resolve();
  const out = await child.output();
  await feeding;
  const d = new TextDecoder();
  const r = { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  if (r.code === 255) throw sshError(dest, r.stderr);
  return r;
}

async function feed(
  stdin: WritableStream<Uint8Array>,
  input: { text: string } | { file: string },
): Promise<void> {
  if ("text" in input) {
    const w = stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(input.text));
    } finally {
      await w.close().catch(() => {});
    }
    return;
  }
  const f = await Deno.open(input.file);
  await f.readable.pipeTo(stdin);
}

/** ssh's own failure (exit 255), by what it printed. */
export function sshError(dest: string, stderr: string): InstallError {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const said = (re: RegExp) => lines.find((l) => re.test(l));
  let line: string | undefined;
  if ((line = said(/Permission denied|Too many authentication failures/))) {
    return new InstallError("EAUTH", `ssh ${dest}: authentication refused: ${line}`);
  }
  if ((line = said(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/))) {
    return new InstallError("EHOSTKEY", `ssh ${dest}: ${line} (see --ssh-option)`);
  }
  if ((line = said(/Connection refused/))) {
    return new InstallError("ECONNREFUSED", `ssh ${dest}: ${line.replace(/^ssh: /, "")}`);
  }
  if ((line = said(/Could not resolve hostname|No route to host|Network is unreachable/))) {
    return new InstallError(
      "EHOSTUNREACH",
      `ssh ${dest}: host unreachable: ${line.replace(/^ssh: /, "")}`,
    );
  }
  if ((line = said(/timed out|Timeout/i))) {
    return new InstallError("ETIMEDOUT", `ssh ${dest}: ${line.replace(/^ssh: /, "")}`);
  }
  const last = lines.at(-1) ?? "exit status 255, nothing said";
  return new InstallError("ESSH", `ssh ${dest}: ${last}`);
}
