/**
 * The keeper: one small process per state directory that owns every process
 * `run` starts, so that they outlive the agent. The agent is the part that
 * talks to NATS and can crash, be OOM-killed or be re-executed from a new
 * bundle; the keeper only spawns, spools, reaps and records, and has no
 * network at all.
 *
 * - It listens on `<state-dir>/keeper.sock` for one agent at a time
 *   (`<state-dir>/keeper.lock` is flock(2)ed: one keeper per directory).
 * - While no agent is attached it goes on reading pipes into the spool and
 *   recording exits; an agent that attaches gets the whole table in its
 *   `welcome`, then every growth and exit as it happens.
 * - It exits once no process runs and no agent is attached (after a `quit`
 *   from a stopping agent, or after the agent died and the last process
 *   ended): everything it knew is in `procs/`, which the next keeper loads.
 * - Processes a dead keeper left running are no longer anyone's children:
 *   nobody can learn how they end and their pipes are gone. They are
 *   recorded as lost, with the pid to look for.
 */
import { toWireError, TuttiError } from "../../protocol/errors.ts";
import { startTicks } from "../supervisor/process_group.ts";
import { FrameConn } from "./frames.ts";
import { KeptProcess } from "./kept_process.ts";
import {
  type FromKeeper,
  type InputMsg,
  KEEPER_PROTOCOL,
  type KeptInfo,
  type SpawnMsg,
  type ToKeeper,
} from "./messages.ts";
import { ProcessRecords } from "./records.ts";
import { Zygote } from "./zygote.ts";
import { checkProgram } from "../spawn.ts";
import { atInstant } from "../instant.ts";
import { keeperPaths } from "./paths.ts";

type Agent = FrameConn<ToKeeper, FromKeeper>;

const RECORD_DELAY_MS = 50;

export class Keeper {
  private readonly running = new Map<string, KeptProcess>();
  private readonly exited = new Map<string, KeptInfo>();
  private agent: Agent | null = null;
  private agentPid = 0;
  private readonly records: ProcessRecords;
  private readonly paths: ReturnType<typeof keeperPaths>;
  private listener: Deno.Listener | null = null;
  /** A process ready to become the next `run` (zygote.ts); started once serving. */
  private zygote: Zygote | null = null;
  private readonly done = Promise.withResolvers<void>();

  /** `zygote`: keep a process ready for the next run (not for a keeper embedded in its agent). */
  constructor(
    stateDir: string,
    private readonly log: (message: string) => void,
    private readonly useZygote = true,
  ) {
    this.paths = keeperPaths(stateDir);
    this.records = new ProcessRecords(this.paths.procs);
  }

  /** Loads the records, listens; resolves when the keeper has nothing left to do. */
  async serve(): Promise<void> {
    for (const info of this.records.load()) {
      if (info.ended === null) this.markLost(info);
      this.exited.set(info.id, info);
    }
    // An exit still to be published was left by an agent that did not say goodbye.
    this.clean = [...this.exited.values()].every((i) => i.reported);
    Deno.mkdirSync(this.paths.spool, { recursive: true });
    try {
      Deno.removeSync(this.paths.socket); // a dead keeper's: the lock says none is alive
    } catch {
      // none
    }
    this.listener = Deno.listen({ transport: "unix", path: this.paths.socket });
    if (this.useZygote) this.zygote = new Zygote(this.log);
    this.log(`keeper ${Deno.pid} listening on ${this.paths.socket}`);
    this.accept(this.listener);
    await this.done.promise;
  }

  private async accept(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) this.attach(new FrameConn(conn as Deno.Conn));
    } catch {
      // closed on the way out
    }
  }

  private async attach(conn: Agent): Promise<void> {
    const frames = conn.frames();
    try {
      const first = await frames.next();
      const hello = first.value as ToKeeper | undefined;
      if (first.done || hello?.t !== "hello") return conn.close();
      if (this.agent !== null) {
        conn.send({ t: "busy", agentPid: this.agentPid });
        return await conn.end();
      }
      this.agent = conn;
      this.agentPid = hello.pid;
      this.log(`agent ${hello.pid} attached`);
      const running = [...this.running.values()].map((p) => ({ ...p.info, files: p.fileStates() }));
      const procs = [...this.exited.values(), ...running];
      conn.send({
        t: "welcome",
        v: KEEPER_PROTOCOL,
        keeperPid: Deno.pid,
        procs,
        clean: this.clean,
        scheduling: true,
        tty: true,
        users: true,
      });
      this.clean = false;
      for await (const msg of frames) this.handle(msg);
    } catch (e) {
      this.log(`agent stream: ${(e as Error).message}`);
    } finally {
      if (this.agent === conn) {
        this.agent = null;
        // A start held for its instant was the departed agent's to report: the next one is asked
        // again (a controller re-sends the run to an agent that says hello), or it is too late.
        for (const cancel of this.scheduled.values()) cancel();
        this.scheduled.clear();
        this.log(`agent ${this.agentPid} detached (${this.running.size} process(es) running)`);
        this.maybeExit();
      }
      conn.close();
    }
  }

  private quitting = false;
  /** The last agent said `detach` before leaving (true for the first one). */
  private clean = true;

  private handle(msg: ToKeeper): void {
    switch (msg.t) {
      case "spawn":
        return this.spawn(msg);
      case "forget":
        for (const id of msg.ids) this.forget(id);
        return;
      case "note":
        for (const n of msg.notes) {
          const info = this.running.get(n.id)?.info ?? this.exited.get(n.id);
          if (!info) continue;
          const reportedNow = n.reported && !info.reported;
          info.seq = n.seq;
          info.reported = n.reported;
          info.timedOut = n.timedOut;
          if (n.sent) info.sent = n.sent;
          // An exit the agent has published must not be published again by the next agent.
          if (reportedNow && info.ended !== null) this.recordSoon(info);
        }
        return;
      case "input":
        this.input(msg);
        return;
      case "cancel": {
        const cancel = this.scheduled.get(msg.id);
        if (!cancel) return; // started already: its `spawned` went out
        cancel();
        this.scheduled.delete(msg.id);
        const message =
          `process ${msg.id} was signalled before its start instant: it never started`;
        this.agent?.send({ t: "spawned", id: msg.id, error: { code: "ECANCELED", message } });
        return;
      }
      case "reopen":
        for (const p of this.running.values()) {
          for (const sink of Object.values(p.sinks)) sink.reopen();
        }
        return;
      case "detach":
        this.clean = true;
        return;
      case "quit":
        this.quitting = true;
        return this.maybeExit();
      case "hello":
        return;
    }
  }

  private async input(msg: InputMsg): Promise<void> {
    const p = this.running.get(msg.id);
    try {
      if (!p) throw new TuttiError("ESRCH", `no running process ${msg.id} in the keeper`);
      if (msg.data !== undefined && msg.data.length > 0) await p.write(msg.data);
      if (msg.eof) p.closeInput();
      this.agent?.send({ t: "answer", req: msg.req });
    } catch (e) {
      this.agent?.send({ t: "answer", req: msg.req, error: toWireError(e) });
    }
  }

  /** Spawns held for their instant: their cancellations, by id. */
  private readonly scheduled = new Map<string, () => boolean>();

  private spawn(msg: SpawnMsg): void {
    if (this.running.has(msg.id) || this.exited.has(msg.id) || this.scheduled.has(msg.id)) {
      const error = { code: "EEXIST" as const, message: `process id ${msg.id} is in use` };
      return this.agent?.send({ t: "spawned", id: msg.id, error });
    }
    if (msg.startUs !== undefined) return this.schedule(msg, msg.startUs);
    this.spawnNow(msg);
  }

  /**
   * Everything that can fail before the start is checked now (a missing
   * program is an answer at once, not at the instant); then the keeper
   * waits (agent/instant.ts) and spawns, so that the spawn is all that
   * comes after the instant.
   */
  private schedule(msg: SpawnMsg, startUs: number): void {
    try {
      if (!msg.program) checkProgram(msg.spec);
    } catch (e) {
      return this.agent?.send({ t: "spawned", id: msg.id, error: toWireError(e) });
    }
    this.agent?.send({ t: "scheduled", id: msg.id });
    // An instant a few ms away is waited for at once (atInstant blocks): fn may run before it returns.
    let fired = false;
    const cancel = atInstant(startUs / 1000, () => {
      fired = true;
      this.scheduled.delete(msg.id);
      this.spawnNow(msg);
    });
    if (!fired) this.scheduled.set(msg.id, cancel);
  }

  private spawnNow(msg: SpawnMsg): void {
    let p: KeptProcess;
    try {
      p = new KeptProcess(msg, this.paths.spoolFile, {
        grew: (p, stream) => this.grew(p, stream),
        reaped: (p, exit, ended) => {
          if (p.info.program === undefined) return;
          this.agent?.send({
            t: "reaped",
            id: p.info.id,
            code: exit.code,
            signal: exit.signal,
            ended,
          });
        },
        ended: (p) => this.ended(p),
        trouble: (p, message) => {
          this.log(`process ${p.info.id}: ${message}`);
          this.agent?.send({ t: "trouble", id: p.info.id, message });
        },
        log: this.log,
      }, this.zygote);
    } catch (e) {
      return this.agent?.send({ t: "spawned", id: msg.id, error: toWireError(e) });
    }
    this.running.set(msg.id, p);
    // The answer first: the record is for a keeper that dies, the agent is waiting now.
    this.agent?.send({ t: "spawned", id: msg.id, info: p.info });
    this.recordSoon(p.info);
  }

  /**
   * Only the latest size per stream waits to be sent: an agent that does not
   * read (or has not attached yet) costs the keeper one slot per stream, not
   * a queue.
   */
  private grew(p: KeptProcess, stream: "stdout" | "stderr"): void {
    if (this.agent === null) return;
    const id = p.info.id;
    const sink = p.sinks[stream]!.state();
    this.agent.sendLatest(
      `${id}.${stream}`,
      p.info.program === undefined
        ? {
          t: "grew",
          id,
          stream,
          size: p.info[stream],
          ...(sink.failure && { failure: sink.failure }),
        }
        : { t: "grew", id, stream, size: sink.size, gen: sink.gen, start: sink.start },
    );
  }

  private ended(p: KeptProcess): void {
    this.running.delete(p.info.id);
    this.exited.set(p.info.id, p.info);
    this.agent?.send({ t: "exited", info: p.info });
    this.recordSoon(p.info);
    this.maybeExit();
  }

  private forget(id: string): void {
    if (!this.exited.delete(id)) return;
    this.unwritten.delete(id);
    this.records.remove(id);
    for (const stream of ["stdout", "stderr"] as const) {
      try {
        Deno.removeSync(this.paths.spoolFile(id, stream));
      } catch {
        // never written, or gone
      }
    }
  }

  /**
   * Records are written RECORD_DELAY_MS after a change, all changes of that
   * window at once: never before the messages the agent waits for, and a
   * short run's start, end and reported exit make one write instead of
   * three (~0.1 ms each, on every node of a fan-out). A keeper that dies in
   * that window loses the last changes of its records, along with every
   * pipe of its processes.
   */
  private readonly unwritten = new Map<string, KeptInfo>();
  private recordTimer: ReturnType<typeof setTimeout> | undefined;

  private recordSoon(info: KeptInfo): void {
    this.unwritten.set(info.id, info);
    this.recordTimer ??= setTimeout(() => this.writeRecords(), RECORD_DELAY_MS);
  }

  private writeRecords(): void {
    clearTimeout(this.recordTimer);
    this.recordTimer = undefined;
    for (const info of this.unwritten.values()) this.writeRecord(info);
    this.unwritten.clear();
  }

  private writeRecord(info: KeptInfo): void {
    try {
      this.records.write(info);
    } catch (e) {
      this.log(`process ${info.id}: cannot write its record: ${(e as Error).message}`);
    }
  }

  /** A process a dead keeper left: alive but unreachable, or gone without a status. */
  private markLost(info: KeptInfo): void {
    const alive = info.startTicks !== null && startTicks(info.pid) === info.startTicks;
    info.ended = Date.now();
    info.lost = alive
      ? `its keeper died: it still runs as pid ${info.pid}, but its output is no longer spooled and its exit status cannot be known`
      : "its keeper died before it ended: its exit status is unknown";
    this.writeRecord(info);
  }

  private maybeExit(): void {
    if (this.running.size > 0) return;
    if (this.agent !== null && !this.quitting) return;
    this.writeRecords();
    this.log(`keeper ${Deno.pid} exiting: no process runs`);
    this.zygote?.close();
    try {
      this.listener?.close();
    } catch {
      // closed
    }
    this.agent?.close();
    this.done.resolve();
  }
}
