/**
 * The agent's line to its keeper (agent/keeper/): found on the state
 * directory's socket, or started when there is none. The keeper holds the
 * processes; the agent holds the conversation with NATS.
 */
import { TuttiError } from "../protocol/errors.ts";
import { FrameConn } from "./keeper/frames.ts";
import type {
  ExitedMsg,
  FromKeeper,
  GrewMsg,
  KeptInfo,
  Note,
  ReapedMsg,
  SpawnMsg,
  ToKeeper,
  TroubleMsg,
  WelcomeMsg,
} from "./keeper/messages.ts";
import { keeperPaths } from "./keeper/paths.ts";
import { keeperEnv } from "./keeper/environment.ts";
import { Keeper } from "./keeper/keeper.ts";
import { takeKeeperLock } from "./keeper/lock.ts";
import { selfCommand } from "./self_command.ts";

/** How long event numbers may wait before they are noted with the keeper. */
const NOTE_DELAY_MS = 100;

/** How long a keeper may take to start listening. */
const START_MS = 15_000;

export interface KeeperListener {
  grew(msg: GrewMsg): void;
  exited(msg: ExitedMsg): void;
  reaped(msg: ReapedMsg): void;
  trouble(msg: TroubleMsg): void;
  /** The keeper went away while the agent still needed it. */
  lost(): void;
}

/** A spawn held by the keeper for its instant (`KeeperLink.schedule`). */
export interface ScheduledSpawn {
  scheduled: Promise<void>;
  started: Promise<KeptInfo>;
  cancel(): void;
}

export class KeeperLink {
  private readonly pending = new Map<string, PromiseWithResolvers<KeptInfo>>();
  /** Spawns held for their instant, until the keeper says it is ready (`scheduled`). */
  private readonly scheduling = new Map<string, PromiseWithResolvers<void>>();
  private readonly answers = new Map<number, PromiseWithResolvers<void>>();
  private nextReq = 1;
  private readonly notes = new Map<string, Note>();
  private noteTimer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;

  private constructor(
    private readonly conn: FrameConn<FromKeeper, ToKeeper>,
    private readonly frames: AsyncGenerator<FromKeeper>,
    readonly welcome: WelcomeMsg,
  ) {}

  /**
   * Attaches to the keeper of `stateDir`, starting one if none runs: a
   * process of its own, or with `embedded`, one inside this process (the
   * same conversation over the same socket; its processes die with it).
   */
  static async open(
    stateDir: string,
    log: (m: string) => void,
    embedded = false,
  ): Promise<KeeperLink> {
    const paths = keeperPaths(stateDir);
    let conn = await connect(paths.socket);
    if (conn === null && embedded) {
      startEmbedded(stateDir, log);
      conn = await connect(paths.socket);
    }
    if (conn === null) {
      log(`starting a keeper for ${stateDir}`);
      conn = await startKeeper(stateDir);
    }
    const fc = new FrameConn<FromKeeper, ToKeeper>(conn);
    const frames = fc.frames();
    fc.send({ t: "hello", v: 1, pid: Deno.pid });
    const first = await frames.next();
    const msg = first.value as FromKeeper | undefined;
    if (first.done || msg === undefined) {
      fc.close();
      throw new Error(`the keeper on ${paths.socket} closed the connection`);
    }
    if (msg.t === "busy") {
      fc.close();
      throw new TuttiError(
        "EEXIST",
        `another agent (pid ${msg.agentPid}) runs on the state directory ${stateDir}`,
      );
    }
    if (msg.t !== "welcome") {
      fc.close();
      throw new Error(`the keeper on ${paths.socket} answered ${msg.t}, expected welcome`);
    }
    return new KeeperLink(fc, frames, msg);
  }

  /** Delivers the keeper's messages to `to` until the link ends. */
  async listen(to: KeeperListener): Promise<void> {
    try {
      for await (const msg of this.frames) {
        switch (msg.t) {
          case "scheduled":
            this.scheduling.get(msg.id)?.resolve();
            this.scheduling.delete(msg.id);
            break;
          case "spawned": {
            const p = this.pending.get(msg.id);
            const s = this.scheduling.get(msg.id);
            this.pending.delete(msg.id);
            this.scheduling.delete(msg.id);
            if (msg.info) {
              s?.resolve();
              p?.resolve(msg.info);
            } else {
              const e = new TuttiError(msg.error!.code, msg.error!.message);
              s?.reject(e);
              p?.reject(e);
            }
            break;
          }
          case "grew":
            to.grew(msg);
            break;
          case "exited":
            to.exited(msg);
            break;
          case "reaped":
            to.reaped(msg);
            break;
          case "trouble":
            to.trouble(msg);
            break;
          case "answer": {
            const a = this.answers.get(msg.req);
            this.answers.delete(msg.req);
            if (msg.error) a?.reject(new TuttiError(msg.error.code, msg.error.message));
            else a?.resolve();
            break;
          }
        }
      }
    } catch {
      // a broken stream ends the link like a closed one
    }
    const lost = new TuttiError("EIO", "the keeper went away before answering");
    for (const p of this.pending.values()) p.reject(lost);
    for (const a of this.answers.values()) a.reject(lost);
    for (const s of this.scheduling.values()) s.reject(lost);
    this.pending.clear();
    this.scheduling.clear();
    this.answers.clear();
    if (!this.closing) to.lost();
  }

  spawn(msg: Omit<SpawnMsg, "t">): Promise<KeptInfo> {
    const answer = Promise.withResolvers<KeptInfo>();
    this.pending.set(msg.id, answer);
    this.conn.send({ t: "spawn", ...msg });
    return answer.promise;
  }

  /**
   * A spawn at an instant (`startUs`, µs on this machine's clock), when the
   * keeper can hold one (`welcome.scheduling`): `scheduled` resolves once it
   * is ready (or rejects with the error a spawn would give), `started` at
   * the instant. `cancel` asks the keeper to drop it: `started` then
   * rejects with ECANCELED, unless the process had started.
   */
  schedule(msg: Omit<SpawnMsg, "t"> & { startUs: number }): ScheduledSpawn {
    const scheduled = Promise.withResolvers<void>();
    this.scheduling.set(msg.id, scheduled);
    const started = this.spawn(msg);
    return {
      scheduled: scheduled.promise,
      started,
      cancel: () => this.conn.send({ t: "cancel", id: msg.id }),
    };
  }

  /** Bytes for a supervised process's stdin, and/or its end; resolves once written. */
  input(id: string, data?: Uint8Array, eof?: boolean): Promise<void> {
    const req = this.nextReq++;
    const answer = Promise.withResolvers<void>();
    this.answers.set(req, answer);
    this.conn.send({ t: "input", req, id, ...(data && { data }), ...(eof && { eof }) });
    return answer.promise;
  }

  /** Every program output file is closed and opened again (after logrotate). */
  reopen(): void {
    this.conn.send({ t: "reopen" });
  }

  forget(ids: string[]): void {
    if (ids.length > 0) this.conn.send({ t: "forget", ids });
  }

  /**
   * The agent's notes on a process. An exit that went out (`reported`) or a
   * timeout that fired is sent at once, so that a killed agent's successor
   * does not repeat it; event numbers alone wait up to NOTE_DELAY_MS, a
   * frame per process per window rather than per event (after a killed
   * agent, numbering resumes with a margin anyway, see managed_process.ts).
   */
  note(n: Note): void {
    this.notes.set(n.id, n);
    if (n.reported || n.timedOut) this.sendNotes();
    else this.noteTimer ??= setTimeout(() => this.sendNotes(), NOTE_DELAY_MS);
  }

  private sendNotes(): void {
    clearTimeout(this.noteTimer);
    this.noteTimer = undefined;
    if (this.notes.size === 0) return;
    this.conn.send({ t: "note", notes: [...this.notes.values()] });
    this.notes.clear();
  }

  /** Detaches; with `quit`, the keeper leaves once no process runs (a clean stop). */
  async close(quit: boolean): Promise<void> {
    this.closing = true;
    this.sendNotes();
    this.conn.send(quit ? { t: "quit" } : { t: "detach" });
    await this.conn.end();
  }
}

/** A keeper in this very process: listening once `serve` has run to its first await. */
function startEmbedded(stateDir: string, log: (m: string) => void): void {
  const lock = takeKeeperLock(stateDir);
  if (lock === null) {
    throw new TuttiError("EEXIST", `another keeper holds ${keeperPaths(stateDir).lock}`);
  }
  // No zygote: embedded is the lean mode (thousands of agents share a process in the bench).
  new Keeper(stateDir, (m) => log(`keeper: ${m}`), false).serve()
    .catch((e) => log(`keeper: ${(e as Error).message}`))
    .finally(() => {
      lock.unlockSync();
      lock.close();
    });
}

async function connect(path: string): Promise<Deno.Conn | null> {
  try {
    return await Deno.connect({ transport: "unix", path });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused) {
      return null;
    }
    throw e;
  }
}

/**
 * Starts `agent keeper --state-dir DIR` in a session of its own (so that
 * neither the agent's death nor its terminal reaches it) and waits for its
 * socket. A keeper that cannot start says why in `keeper.log.fatal`.
 */
async function startKeeper(stateDir: string): Promise<Deno.Conn> {
  const paths = keeperPaths(stateDir);
  const fatal = `${paths.log}.fatal`;
  try {
    Deno.removeSync(fatal);
  } catch {
    // none
  }
  const [program, ...args] = selfCommand(["keeper", "--state-dir", stateDir]);
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
    env: keeperEnv(),
  }).spawn();
  let exited: Deno.CommandStatus | null = null;
  child.status.then((s) => exited = s);
  const deadline = Date.now() + START_MS;
  for (let wait = 2; Date.now() < deadline; wait = Math.min(wait * 2, 50)) {
    const conn = await connect(paths.socket);
    if (conn !== null) return conn;
    if (exited !== null) {
      let why = `exit status ${(exited as Deno.CommandStatus).code}`;
      try {
        why = Deno.readTextFileSync(fatal).trim();
      } catch {
        // it said nothing
      }
      // Another agent's keeper may have won the lock meanwhile: its socket is the one to use.
      const other = await connect(paths.socket);
      if (other !== null) return other;
      throw new Error(`the keeper could not start: ${why}`);
    }
    await new Promise((r) => setTimeout(r, wait));
  }
  throw new Error(`the keeper did not open ${paths.socket} within ${START_MS / 1000}s`);
}
