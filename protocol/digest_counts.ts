/**
 * How many times each 32-bit digest was counted, in two typed arrays (open
 * addressing with linear probing, doubled when half full) rather than a Map.
 *
 * A queue submission counts every task's command line (TaskNamer), 100,000
 * of them or more. In a Map each entry lived on V8's heap (a digest past 30
 * bits as a number object of its own), and V8 lets its heap grow to about
 * four times what stays alive in it: the counts made a large submission's
 * peak memory grow with its length. Typed arrays lie outside that heap, at
 * 8 bytes a slot.
 */
export class DigestCounts {
  #keys = new Uint32Array(1024);
  /** 0: an empty slot (a counted digest has 1 or more). */
  #counts = new Uint32Array(1024);
  #size = 0;

  /** Counts `digest` (an unsigned 32-bit integer) once more; returns the count before. */
  bump(digest: number): number {
    if (2 * (this.#size + 1) > this.#keys.length) this.#grow();
    const at = slot(this.#keys, this.#counts, digest);
    const before = this.#counts[at];
    if (before === 0) {
      this.#keys[at] = digest;
      this.#size++;
    }
    this.#counts[at] = before + 1;
    return before;
  }

  #grow(): void {
    const keys = new Uint32Array(this.#keys.length * 2);
    const counts = new Uint32Array(keys.length);
    for (let i = 0; i < this.#keys.length; i++) {
      if (this.#counts[i] === 0) continue;
      const at = slot(keys, counts, this.#keys[i]);
      keys[at] = this.#keys[i];
      counts[at] = this.#counts[i];
    }
    this.#keys = keys;
    this.#counts = counts;
  }
}

/** The slot holding `digest`, or the empty one where it goes. */
function slot(keys: Uint32Array, counts: Uint32Array, digest: number): number {
  const mask = keys.length - 1;
  let at = (Math.imul(digest, 0x9e3779b1) >>> 0) & mask;
  while (counts[at] !== 0 && keys[at] !== digest) at = (at + 1) & mask;
  return at;
}
