/**
 * Who may publish and subscribe to what: the subject permissions of the three
 * roles of a tutti deployment, for a NATS server's `authorization` block
 * (`controller nats-config` writes one). Only a controller can make an agent
 * run anything:
 *
 * - an **agent** receives its own requests, broadcasts and the input of runs
 *   (`P.stdin.*`), and publishes only its own events and replies, every one
 *   on a subject that carries its name (a node cannot speak for another, not
 *   even inside a broadcast's replies);
 * - a **controller** sends requests and input to any agent and reads
 *   everything, and creates and manages work queues on JetStream;
 * - a **viewer** reads every event and may send the read-only verbs
 *   (`controller hosts`, `ps`, `logs`, `top`, `programs tail`), nothing that
 *   starts, signals or stops anything.
 */
import type { Subjects, Verb } from "./subjects.ts";

export interface Permissions {
  /** Subjects the client may publish to (wildcards allowed). */
  publish: string[];
  /** Subjects the client may subscribe to. */
  subscribe: string[];
}

export type Role = "agent" | "controller" | "viewer";

/**
 * Verbs that only read: they start, signal and stop nothing (`follow` makes an
 * agent publish a supervised process's output for a while; `watch` is not
 * here, as a `command` condition runs a program).
 */
export const READ_ONLY_VERBS = [
  "ping",
  "ps",
  "logs",
  "tail",
  "follow",
] as const satisfies readonly Verb[];

/** The events agents publish, for any host when `host` is `*`. */
function events(s: Subjects, host: string): string[] {
  return [
    s.proc(host, "*", "*"),
    s.presence(host),
    s.log(host),
    s.prog(host, "*", "*"),
    s.watch(host, "*"),
    s.tel(host),
    s.telProcs(host),
  ];
}

/**
 * Agent `host`: its requests, broadcasts and run input in, its events and
 * replies out. Input is not addressed to hosts (one message for all of a
 * run's hosts, protocol/input_messages.ts), so every agent may read any
 * run's input, as it reads every broadcast `run` request; it only
 * subscribes to the input of the runs it has.
 * Replies go to `P.reply.<id>.<kind>.<host>` (Subjects.answerOn), not to the
 * requester's `_INBOX`: the requester learns the replying host from a token
 * only that host's key may publish. The server's `allow_responses` would
 * not do: it lets an agent answer any request it received, a broadcast
 * included, under any name, keeps state per request in the server, and an
 * acknowledged `programs` action answers twice, up to its timeout (a day)
 * apart.
 */
export function agentPermissions(s: Subjects, host: string): Permissions {
  return {
    publish: [...events(s, host), s.reply("*", "*", host), directGet(s), ...queueAgent()],
    subscribe: [s.hostAll(host), s.allAll(), s.stdin("*"), `${s.inbox(host)}.>`],
  };
}

/**
 * JetStream's direct get on the transfer stream: agents read `put` chunks
 * with it, and may do nothing else with JetStream (answers come to their
 * own `P.in.<host>.>`).
 */
function directGet(s: Subjects): string {
  return `$JS.API.DIRECT.GET.${s.xferStream()}`;
}

/**
 * What an agent needs of JetStream to take work-queue tasks (PROTOCOL.md,
 * "Work queue"): find the queues' streams, pull from their consumer
 * `agents` and acknowledge, read and update task states (KV `$KV.<bucket>.>`)
 * and follow a queue's `config` (an ordered consumer of the bucket's
 * stream, with its flow control). A stream name is one token and the
 * queues are named after the configuration is written, so these hold for
 * any stream of the account: an agent may write any KV bucket's keys.
 */
function queueAgent(): string[] {
  return [
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.CONSUMER.MSG.NEXT.*.agents",
    "$JS.ACK.*.agents.>",
    ...kvClient(),
  ];
}

/**
 * Reading, writing and watching KV buckets (the queues' task states). A
 * wildcard is a whole token: `KV_*` would match no bucket's stream, so these
 * name any stream.
 */
function kvClient(): string[] {
  return [
    "$JS.API.DIRECT.GET.*.>",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.CONSUMER.CREATE.*",
    "$JS.API.CONSUMER.CREATE.*.>",
    "$JS.API.CONSUMER.INFO.*.*",
    "$JS.API.CONSUMER.DELETE.*.*",
    "$JS.FC.*.>",
    "$KV.*.>",
  ];
}

/**
 * What a controller needs of JetStream for work queues: create a queue's
 * stream, consumer and bucket, publish its tasks, purge it (cancel), and
 * everything an agent does with task states.
 */
function queueController(s: Subjects): string[] {
  return [
    s.queueTasks("*"),
    "$JS.API.STREAM.CREATE.*",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.PURGE.*",
    "$JS.API.CONSUMER.DURABLE.CREATE.*.agents",
    ...kvClient(),
  ];
}

/**
 * Every request and run input out; everything of the prefix in, replies included; and
 * what `put` needs of JetStream, for the transfer stream only: check the
 * account, find or create the stream, read a message of it, store chunks
 * (JetStream's answers come to the client's `_INBOX`).
 */
export function controllerPermissions(s: Subjects): Permissions {
  const stream = s.xferStream();
  return {
    publish: [
      s.host("*", "*"),
      s.all("*"),
      s.stdin("*"),
      s.xferAll(),
      "$JS.API.INFO",
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.CREATE.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      directGet(s),
      ...queueController(s),
    ],
    subscribe: [s.any(), "_INBOX.>"],
  };
}

/** Events and replies in; read-only requests out. Requests of others are not visible. */
export function viewerPermissions(s: Subjects): Permissions {
  return {
    publish: READ_ONLY_VERBS.flatMap((v) => [s.host("*", v), s.all(v)]),
    subscribe: [...events(s, "*"), s.replies("*")],
  };
}
