/**
 * Field readers for what a peer sends back: replies and events. Unlike a
 * request's fields (EINVAL, answered to the sender), a reply or event that
 * does not have the shape this page promises is EBADMSG, and the message
 * names the message and the field: `exit event: field "code": expected an
 * integer or null, got "x"`.
 */
import { quoteValue, TuttiError } from "./errors.ts";

type Map = Record<string, unknown>;

export function isMap(x: unknown): x is Map {
  return x !== null && typeof x === "object" && !Array.isArray(x) && !ArrayBuffer.isView(x);
}

/**
 * Runs a parser shared with requests (whose errors are EINVAL) on a received
 * message: its errors become EBADMSG, prefixed with the message's name.
 */
export function received<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TuttiError && e.code === "EINVAL") {
      throw new TuttiError("EBADMSG", `${what}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * The other way round: `Fields` read a request's map (their errors are
 * EBADMSG), and what the peer got wrong is EINVAL, answered to it.
 */
export function requested<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TuttiError && e.code === "EBADMSG") {
      throw new TuttiError("EINVAL", e.message);
    }
    throw e;
  }
}

/** The fields of one received map; `what` names the message, `path` the map inside it. */
export class Fields {
  constructor(readonly m: Map, readonly what: string, readonly path = "") {}

  /** `x` as a map, or EBADMSG naming it. */
  static of(x: unknown, what: string, path = ""): Fields {
    if (!isMap(x)) {
      const shown = x === undefined ? "missing" : `got ${quoteValue(x)}`;
      const where = path === "" ? "" : ` field "${path.slice(0, -1)}":`;
      throw new TuttiError("EBADMSG", `${what}:${where} expected a map, ${shown}`);
    }
    return new Fields(x, what, path);
  }

  fail(field: string, want: string): never {
    const got = this.m[field];
    const shown = got === undefined ? "missing" : `got ${quoteValue(got)}`;
    throw new TuttiError(
      "EBADMSG",
      `${this.what}: field "${this.path}${field}": expected ${want}, ${shown}`,
    );
  }

  has(field: string): boolean {
    return this.m[field] !== undefined && this.m[field] !== null;
  }

  str(field: string): string {
    const x = this.m[field];
    if (typeof x !== "string") this.fail(field, "a string");
    return x;
  }

  strOrNull(field: string): string | null {
    return this.m[field] === null ? null : this.str(field);
  }

  optStr(field: string): string | undefined {
    return this.has(field) ? this.str(field) : undefined;
  }

  /** One of `choices`, spelled exactly. */
  oneOf<T extends string>(field: string, choices: readonly T[]): T {
    const x = this.m[field];
    if (!choices.includes(x as T)) this.fail(field, choices.map((c) => `"${c}"`).join(", "));
    return x as T;
  }

  /** A whole number from `min` up, within Number's safe range (ids, byte counts, ms times). */
  int(field: string, min = 0): number {
    const x = this.m[field];
    if (!Number.isSafeInteger(x) || (x as number) < min) {
      this.fail(field, min === 0 ? "a non-negative integer" : `an integer from ${min}`);
    }
    return x as number;
  }

  intOrNull(field: string, min = 0): number | null {
    if (this.m[field] === null) return null;
    const x = this.m[field];
    if (!Number.isSafeInteger(x) || (x as number) < min) {
      this.fail(field, min === 0 ? "a non-negative integer or null" : `an integer or null`);
    }
    return x as number;
  }

  optInt(field: string, min = 0): number | undefined {
    return this.has(field) ? this.int(field, min) : undefined;
  }

  /** Any finite number (percentages, load averages, seconds with fractions). */
  num(field: string): number {
    const x = this.m[field];
    if (typeof x !== "number" || !Number.isFinite(x)) this.fail(field, "a number");
    return x;
  }

  numOrNull(field: string): number | null {
    return this.m[field] === null ? null : this.num(field);
  }

  bool(field: string): boolean {
    const x = this.m[field];
    if (typeof x !== "boolean") this.fail(field, "a boolean");
    return x;
  }

  optBool(field: string): boolean | undefined {
    return this.has(field) ? this.bool(field) : undefined;
  }

  bytes(field: string): Uint8Array {
    const x = this.m[field];
    if (!(x instanceof Uint8Array)) this.fail(field, "a byte string");
    return x;
  }

  strList(field: string): string[] {
    const x = this.m[field];
    if (!Array.isArray(x) || !x.every((s) => typeof s === "string")) {
      this.fail(field, "an array of strings");
    }
    return x as string[];
  }

  strMap(field: string): Record<string, string> {
    const x = this.m[field];
    if (!isMap(x) || !Object.values(x).every((s) => typeof s === "string")) {
      this.fail(field, "a map of strings");
    }
    return { ...x as Record<string, string> };
  }

  /** The map in `field`, read with the same message name. */
  map(field: string): Fields {
    if (!isMap(this.m[field])) this.fail(field, "a map");
    return new Fields(this.m[field] as Map, this.what, `${this.path}${field}.`);
  }

  /** Each element of the array in `field`, read by `each` with its index for messages. */
  list<T>(field: string, each: (x: unknown, path: string) => T): T[] {
    const x = this.m[field];
    if (!Array.isArray(x)) this.fail(field, "an array");
    return x.map((e, i) => each(e, `${this.path}${field}[${i}]`));
  }

  /** Each element of the array in `field` as a map. */
  maps<T>(field: string, each: (f: Fields) => T): T[] {
    return this.list(field, (x, path) => each(Fields.of(x, this.what, `${path}.`)));
  }
}
