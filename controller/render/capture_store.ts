/**
 * Where `--gather` keeps every host's output until the end: each distinct
 * output once, in memory and, past `spillBytes` in all, in a temporary file
 * per distinct output, so that the controller's memory does not follow
 * what the hosts write.
 *
 * A host's stream is a `Capture`: a prefix of a `Blob` (an append-only byte
 * sequence). Hosts that write the same bytes share one blob (found by its
 * first bytes): a capture at the blob's end appends to it, one behind
 * compares what it gets with what the blob already has and only moves on. A capture whose bytes differ from
 * its blob's forks: a new blob with the common start copied, then its own
 * bytes. So twenty hosts printing the same 19 MB store 19 MB, and two
 * outputs that part after a common header store the header twice.
 *
 * Spilled files are unlinked as soon as they are made (the open file stays
 * usable), so nothing is left behind, however the controller ends.
 */

const MiB = 1024 * 1024;
export const SPILL_BYTES = 16 * MiB;
/** Reads of a file blob (comparisons, the end's output) go by this much at most. */
export const READ_BYTES = 1 * MiB;
/**
 * A capture shorter than this keeps its bytes itself (tiny outputs like
 * `Linux` never make a blob); past it, it looks for a blob that begins with
 * the same bytes.
 */
const KEY_BYTES = 64;

function keyOf(start: Uint8Array): string {
  return String.fromCharCode(...start.subarray(0, KEY_BYTES));
}

export interface CaptureStoreOptions {
  /** Past this many bytes in memory, blobs go to files (default 16 MiB). */
  spillBytes?: number;
  /** Directory of the temporary files (default: the system's). */
  dir?: string;
}

export class CaptureStore {
  readonly #spillBytes: number;
  readonly #dir: string | undefined;
  readonly #blobs = new Set<Blob>();
  /** Blobs by their first KEY_BYTES bytes: where a new capture looks for its like. */
  readonly #byStart = new Map<string, Set<Blob>>();
  #memoryBytes = 0;
  #spilled = false;
  readonly #scratch: Uint8Array[] = [];

  constructor(opts: CaptureStoreOptions = {}) {
    this.#spillBytes = opts.spillBytes ?? SPILL_BYTES;
    this.#dir = opts.dir;
  }

  /** Bytes held in memory by blobs (those in files hold none). */
  get memoryBytes(): number {
    return this.#memoryBytes;
  }

  /** Whether blobs went to files. */
  get spilled(): boolean {
    return this.#spilled;
  }

  /** Distinct outputs stored. */
  get blobs(): number {
    return this.#blobs.size;
  }

  capture(): Capture {
    return new Capture(this);
  }

  /** Closes every file. */
  close(): void {
    for (const b of this.#blobs) b.drop();
    this.#blobs.clear();
    this.#byStart.clear();
    this.#memoryBytes = 0;
  }

  /**
   * A blob that begins with `start` (at least KEY_BYTES long), or a new one:
   * the capture joins it at its beginning and goes on as usual.
   */
  blobFor(start: Uint8Array): Blob {
    const key = keyOf(start);
    for (const b of this.#byStart.get(key) ?? []) {
      if (b.equals(0, start.subarray(0, Math.min(start.length, b.length)))) return b;
    }
    return this.#newBlob(key);
  }

  /** A new blob holding the first `bytes` of `from` (at least KEY_BYTES). */
  fork(from: Blob, bytes: number): Blob {
    const b = this.#newBlob(from.key);
    b.copy(from, bytes);
    return b;
  }

  forget(b: Blob): void {
    if (!this.#blobs.delete(b)) return;
    const same = this.#byStart.get(b.key);
    same?.delete(b);
    if (same?.size === 0) this.#byStart.delete(b.key);
    b.drop();
  }

  #newBlob(key: string): Blob {
    const b = new Blob(this, key);
    this.#blobs.add(b);
    let same = this.#byStart.get(key);
    if (!same) this.#byStart.set(key, same = new Set());
    same.add(b);
    if (this.#spilled) b.toFile(this.#dir);
    return b;
  }

  /** A buffer to read files into (two: a comparison reads two blobs at once). */
  scratch(which: 0 | 1): Uint8Array {
    return this.#scratch[which] ??= new Uint8Array(READ_BYTES);
  }

  /** `delta` bytes more (or fewer) in memory; past the limit, every blob goes to a file. */
  held(delta: number): void {
    this.#memoryBytes += delta;
    if (this.#spilled || this.#memoryBytes <= this.#spillBytes) return;
    this.#spilled = true;
    for (const b of this.#blobs) b.toFile(this.#dir);
  }
}

/** One host's stream: the first `length` bytes of a blob shared with hosts that wrote the same. */
export class Capture {
  #blob: Blob | undefined;
  /** Fewer than KEY_BYTES so far: kept here, not yet in a blob. */
  #start: Uint8Array | undefined;
  #length = 0;

  constructor(private readonly store: CaptureStore) {}

  get length(): number {
    return this.#length;
  }

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (!this.#blob) {
      const start = this.#start ? concat(this.#start, data) : data;
      if (start.length < KEY_BYTES) {
        this.#start = start === data ? data.slice() : start;
        this.#length = start.length;
        return;
      }
      // Enough to tell outputs apart: join a blob that begins with the same bytes, if any.
      this.#start = undefined;
      this.#length = 0;
      this.#blob = this.#adopt(this.store.blobFor(start));
      data = start;
    }
    const blob = this.#blob;
    const ahead = blob.length - this.#length;
    if (ahead === 0) {
      blob.append(data);
      this.#length += data.length;
      return;
    }
    const common = Math.min(ahead, data.length);
    if (blob.equals(this.#length, data.subarray(0, common))) {
      this.#length += common;
      if (common < data.length) {
        // Now at the blob's end: what follows extends it.
        blob.append(data.subarray(common));
        this.#length += data.length - common;
      }
      return;
    }
    // Different bytes: a blob of its own, with the common start copied.
    const fork = this.store.fork(blob, this.#length);
    fork.append(data);
    this.#release();
    this.#blob = this.#adopt(fork);
    this.#length += data.length;
  }

  /** Whether the two hold the same bytes. */
  sameAs(other: Capture): boolean {
    if (this.#length !== other.#length) return false;
    if (this.#length === 0 || (this.#blob && this.#blob === other.#blob)) return true;
    if (!this.#blob) return equalBytes(this.#start!, other.#start!);
    for (let at = 0; at < this.#length;) {
      const part = this.#blob.read(at, Math.min(READ_BYTES, this.#length - at));
      if (!other.#blob!.equals(at, part)) return false;
      at += part.length;
    }
    return true;
  }

  /** The bytes, in pieces of at most READ_BYTES (each valid until the next is asked for). */
  *pieces(): Iterable<Uint8Array> {
    if (!this.#blob) {
      if (this.#start) yield this.#start;
      return;
    }
    for (let at = 0; at < this.#length;) {
      const part = this.#blob.read(at, Math.min(READ_BYTES, this.#length - at));
      yield part;
      at += part.length;
    }
  }

  lastByte(): number | undefined {
    if (this.#length === 0) return undefined;
    if (!this.#blob) return this.#start![this.#length - 1];
    return this.#blob.read(this.#length - 1, 1)[0];
  }

  #adopt(b: Blob): Blob {
    b.users++;
    return b;
  }

  #release(): void {
    const b = this.#blob;
    if (b && --b.users === 0) this.store.forget(b);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Bytes appended in order: in memory (a list of chunks), or in a file of its
 * own, written as they come (one write per event: they are large when it
 * matters), read back through the store's two scratch buffers so that a
 * thousand distinct outputs do not cost a buffer each.
 */
class Blob {
  users = 0;
  length = 0;
  /** In memory: the chunks, and where each starts. */
  #chunks: Uint8Array[] = [];
  #starts: number[] = [];
  #file: Deno.FsFile | undefined;

  constructor(private readonly store: CaptureStore, readonly key: string) {}

  append(data: Uint8Array): void {
    this.length += data.length;
    if (this.#file) return this.#write(data);
    this.#chunks.push(data.slice());
    this.#starts.push(this.length - data.length);
    this.store.held(data.length);
  }

  /** Appends the first `bytes` of `from`. */
  copy(from: Blob, bytes: number): void {
    for (let at = 0; at < bytes;) {
      const part = from.read(at, Math.min(READ_BYTES, bytes - at));
      this.append(part);
      at += part.length;
    }
  }

  /** Whether `data` is what the blob holds from `at` (which must exist). */
  equals(at: number, data: Uint8Array): boolean {
    for (let done = 0; done < data.length;) {
      // The second scratch buffer: `data` may be a view of the first.
      const part = this.read(at + done, Math.min(READ_BYTES, data.length - done), 1);
      for (let i = 0; i < part.length; i++) if (part[i] !== data[done + i]) return false;
      done += part.length;
    }
    return true;
  }

  /**
   * Up to `n` bytes from `at` (may be fewer: ask again), as a view valid
   * until the next read through the same scratch buffer.
   */
  read(at: number, n: number, scratch: 0 | 1 = 0): Uint8Array {
    if (!this.#file) {
      let lo = 0;
      let hi = this.#starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.#starts[mid] <= at) lo = mid;
        else hi = mid - 1;
      }
      const from = at - this.#starts[lo];
      return this.#chunks[lo].subarray(from, from + n);
    }
    const view = this.store.scratch(scratch).subarray(0, Math.min(n, READ_BYTES));
    this.#file.seekSync(at, Deno.SeekMode.Start);
    let got = 0;
    while (got < view.length) {
      const r = this.#file.readSync(view.subarray(got));
      if (r === null || r === 0) throw new Error(`gather: short read of a spilled output`);
      got += r;
    }
    return view;
  }

  /** Moves the bytes to a temporary file of its own (unlinked at once). */
  toFile(dir: string | undefined): void {
    if (this.#file) return;
    const path = Deno.makeTempFileSync({ dir, prefix: "tutti-gather-" });
    this.#file = Deno.openSync(path, { read: true, write: true });
    Deno.removeSync(path);
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#starts = [];
    for (const c of chunks) this.#write(c);
    this.store.held(-this.length);
  }

  drop(): void {
    if (!this.#file) this.store.held(-this.length);
    this.#file?.close();
    this.#file = undefined;
    this.#chunks = [];
    this.#starts = [];
  }

  /** Appends to the file (writes go to its end: reads move the position). */
  #write(data: Uint8Array): void {
    const f = this.#file!;
    f.seekSync(0, Deno.SeekMode.End);
    for (let at = 0; at < data.length;) at += f.writeSync(data.subarray(at));
  }
}
