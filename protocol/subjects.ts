/**
 * The only place that spells a subject. Everything else calls these.
 *
 * Host names and process ids become single subject tokens, so both are
 * restricted to `[A-Za-z0-9_-]` (checked by `checkToken`).
 */
import { TuttiError } from "./errors.ts";

export const DEFAULT_PREFIX = "tutti";

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** Throws EINVAL naming `what` when `s` cannot be one subject token. */
export function checkToken(what: string, s: string): string {
  if (!isToken(s)) {
    throw new TuttiError(
      "EINVAL",
      `${what} ${JSON.stringify(s)} is not a valid name: use 1-128 characters from A-Z a-z 0-9 _ -`,
    );
  }
  return s;
}

/** A prefix may have several tokens (`lab.exp1`), each a valid token. */
export function checkPrefix(prefix: string): string {
  if (!prefix.split(".").every(isToken)) {
    throw new TuttiError(
      "EINVAL",
      `prefix ${JSON.stringify(prefix)} is not valid: dot-separated tokens of A-Z a-z 0-9 _ -`,
    );
  }
  return prefix;
}

export const VERBS = [
  "ping",
  "run",
  "signal",
  "ps",
  "logs",
  "watch",
  "unwatch",
  "programs",
  "tail",
  "follow",
  "input",
  "shutdown",
  "upgrade",
  "put",
  "get",
  "read",
  "clock",
  "queue",
] as const;
export type Verb = typeof VERBS[number];

export const PROC_EVENTS = ["started", "stdout", "stderr", "exit", "dropped", "input"] as const;
export type ProcEvent = typeof PROC_EVENTS[number];

/**
 * A supervised process name as two subject tokens, program then number:
 * `web:0` is `web.0`, and a program with one process (`nginx`, no number)
 * is `nginx._`. Program names are tokens and numbers are digits, so the
 * mapping is reversible, and every process has the same number of tokens:
 * `web.*` is every process of web, `*.*` every process. `*` and `web:*`
 * map to those wildcards.
 */
export function processTokens(process: string): string {
  if (process === "*") return "*.*";
  const colon = process.indexOf(":");
  return colon < 0 ? `${process}._` : `${process.slice(0, colon)}.${process.slice(colon + 1)}`;
}

/** The process name of `processTokens`'s two tokens, or null when they are not such a pair. */
export function processFromTokens(program: string, n: string): string | null {
  if (!isToken(program)) return null;
  if (n === "_") return program;
  return /^\d{1,6}$/.test(n) ? `${program}:${n}` : null;
}

/** Subjects of one prefix. `host` and `proc` may be `*` for subscriptions. */
export class Subjects {
  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    checkPrefix(prefix);
  }
  /** Every subject of this prefix (`P.>`). */
  any(): string {
    return `${this.prefix}.>`;
  }
  /** Request to one agent. */
  host(host: string, verb: string): string {
    return `${this.prefix}.host.${host}.${verb}`;
  }
  /** What an agent subscribes to for its own requests. */
  hostAll(host: string): string {
    return `${this.prefix}.host.${host}.*`;
  }
  /** Broadcast request; agents outside the message's target stay silent. */
  all(verb: string): string {
    return `${this.prefix}.all.${verb}`;
  }
  allAll(): string {
    return `${this.prefix}.all.*`;
  }
  proc(host: string, proc: string, event: ProcEvent | "*" | ">"): string {
    return `${this.prefix}.proc.${host}.${proc}.${event}`;
  }
  /**
   * A run's input, published once for every host running `proc` with
   * `stdin` (protocol/input_messages.ts); `proc` may be `*`.
   */
  stdin(proc: string): string {
    return `${this.prefix}.stdin.${proc}`;
  }
  presence(host: string): string {
    return `${this.prefix}.presence.${host}`;
  }
  log(host: string): string {
    return `${this.prefix}.log.${host}`;
  }
  watch(host: string, watch: string): string {
    return `${this.prefix}.watch.${host}.${watch}`;
  }
  tel(host: string): string {
    return `${this.prefix}.tel.${host}`;
  }
  telProcs(host: string): string {
    return `${this.prefix}.tel.${host}.procs`;
  }
  /**
   * Live output of a supervised process: `P.prog.<host>.<program>.<n>.<stream>`
   * (see `processTokens`). `process` may be `*` (every process) or `web:*`.
   */
  prog(host: string, process: string, stream: "stdout" | "stderr" | "*"): string {
    return `${this.prefix}.prog.${host}.${processTokens(process)}.${stream}`;
  }
  /** `{host, process, stream}` of a `prog` subject, or null for anything else. */
  parseProg(subject: string): { host: string; process: string; stream: string } | null {
    const head = `${this.prefix}.prog.`;
    if (!subject.startsWith(head)) return null;
    const parts = subject.slice(head.length).split(".");
    if (parts.length !== 4) return null;
    const process = processFromTokens(parts[1], parts[2]);
    return process === null ? null : { host: parts[0], process, stream: parts[3] };
  }
  /**
   * The reply subject a requester puts on a request: `P.reply.<id>.<kind>`,
   * `id` its own (unguessable) token, `kind` one token it chooses (the
   * verb). Agents answer on `reply(id, kind, <their name>)`, and the
   * server's "no responders" status comes here.
   */
  replyTo(id: string, kind: string): string {
    return `${this.prefix}.reply.${id}.${kind}`;
  }
  /** Where `host` answers a request sent with `replyTo(id, kind)`: its own name last. */
  reply(id: string, kind: string, host: string): string {
    return `${this.prefix}.reply.${id}.${kind}.${host}`;
  }
  /** Where `host` reports progress on a request it answers on `answer`: kind `progress`. */
  progressOf(answer: string): string {
    const host = answer.lastIndexOf(".");
    const kind = answer.lastIndexOf(".", host - 1);
    return `${answer.slice(0, kind)}.progress${answer.slice(host)}`;
  }
  /** Every answer to the requests of `id`, and their "no responders" statuses. */
  replies(id: string): string {
    return `${this.prefix}.reply.${id}.>`;
  }
  /**
   * The subject on which agent `host` answers a request whose reply subject
   * is `replyTo`, or null when that is not `P.reply.<id>.<kind>` of this
   * prefix (id and kind tokens as host names are): an agent answers nowhere
   * else, so the last token of every answer is its own name, which the
   * server's permissions let only its key publish.
   */
  answerOn(replyTo: string, host: string): string | null {
    const head = `${this.prefix}.reply.`;
    if (!replyTo.startsWith(head)) return null;
    const dot = replyTo.indexOf(".", head.length);
    if (dot < 0 || !isToken(replyTo.slice(head.length, dot)) || !isToken(replyTo.slice(dot + 1))) {
      return null;
    }
    return `${replyTo}.${host}`;
  }
  /**
   * `{kind, host}` of a message on `replies(id)`: `host` is null on the
   * request's reply subject itself (where only the server's status comes);
   * null for any other subject.
   */
  parseReply(subject: string, id: string): { kind: string; host: string | null } | null {
    const head = `${this.prefix}.reply.${id}.`;
    if (!subject.startsWith(head)) return null;
    const dot = subject.indexOf(".", head.length);
    if (dot < 0) return { kind: subject.slice(head.length), host: null };
    const host = subject.slice(dot + 1);
    return isToken(host) ? { kind: subject.slice(head.length, dot), host } : null;
  }
  /** The verb is the last token of a request subject. */
  verbOf(subject: string): string {
    return subject.slice(subject.lastIndexOf(".") + 1);
  }
  /** The host of a `presence` subject, or null for anything else. */
  parsePresence(subject: string): string | null {
    const head = `${this.prefix}.presence.`;
    if (!subject.startsWith(head)) return null;
    const host = subject.slice(head.length);
    return isToken(host) ? host : null;
  }
  /**
   * The JetStream stream of transfer chunks: the prefix with `_` for `.`,
   * then `_xfer` (stream names have no dots).
   */
  xferStream(): string {
    return `${this.prefix.replaceAll(".", "_")}_xfer`;
  }
  /** Chunks live on `P.xfer.<sha256>.<k>`: this is `P.xfer`. */
  xferChunks(): string {
    return `${this.prefix}.xfer`;
  }
  /** Every subject of the transfer stream. */
  xferAll(): string {
    return `${this.prefix}.xfer.>`;
  }
  /** Chunk `k` of the content whose digest is `sha256`. */
  xferChunk(sha256: string, k: number): string {
    return `${this.prefix}.xfer.${sha256}.${k}`;
  }
  /** The manifest written after the last chunk of `sha256`: its presence means complete. */
  xferDone(sha256: string): string {
    return `${this.prefix}.xfer.${sha256}.done`;
  }
  /** The work-queue stream of queue `name`: `<prefix>_queue_<name>` (dots as `_`). */
  queueStream(name: string): string {
    return `${this.prefix.replaceAll(".", "_")}_queue_${name}`;
  }
  /** The KV bucket of queue `name`'s task states (its stream is `KV_<bucket>`). */
  queueBucket(name: string): string {
    return `${this.prefix.replaceAll(".", "_")}_queue_${name}`;
  }
  /** The subject of queue `name`'s pending tasks. */
  queueTasks(name: string): string {
    return `${this.prefix}.queue.${name}.task`;
  }
  /**
   * Where agent `host` gets what it asked of JetStream (direct gets of
   * chunks): `P.in.<host>.<token>...`, readable by it alone.
   */
  inbox(host: string): string {
    return `${this.prefix}.in.${host}`;
  }
  /** `{host, proc, event}` of a `proc` subject, or null for anything else. */
  parseProc(subject: string): { host: string; proc: string; event: string } | null {
    const head = `${this.prefix}.proc.`;
    if (!subject.startsWith(head)) return null;
    const parts = subject.slice(head.length).split(".");
    if (parts.length !== 3) return null;
    return { host: parts[0], proc: parts[1], event: parts[2] };
  }
}
