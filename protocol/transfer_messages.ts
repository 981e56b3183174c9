/**
 * File transfers (`put`, `get`, `read`): the messages and their parsers.
 *
 * `put` ships file trees to many hosts with one upload: the controller
 * stores each distinct content once in a JetStream stream, chunk by chunk
 * (`P.xfer.<sha256>.<k>`), then broadcasts a manifest; every agent fetches
 * the chunks it lacks with JetStream's direct get, verifies the digest and
 * renames the file into place. `get` asks each host for the manifest of
 * its paths, then the controller `read`s each file in ranges.
 *
 * Paths inside a manifest are relative, `/`-separated, without `.`, `..`
 * or empty components: a peer can never make the other side write outside
 * the destination it was given.
 */
import { Fields, requested } from "./fields.ts";

type Map = Record<string, unknown>;

export const ENTRY_KINDS = ["file", "dir", "link"] as const;
export type EntryKind = typeof ENTRY_KINDS[number];

/** One node of a file tree: a regular file, a directory or a symbolic link. */
export interface TransferEntry {
  /** Relative path inside the tree (the tree's own name first). */
  path: string;
  kind: EntryKind;
  /** Permission bits (0o7777 at most). */
  mode: number;
  /** Bytes of a file (0 for a directory or a link). */
  size: number;
  /** A file's SHA-256, 64 lowercase hex digits. */
  sha256?: string;
  /** A link's target, as stored (never followed). */
  link?: string;
}

/** One destination of a `put`: the trees that land in it. */
export interface PutItem {
  /**
   * Where, on the host: `{host}` is the host's name; `~` and relative paths
   * start at the agent user's home directory.
   */
  dest: string;
  /**
   * True: `dest` is a directory and each tree lands inside it under its own
   * name (several sources, a directory source, or `dest` ending in `/`).
   * False: one file, named `dest` unless `dest` is an existing directory.
   */
  into: boolean;
  entries: TransferEntry[];
}

export interface PutRequest {
  /** The transfer's id: a repeated request with the same id joins the first. */
  id: string;
  /** The JetStream stream holding the chunks, read with direct get. */
  stream: string;
  /** Chunk `k` of content `D` is the last message on `<chunks>.<D>.<k>`. */
  chunks: string;
  /** Bytes per chunk (the last one may be shorter). */
  chunk: number;
  items: PutItem[];
}

/** The final answer of a `put` on one host. */
export interface PutReply {
  id: string;
  /** Files written (complete, renamed into place). */
  files: number;
  /** Files already there with the same content. */
  skipped: number;
  /** Directories and links made. */
  others: number;
  /** Bytes fetched from the stream. */
  bytes: number;
  /** Bytes found in partial files of an interrupted earlier try, not fetched again. */
  resumed: number;
}

/** `put` progress, published on `P.reply.<id>.progress.<host>` at most twice a second. */
export interface TransferProgress {
  id: string;
  /** Bytes done (fetched, resumed or skipped) of `total`. */
  done: number;
  total: number;
}

export interface GetRequest {
  /** Paths on the host (`{host}`, `~` and relative paths as for `put`). */
  paths: string[];
}

/** One path of a `get`, as found on the host. */
export interface GetSource {
  /** The path as asked. */
  asked: string;
  /** Absolute path on the host (after expansion) of the tree's root. */
  path: string;
  entries: TransferEntry[];
}

export interface GetReply {
  sources: GetSource[];
}

export interface ReadRequest {
  /** Absolute path of a regular file on the host. */
  path: string;
  offset: number;
  limit: number;
}

export interface ReadReply {
  /** At most `limit` bytes from `offset`; fewer only at the end of the file. */
  data: Uint8Array;
  /** The file's size when read. */
  size: number;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Whether `p` is a safe relative path: no `/` at either end, no empty, `.` or `..` component. */
export function isRelativePath(p: string): boolean {
  if (p === "" || p.startsWith("/") || p.includes("\0")) return false;
  return p.split("/").every((c) => c !== "" && c !== "." && c !== "..");
}

export function isSha256(s: string): boolean {
  return SHA256.test(s);
}

export function parseEntry(f: Fields): TransferEntry {
  const path = f.str("path");
  if (!isRelativePath(path)) f.fail("path", "a relative path without . or .. components");
  const kind = f.oneOf("kind", ENTRY_KINDS);
  const mode = f.int("mode");
  if (mode > 0o7777) f.fail("mode", "permission bits (at most 0o7777)");
  const e: TransferEntry = { path, kind, mode, size: kind === "file" ? f.int("size") : 0 };
  if (kind === "file") {
    const sha = f.str("sha256");
    if (!isSha256(sha)) f.fail("sha256", "64 lowercase hex digits");
    e.sha256 = sha;
  }
  if (kind === "link") e.link = f.str("link");
  return e;
}

/** Entries of one tree: every path once, each one's parent before it. */
function checkTree(f: Fields, entries: TransferEntry[]): TransferEntry[] {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.path)) f.fail("entries", `each path once (${JSON.stringify(e.path)} repeats)`);
    const slash = e.path.lastIndexOf("/");
    if (slash > 0 && !seen.has(e.path.slice(0, slash))) {
      f.fail("entries", `each directory before what it holds (${JSON.stringify(e.path)})`);
    }
    seen.add(e.path);
  }
  return entries;
}

export function parsePutRequest(m: Map): PutRequest {
  return requested(() => {
    const f = Fields.of(m, "put request");
    const id = f.str("id");
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) f.fail("id", "a subject token");
    const chunk = f.int("chunk", 1);
    const items = f.maps("items", (i) => {
      const dest = i.str("dest");
      if (dest === "" || dest.includes("\0")) i.fail("dest", "a path without NUL bytes");
      const into = i.bool("into");
      const entries = checkTree(i, i.maps("entries", parseEntry));
      if (!into && (entries.length !== 1 || entries[0].kind === "dir")) {
        i.fail("entries", "one file or link when into is false");
      }
      return { dest, into, entries };
    });
    return { id, stream: f.str("stream"), chunks: f.str("chunks"), chunk, items };
  });
}

export function parsePutReply(m: Map): PutReply {
  const f = Fields.of(m, "put reply");
  return {
    id: f.str("id"),
    files: f.int("files"),
    skipped: f.int("skipped"),
    others: f.int("others"),
    bytes: f.int("bytes"),
    resumed: f.int("resumed"),
  };
}

export function parseTransferProgress(m: Map): TransferProgress {
  const f = Fields.of(m, "progress");
  return { id: f.str("id"), done: f.int("done"), total: f.int("total") };
}

export function parseGetRequest(m: Map): GetRequest {
  return requested(() => {
    const f = Fields.of(m, "get request");
    const paths = f.strList("paths");
    if (paths.length === 0 || paths.some((p) => p === "" || p.includes("\0"))) {
      f.fail("paths", "one path or more, without NUL bytes");
    }
    return { paths };
  });
}

export function parseGetReply(m: Map): GetReply {
  const f = Fields.of(m, "get reply");
  return {
    sources: f.maps("sources", (s) => ({
      asked: s.str("asked"),
      path: s.str("path"),
      entries: checkTree(s, s.maps("entries", parseEntry)),
    })),
  };
}

export function parseReadRequest(m: Map): ReadRequest {
  return requested(() => {
    const f = Fields.of(m, "read request");
    const path = f.str("path");
    if (!path.startsWith("/") || path.includes("\0")) f.fail("path", "an absolute path");
    return { path, offset: f.int("offset"), limit: f.int("limit", 1) };
  });
}

export function parseReadReply(m: Map): ReadReply {
  const f = Fields.of(m, "read reply");
  return { data: f.bytes("data"), size: f.int("size") };
}
