/**
 * How deep a CBOR item nests, found by walking its heads without decoding
 * anything (byte and text strings are skipped by their length).
 *
 * cbor-x decodes nested arrays and maps recursively: a payload of a few
 * thousand `0x9f` (indefinite array) bytes exhausts the stack, and whether
 * it does depends on how deep the stack already is, so the same bytes could
 * be "truncated" once and "stack overflow" the next. Refusing anything
 * nested deeper than any tutti message ever is (before decoding) makes the
 * answer the same every time.
 */

/** Whether `b` nests containers (arrays, maps, tags) more than `max` deep. Malformed input: false (the decoder says what is wrong). */
export function nestsDeeperThan(b: Uint8Array, max: number): boolean {
  /** Items left in each open container; -1 for an indefinite one (closed by a break). */
  const open: number[] = [];
  /** One item is complete: it counts against the containers around it. */
  const done = () => {
    while (open.length > 0) {
      const top = open.length - 1;
      if (open[top] === -1) return;
      if (--open[top] > 0) return;
      open.pop();
    }
  };
  let i = 0;
  while (i < b.length) {
    const ib = b[i++];
    if (ib === 0xff) {
      if (open.length === 0 || open[open.length - 1] !== -1) return false;
      open.pop();
      done();
      continue;
    }
    const major = ib >> 5;
    const ai = ib & 31;
    let len = ai;
    if (ai === 24) len = b[i++];
    else if (ai === 25) (len = (b[i] << 8) | b[i + 1]), i += 2;
    else if (ai === 26) {
      (len = b[i] * 2 ** 24 + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3])), i += 4;
    } else if (ai === 27) (len = Number.MAX_SAFE_INTEGER), i += 8;
    else if (ai >= 28 && ai <= 30) return false;
    switch (major) {
      case 2:
      case 3:
        if (ai === 31) open.push(-1); // chunks follow, then a break
        else {
          i += len;
          done();
        }
        break;
      case 4:
      case 5: {
        const n = ai === 31 ? -1 : major === 5 ? len * 2 : len;
        if (n === 0) {
          done();
          break;
        }
        open.push(n);
        if (open.length > max) return true;
        break;
      }
      case 6: // a tag: its content is the next item
        open.push(1);
        if (open.length > max) return true;
        break;
      default: // integers, simple values and floats (their bytes were skipped above)
        done();
    }
  }
  return false;
}
