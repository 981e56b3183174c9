/**
 * How much of a run's output the controller holds in memory, and whether it
 * may take more: one budget for every host and stream of a run, so that the
 * controller's memory does not grow with the number of hosts or with what
 * they write. Three parts, each bounded:
 *
 * - the output events the reader has not read yet (the backlog), and the
 *   chunks held past a hole while it is fetched: together at most `backlog`
 *   bytes. Past it, live chunks are not taken (they are in the agents'
 *   spools anyway), and while the backlog alone is past it no spool read
 *   starts; what was not taken is fetched from the spools later, in order,
 *   exactly as a range the agent itself dropped (output_stream.ts). The
 *   reader sets the pace, and nothing is lost.
 * - spool reads in flight, and their answers not yet delivered: at most
 *   `reading` bytes (a read of up to 512 KiB at a time, one always).
 *
 * So the reader's backlog stays under `backlog` + `reading` plus one
 * message, whatever the hosts write and however slowly it reads.
 *
 * Whatever the agents write beyond that waits in their spools, and in the
 * flow control between the agents and the server, not here.
 */

export interface FlowLimits {
  backlog: number;
  reading: number;
}

const MiB = 1024 * 1024;

export const FLOW_LIMITS: FlowLimits = { backlog: 8 * MiB, reading: 4 * MiB };

export class OutputFlow {
  #held = 0;
  #reading = 0;
  #waiting: (() => void)[] = [];

  /** `backlog`: the weight of what the reader has not read yet (0 when nobody reads). */
  constructor(
    private readonly backlog: () => number = () => 0,
    readonly limits: FlowLimits = FLOW_LIMITS,
  ) {}

  /** Bytes held past holes. */
  get held(): number {
    return this.#held;
  }

  /** Bytes of spool reads in flight or not yet delivered. */
  get reading(): number {
    return this.#reading;
  }

  /**
   * Whether a live chunk of `bytes` may be taken now; `ahead`: it lies past
   * a hole and would be held until the hole is filled.
   */
  takeLive(bytes: number, ahead: boolean): boolean {
    return this.backlog() + this.#held + (ahead ? bytes : 0) <= this.limits.backlog;
  }

  hold(bytes: number): void {
    this.#held += bytes;
  }

  release(bytes: number): void {
    this.#held -= bytes;
  }

  /** Resolves once a spool read of `bytes` may start; it counts until `endRead`. */
  async startRead(bytes: number): Promise<void> {
    while (!this.#roomToRead(bytes)) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#reading += bytes;
  }

  /** Starts a spool read of `bytes` if there is room now. */
  tryRead(bytes: number): boolean {
    if (!this.#roomToRead(bytes)) return false;
    this.#reading += bytes;
    return true;
  }

  endRead(bytes: number): void {
    this.#reading -= bytes;
    this.#wake();
  }

  /** The reader has read some of the backlog. */
  consumed(): void {
    if (this.#waiting.length > 0 && this.backlog() <= this.limits.backlog) this.#wake();
  }

  #roomToRead(bytes: number): boolean {
    if (this.backlog() > this.limits.backlog) return false;
    // One read always may go: a limit below one read must not stop everything.
    return this.#reading === 0 || this.#reading + bytes <= this.limits.reading;
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w();
  }
}
