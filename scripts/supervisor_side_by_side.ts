/**
 * Runs one scenario under Debian's `supervisor` package (supervisord) and
 * under tutti's supervisor, and prints the state sequence of every program
 * in both, so the README can show where tutti differs and why.
 *
 *   deno run -A scripts/supervisor_side_by_side.ts     (needs `apt-get install supervisor`)
 *
 * The same programs are written as a supervisord .ini and as tutti YAML.
 * supervisord's states are recorded by an event listener (PROCESS_STATE
 * events); tutti's by its event stream. The script then does the same
 * things to both: kill one process with SIGKILL, stop two, watch a crash
 * loop, shut down.
 */
import { Supervisor } from "../agent/supervisor/supervisor.ts";

interface Program {
  name: string;
  what: string;
  cmd: string;
  /** Keys common to both (supervisord spelling → tutti spelling below). */
  startsecs?: number;
  startretries?: number;
  stopwaitsecs?: number;
  autorestart?: "true" | "false" | "unexpected";
  exitcodes?: string;
}

const TAG = String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
/** The tree's grandchild is found again by its unique sleep duration. */
const GRANDCHILD = `1000.${TAG}`;

const PROGRAMS: Program[] = [
  { name: "steady", what: "runs; killed with SIGKILL by hand, then stopped", cmd: "sleep 1000" },
  { name: "broken", what: "exits at once", cmd: 'sh -c "exit 3"', startretries: 2 },
  { name: "ghost", what: "command does not exist", cmd: "/nonexistent/ghost", startretries: 1 },
  {
    name: "oneshot",
    what: "exits 0 after startsecs",
    cmd: 'sh -c "sleep 1.5; exit 0"',
  },
  {
    name: "flaky",
    what: "crashes 1 s after startsecs, again and again",
    cmd: 'sh -c "sleep 2; exit 1"',
    startretries: 2,
  },
  {
    name: "stubborn",
    what: "ignores SIGTERM; stopped",
    cmd: `sh -c 'trap "" TERM; exec sleep 1000'`,
    stopwaitsecs: 2,
  },
  {
    name: "tree",
    what: "has a child that ignores SIGTERM; stopped",
    cmd: `sh -c '(trap "" TERM; exec sleep ${GRANDCHILD}) & exec sleep 1000'`,
    stopwaitsecs: 2,
  },
];

interface Change {
  process: string;
  to: string;
}

interface System {
  label: string;
  start(): Promise<void>;
  changes(): Change[];
  pid(name: string): Promise<number>;
  stop(name: string): Promise<void>;
  shutdown(): Promise<void>;
}

// ---- supervisord

const LISTENER = `import sys, time
out = open(sys.argv[1], "a", buffering=1)
while True:
    sys.stdout.write("READY\\n"); sys.stdout.flush()
    header = dict(x.split(":", 1) for x in sys.stdin.readline().split())
    payload = sys.stdin.read(int(header["len"]))
    body = dict(x.split(":", 1) for x in payload.split("\\n", 1)[0].split())
    state = header["eventname"].replace("PROCESS_STATE_", "")
    out.write("%s %s\\n" % (body["processname"], state))
    sys.stdout.write("RESULT 2\\nOK"); sys.stdout.flush()
`;

function supervisord(dir: string): System {
  const conf = `${dir}/supervisord.conf`;
  const events = `${dir}/events.txt`;
  Deno.writeTextFileSync(`${dir}/listener.py`, LISTENER);
  const sections = PROGRAMS.map((p) =>
    [
      `[program:${p.name}]`,
      `command=${p.cmd}`,
      `startsecs=${p.startsecs ?? 1}`,
      `startretries=${p.startretries ?? 3}`,
      `stopwaitsecs=${p.stopwaitsecs ?? 10}`,
      `autorestart=${p.autorestart ?? "unexpected"}`,
      `exitcodes=${p.exitcodes ?? "0"}`,
      `stdout_logfile=${dir}/${p.name}.out`,
      `stderr_logfile=${dir}/${p.name}.err`,
    ].join("\n")
  );
  Deno.writeTextFileSync(
    conf,
    [
      `[supervisord]\nnodaemon=true\nlogfile=${dir}/supervisord.log\npidfile=${dir}/supervisord.pid\nchildlogdir=${dir}`,
      `[unix_http_server]\nfile=${dir}/supervisor.sock`,
      `[supervisorctl]\nserverurl=unix://${dir}/supervisor.sock`,
      `[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface`,
      `[eventlistener:recorder]\ncommand=python3 ${dir}/listener.py ${events}\nevents=PROCESS_STATE\nbuffer_size=1000`,
      ...sections,
    ].join("\n\n") + "\n",
  );
  let daemon: Deno.ChildProcess | null = null;
  const ctl = async (...args: string[]) => {
    const out = await new Deno.Command("supervisorctl", { args: ["-c", conf, ...args] }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  return {
    label: "supervisord",
    start() {
      daemon = new Deno.Command("supervisord", {
        args: ["-c", conf],
        stdout: "null",
        stderr: "null",
      }).spawn();
      return Promise.resolve();
    },
    changes() {
      let text = "";
      try {
        text = Deno.readTextFileSync(events);
      } catch {
        return [];
      }
      return text.split("\n").filter((l) => l !== "").map((l) => {
        const [process, to] = l.split(" ");
        return { process, to };
      }).filter((c) => c.process !== "recorder");
    },
    async pid(name) {
      return Number(await ctl("pid", name));
    },
    async stop(name) {
      await ctl("stop", name);
    },
    async shutdown() {
      await ctl("shutdown");
      await daemon?.status;
    },
  };
}

// ---- tutti

function tutti(dir: string): System {
  const yaml = ["programs:"];
  for (const p of PROGRAMS) {
    yaml.push(
      `  ${p.name}:`,
      `    cmd: ${JSON.stringify(p.cmd)}`,
      `    starttime: ${p.startsecs ?? 1}`,
      `    startretries: ${p.startretries ?? 3}`,
      `    stoptime: ${p.stopwaitsecs ?? 10}`,
      `    autorestart: ${
        { true: "always", false: "never", unexpected: "unexpected" }[p.autorestart ?? "unexpected"]
      }`,
      `    exitcodes: [${p.exitcodes ?? "0"}]`,
      `    stdout: ${dir}/${p.name}.out`,
      `    stderr: ${dir}/${p.name}.err`,
    );
  }
  const config = `${dir}/programs.yaml`;
  Deno.writeTextFileSync(config, yaml.join("\n") + "\n");
  const changes: Change[] = [];
  let sup: Supervisor | null = null;
  return {
    label: "tutti",
    async start() {
      sup = await Supervisor.open({
        stateDir: `${dir}/state`,
        onEvent: (e) => {
          if (e.type === "state") changes.push({ process: e.process, to: e.to });
        },
      });
      await sup.load({ path: config });
    },
    changes: () => changes,
    pid(name) {
      return Promise.resolve(sup!.status([name])[0].pid ?? 0);
    },
    async stop(name) {
      await sup!.stop([name]);
    },
    async shutdown() {
      await sup!.shutdown();
    },
  };
}

// ---- the scenario, the same for both

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Outcome {
  sequences: Record<string, string[]>;
  grandchildLeft: boolean;
}

async function scenario(sys: System): Promise<Outcome> {
  const seq = (name: string) => sys.changes().filter((c) => c.process === name).map((c) => c.to);
  const count = (name: string, state: string) => seq(name).filter((s) => s === state).length;
  const last = (name: string) => seq(name).at(-1);
  await sys.start();
  try {
    await until(
      "everything settled",
      () =>
        last("steady") === "RUNNING" && last("broken") === "FATAL" && last("ghost") === "FATAL" &&
        last("oneshot") === "EXITED" && last("stubborn") === "RUNNING" &&
        last("tree") === "RUNNING",
    );
    Deno.kill(await sys.pid("steady"), "SIGKILL");
    await until("steady running again", () => count("steady", "RUNNING") === 2);
    await sys.stop("steady");
    await sys.stop("stubborn");
    await sys.stop("tree");
    const grandchildLeft = sleeping(GRANDCHILD).length > 0;
    // supervisord restarts it forever: watch five crashes at most.
    await until(
      "flaky given up or crashed 5 times",
      () => last("flaky") === "FATAL" || count("flaky", "EXITED") >= 5,
      60_000,
    );
    const sequences = Object.fromEntries(PROGRAMS.map((p) => [p.name, seq(p.name)]));
    return { sequences, grandchildLeft };
  } finally {
    await sys.shutdown().catch((e) => console.error(`${sys.label} shutdown: ${e}`));
    for (const pid of sleeping(GRANDCHILD)) Deno.kill(pid, "SIGKILL");
  }
}

function sleeping(duration: string): number[] {
  const marker = `sleep\0${duration}\0`;
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") continue;
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker)) out.push(+e.name);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function version(): Promise<string> {
  try {
    const out = await new Deno.Command("supervisord", { args: ["--version"] }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    console.error(
      "supervisord not found: install Debian's supervisor package (apt-get install supervisor)",
    );
    Deno.exit(2);
  }
}

if (import.meta.main) {
  const v = await version();
  const root = await Deno.makeTempDir({ prefix: "tutti-side-by-side-" });
  try {
    Deno.mkdirSync(`${root}/supervisord`);
    Deno.mkdirSync(`${root}/tutti`);
    console.error("running the scenario under supervisord...");
    const theirs = await scenario(supervisord(`${root}/supervisord`));
    console.error("running the scenario under tutti...");
    const ours = await scenario(tutti(`${root}/tutti`));
    console.log(`| program | scenario | supervisord ${v} | tutti |`);
    console.log("| --- | --- | --- | --- |");
    for (const p of PROGRAMS) {
      const a = theirs.sequences[p.name].join(" ");
      const b = ours.sequences[p.name].join(" ");
      console.log(`| ${p.name} | ${p.what} | ${a} | ${a === b ? "same" : b} |`);
    }
    const left = (o: Outcome) => o.grandchildLeft ? "left running" : "stopped";
    console.log(
      `| tree's grandchild | ignores SIGTERM | ${left(theirs)} | ${left(ours)} |`,
    );
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
