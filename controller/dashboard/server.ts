/**
 * The dashboard's HTTP side (`Deno.serve`), on 127.0.0.1 unless told
 * otherwise:
 *
 *   GET  /            the page (HTML with its style and script inline)
 *   GET  /events      Server-Sent Events: a snapshot, then every change (hub.ts)
 *   POST /api/run     `{hosts, command}` runs the command line on the hosts;
 *                     answers `{id}` or `{error}` (400)
 *
 * The page can start commands on a cluster, so the server guards it:
 * requests must name this server in `Host` when it listens on a loopback
 * address (no DNS rebinding), a POST must carry the page's token in a
 * header (no cross-site form: another site can neither read the token nor
 * send the header), and the page runs under a strict Content Security
 * Policy with its script and style allowed by nonce only. Everything the
 * page shows is put in as text, never as HTML.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { DashboardHub } from "./hub.ts";
import type { PageClient } from "./page_messages.ts";
import { pageHtml } from "./page.ts";

export interface DashboardServer {
  /** `http://127.0.0.1:8080/` */
  url: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  close(): Promise<void>;
}

const KEEPALIVE_MS = 15_000;
const MAX_BODY = 64 * 1024;

export async function serveDashboard(
  hub: DashboardHub,
  opts: { hostname: string; port: number; signal?: AbortSignal },
): Promise<DashboardServer> {
  const token = randomHex(16);
  const closers = new Set<() => void>();
  // onListen runs inside Deno.serve, before it returns.
  const listened = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: opts.hostname,
    port: opts.port,
    signal: opts.signal,
    onListen: (addr) => listened.resolve(addr),
    onError: (e) => json({ error: `internal error: ${(e as Error)?.message ?? e}` }, 500),
  }, (req) => handle(req));
  const addr = await listened.promise;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  // On loopback, only requests naming this server: a rebound DNS name is refused.
  const allowed = loopback(addr.hostname)
    ? new Set([host, "localhost", "127.0.0.1", "[::1]"].map((h) => `${h}:${addr.port}`))
    : null;
  const shown = addr.hostname === "0.0.0.0" || addr.hostname === "::" ? "127.0.0.1" : host;
  // A shutdown waits for every response to end: the event streams are ended first.
  const endStreams = () => {
    for (const c of [...closers]) c();
  };
  opts.signal?.addEventListener("abort", endStreams, { once: true });
  server.finished.then(endStreams);

  function handle(req: Request): Response | Promise<Response> {
    if (allowed !== null && !allowed.has(req.headers.get("host") ?? "")) {
      return text("unknown host name: open the address the controller printed", 421);
    }
    const url = new URL(req.url);
    if (url.pathname === "/" && req.method === "GET") return page();
    if (url.pathname === "/events" && req.method === "GET") return events();
    if (url.pathname === "/api/run") {
      if (req.method !== "POST") return text("use POST", 405);
      return run(req);
    }
    return text("not found", 404);
  }

  function page(): Response {
    const nonce = randomHex(16);
    return new Response(pageHtml(token, nonce), {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "content-security-policy": [
          "default-src 'none'",
          `script-src 'nonce-${nonce}'`,
          `style-src 'nonce-${nonce}'`,
          "connect-src 'self'",
          "img-src 'self' data:",
          "base-uri 'none'",
          "form-action 'none'",
          "frame-ancestors 'none'",
        ].join("; "),
      },
    });
  }

  function events(): Response {
    const encoder = new TextEncoder();
    let remove = () => {};
    let keepalive: ReturnType<typeof setInterval> | undefined;
    const stop = () => {
      remove();
      clearInterval(keepalive);
      closers.delete(stop);
    };
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const write = (s: string) => controller.enqueue(encoder.encode(s));
        const client: PageClient = {
          // JSON never holds a raw line break, so one `data:` line carries it whole.
          send: (event: string, data: unknown) =>
            write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
        };
        write("retry: 1000\n\n");
        remove = hub.add(client);
        keepalive = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
        closers.add(() => {
          stop();
          try {
            controller.close();
          } catch {
            // already closed by the page going away
          }
        });
      },
      cancel: stop,
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  }

  async function run(req: Request): Promise<Response> {
    if (req.headers.get("x-tutti-token") !== token) {
      return json({ error: "missing or wrong token: reload the page" }, 403);
    }
    if (Number(req.headers.get("content-length") ?? 0) > MAX_BODY) {
      return json({ error: "request too large" }, 413);
    }
    const raw = await req.text();
    if (raw.length > MAX_BODY) return json({ error: "request too large" }, 413);
    let body: { hosts?: unknown; command?: unknown };
    try {
      body = JSON.parse(raw);
    } catch {
      return json({ error: "the request is not JSON" }, 400);
    }
    if (typeof body?.hosts !== "string" || typeof body.command !== "string") {
      return json({ error: "expected {hosts, command} as strings" }, 400);
    }
    const hosts = body.hosts.trim();
    if (hosts === "") return json({ error: "name the hosts (a glob, a node set, a list)" }, 400);
    try {
      const r = hub.run(hosts, body.command);
      return json({ id: r.id });
    } catch (e) {
      if (e instanceof TuttiError) return json({ error: `${e.code} ${e.message}` }, 400);
      if (e instanceof TypeError) return json({ error: e.message }, 400);
      throw e;
    }
  }

  return {
    url: `http://${shown}:${addr.port}/`,
    finished: server.finished,
    close: async () => {
      endStreams();
      await server.shutdown();
    },
  };
}

function loopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function text(s: string, status: number): Response {
  return new Response(s + "\n", { status, headers: { "content-type": "text/plain" } });
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}
