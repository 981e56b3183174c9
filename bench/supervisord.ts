/**
 * The idle-cost peer: Debian's `supervisord` (package `supervisor`, installed
 * with apt-get when missing), in the foreground (`-n`) with its own
 * configuration, unix socket, pid file and logs in a temporary directory,
 * supervising one trivial program (`sleep infinity`), as a node would run it
 * beside an experiment. Stopped by its PID.
 */
import { ensurePackage } from "./apt.ts";
import { start, type Started } from "./child.ts";
import type { Scope } from "./scope.ts";

const CANDIDATES = ["/usr/bin/supervisord", "/usr/local/bin/supervisord"];
const READY_MS = 30_000;

export class Supervisord {
  private constructor(private readonly s: Started) {}

  /** Installs it if needed, starts it, and resolves once its program is RUNNING. */
  static async start(scope: Scope): Promise<Supervisord> {
    const bin = await ensurePackage("supervisor", CANDIDATES);
    const dir = await scope.tempDir("tutti-bench-supervisord-");
    const conf = `${dir}/supervisord.conf`;
    await Deno.writeTextFile(conf, config(dir));
    // Its log goes to the file and, in the foreground, to stdout as well: drained by `start`.
    const s = start(scope, bin, ["-n", "-c", conf], { service: true });
    const sup = new Supervisord(s);
    scope.defer("stop supervisord", () => sup.stop());
    // `sleeper` counts as RUNNING once it has stayed up for startsecs (1 s).
    await s.stdout.waitFor(/success: sleeper entered RUNNING state/, "supervisord", READY_MS);
    return sup;
  }

  get pid(): number {
    return this.s.child.pid;
  }

  /** SIGTERM: supervisord stops its program, then exits. */
  async stop(): Promise<void> {
    try {
      this.s.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.s.child.status;
  }
}

function config(dir: string): string {
  return [
    "[unix_http_server]",
    `file=${dir}/supervisor.sock`,
    "chmod=0700",
    "",
    "[supervisord]",
    "nodaemon=true",
    `logfile=${dir}/supervisord.log`,
    `pidfile=${dir}/supervisord.pid`,
    `childlogdir=${dir}`,
    "loglevel=info",
    // As root (as the benchmark runs), it would otherwise warn that no user was named.
    ...(Deno.uid() === 0 ? ["user=root"] : []),
    "",
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "",
    "[supervisorctl]",
    `serverurl=unix://${dir}/supervisor.sock`,
    "",
    "[program:sleeper]",
    "command=sleep infinity",
    "autostart=true",
    "autorestart=true",
    `stdout_logfile=${dir}/sleeper.out`,
    `stderr_logfile=${dir}/sleeper.err`,
    "",
  ].join("\n");
}
