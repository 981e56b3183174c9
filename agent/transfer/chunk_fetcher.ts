/**
 * Reads the chunks of one content from the transfer stream with JetStream's
 * direct get: a request per chunk to `$JS.API.DIRECT.GET.<stream>` with
 * `{"last_by_subj": "P.xfer.<sha256>.<k>"}`, answered by the server from
 * its store (any replica can answer; no consumer, no state kept for us).
 * Replies come to `P.in.<host>.<token>.<k>`, which only this agent may
 * read, so the subject says which chunk arrived.
 *
 * A window of requests is in flight and chunks are handed out in order:
 * memory is the window, whatever the file's size. A request not answered
 * within REQUEST_TIMEOUT_MS is sent again (the broker may be restarting:
 * the client buffers while it reconnects), and the fetch fails only after
 * STALL_MS without a single chunk.
 */
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { TuttiError } from "../../protocol/errors.ts";
import { newId } from "../../protocol/runtime/ids.ts";
import type { Subjects } from "../../protocol/subjects.ts";

const WINDOW = 6;
const REQUEST_TIMEOUT_MS = 5000;
const STALL_MS = 120_000;
const TICK_MS = 500;

export interface ChunkSource {
  nc: NatsConnection;
  /** Tells of each publish or subscription the server refuses; returns the removal. */
  onDenied: (fn: (operation: string, subject: string) => void) => () => void;
  subjects: Subjects;
  host: string;
  stream: string;
}

/** Chunks `from` to `count - 1` of `sha256`, in order. */
export async function* fetchChunks(
  src: ChunkSource,
  sha256: string,
  from: number,
  count: number,
): AsyncGenerator<Uint8Array> {
  const inbox = `${src.subjects.inbox(src.host)}.${newId("x")}`;
  const api = `$JS.API.DIRECT.GET.${src.stream}`;
  const arrived = new Map<number, Uint8Array>();
  const sentAt = new Map<number, number>();
  let failure: TuttiError | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onMsg = (m: Msg) => {
    const k = Number(m.subject.slice(inbox.length + 1));
    if (!sentAt.has(k)) return; // late duplicate of a re-sent request
    const status = m.headers?.code ?? 0;
    if (status === 0 || status === 200) {
      sentAt.delete(k);
      arrived.set(k, m.data);
    } else if (status === 404) {
      failure = new TuttiError(
        "ENOENT",
        `chunk ${k} of ${sha256} is not in stream ${src.stream} (the upload did not finish, ` +
          `or the stream's age limit removed it: put again)`,
      );
    } else if (status === 503) {
      failure = new TuttiError(
        "ENOTSUP",
        `no JetStream answers for stream ${src.stream} (is the server started with -js?)`,
      );
    } else {
      // 408 and the like: the request is sent again when its time is up.
      return;
    }
    notify();
  };
  const refused = (what: string) => {
    failure = new TuttiError(
      "EPERM",
      `the NATS server refuses this agent ${what} (its user's permissions must allow ` +
        `publishing to ${api} and subscribing to ${src.subjects.inbox(src.host)}.>: ` +
        `controller nats-config writes them)`,
    );
    notify();
  };
  const offDenied = src.onDenied((op, subject) => {
    if (subject === api || subject.startsWith(src.subjects.inbox(src.host))) {
      refused(op === "publish" ? `direct gets on ${api}` : `its inbox ${subject}`);
    }
  });
  const sub = src.nc.subscribe(`${inbox}.*`, {
    callback: (err, m) => err ? refused(`its inbox: ${err.message}`) : onMsg(m),
  });
  const ask = (k: number) => {
    sentAt.set(k, Date.now());
    const body = JSON.stringify({ last_by_subj: src.subjects.xferChunk(sha256, k) });
    try {
      src.nc.publish(api, body, { reply: `${inbox}.${k}` });
    } catch {
      // Closed or draining: the stall timer ends this fetch.
    }
  };
  const tick = setInterval(notify, TICK_MS);
  try {
    let next = from;
    let progressAt = Date.now();
    while (next < count) {
      for (let k = next; k < Math.min(count, next + WINDOW); k++) {
        if (!sentAt.has(k) && !arrived.has(k)) ask(k);
      }
      const chunk = arrived.get(next);
      if (chunk) {
        arrived.delete(next);
        next++;
        progressAt = Date.now();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      const now = Date.now();
      if (now - progressAt > STALL_MS) {
        throw new TuttiError(
          "ETIMEDOUT",
          `no chunk of ${sha256} from stream ${src.stream} for ${STALL_MS / 1000}s`,
        );
      }
      for (const [k, at] of sentAt) if (now - at > REQUEST_TIMEOUT_MS) ask(k);
      await new Promise<void>((r) => wake = r);
    }
  } finally {
    clearInterval(tick);
    offDenied();
    sub.unsubscribe();
  }
}
