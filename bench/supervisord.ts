/**
 * The supervisor peer: Debian's `supervisord` (package `supervisor`,
 * installed with apt-get when missing), in the foreground (`-n`) with its
 * own configuration, unix socket, pid file and logs in a temporary
 * directory. By default it supervises one trivial program (`sleep
 * infinity`), as a node would run it beside an experiment; the soak section
 * gives it the same programs as the agent it is set beside. Stopped by its PID.
 */
import { ensurePackage } from "./apt.ts";
import { start, type Started } from "./child.ts";
import type { Scope } from "./scope.ts";

const CANDIDATES = ["/usr/bin/supervisord", "/usr/local/bin/supervisord"];
const READY_MS = 60_000;

/** One `[program:NAME]` section, as much of it as the benchmark needs. */
export interface SupervisordProgram {
  name: string;
  command: string;
  /** More than 1: processes `NAME_0` … `NAME_<N-1>`. */
  numprocs?: number;
  /** Seconds up before it counts as started (supervisord's `startsecs`, whole seconds). */
  startsecs?: number;
  /** Seconds after the stop signal before SIGKILL. */
  stopwaitsecs?: number;
  startretries?: number;
  /** Stop signal and SIGKILL to the process group (as tutti does), not to the process alone. */
  asGroup?: boolean;
  environment?: Record<string, string>;
}

const SLEEPER: SupervisordProgram = { name: "sleeper", command: "sleep infinity" };

export class Supervisord {
  private constructor(private readonly s: Started) {}

  /**
   * Installs it if needed, starts it, and resolves once every process of the
   * programs named in `ready` (default: all) has entered RUNNING.
   */
  static async start(
    scope: Scope,
    programs: SupervisordProgram[] = [SLEEPER],
    ready: string[] = programs.map((p) => p.name),
  ): Promise<Supervisord> {
    const bin = await ensurePackage("supervisor", CANDIDATES);
    const dir = await scope.tempDir("tutti-bench-supervisord-");
    const conf = `${dir}/supervisord.conf`;
    await Deno.writeTextFile(conf, config(dir, programs));
    // Its log goes to the file and, in the foreground, to stdout as well: drained by `start`.
    const s = start(scope, bin, ["-n", "-c", conf], { service: true });
    const sup = new Supervisord(s);
    scope.defer("stop supervisord", () => sup.stop());
    const waiting = new Set(
      programs.filter((p) => ready.includes(p.name)).flatMap(processNames),
    );
    const all = Promise.withResolvers<void>();
    // A process counts as RUNNING once it has stayed up for startsecs.
    const stop = sup.onLine((line) => {
      const m = /success: (\S+) entered RUNNING state/.exec(line);
      if (m && waiting.delete(m[1]) && waiting.size === 0) all.resolve();
    });
    const timer = setTimeout(() => {
      all.reject(
        new Error(
          `supervisord: ${waiting.size} process(es) not RUNNING within ` +
            `${READY_MS} ms:\n${s.stdout}`,
        ),
      );
    }, READY_MS);
    s.child.status.then(() => all.reject(new Error(`supervisord exited:\n${s.stdout}`)));
    try {
      await all.promise;
    } finally {
      clearTimeout(timer);
      stop();
    }
    return sup;
  }

  get pid(): number {
    return this.s.child.pid;
  }

  /** Every line of its log from now on (the log goes to stdout too, in the foreground). */
  onLine(fn: (line: string) => void): () => void {
    return this.s.stdout.onLine(fn);
  }

  /** SIGTERM: supervisord stops its programs, then exits. */
  async stop(): Promise<void> {
    try {
      this.s.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.s.child.status;
  }
}

/** The names supervisord gives a program's processes. */
function processNames(p: SupervisordProgram): string[] {
  const n = p.numprocs ?? 1;
  return n === 1 ? [p.name] : Array.from({ length: n }, (_, i) => `${p.name}_${i}`);
}

function config(dir: string, programs: SupervisordProgram[]): string {
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
    ...programs.flatMap((p) => programSection(dir, p)),
  ].join("\n");
}

function programSection(dir: string, p: SupervisordProgram): string[] {
  const many = (p.numprocs ?? 1) > 1;
  const proc = many ? "%(program_name)s_%(process_num)d" : "%(program_name)s";
  const env = Object.entries(p.environment ?? {}).map(([k, v]) => `${k}="${v}"`).join(",");
  return [
    `[program:${p.name}]`,
    `command=${p.command}`,
    ...(many ? [`numprocs=${p.numprocs}`, `process_name=${proc}`] : []),
    "autostart=true",
    "autorestart=true",
    ...(p.startsecs === undefined ? [] : [`startsecs=${p.startsecs}`]),
    ...(p.stopwaitsecs === undefined ? [] : [`stopwaitsecs=${p.stopwaitsecs}`]),
    ...(p.startretries === undefined ? [] : [`startretries=${p.startretries}`]),
    ...(p.asGroup ? ["stopasgroup=true", "killasgroup=true"] : []),
    ...(env ? [`environment=${env}`] : []),
    `stdout_logfile=${dir}/${proc}.out`,
    `stderr_logfile=${dir}/${proc}.err`,
    "",
  ];
}
