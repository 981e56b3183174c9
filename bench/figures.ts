/**
 * The benchmark's results as data: a series is one measured thing (its raw
 * samples and their summary); a row sets a tutti series beside its peer,
 * measured in the same run, with their ratio and the target it must meet.
 * Sections produce rows; the report only renders them.
 */
import { summarize, type Summary } from "./stats.ts";

export type Unit = "ms" | "%" | "MiB" | "MB/s";

export interface Series {
  label: string;
  unit: Unit;
  samples: number[];
  /** One message per failed round; failed rounds have no sample. */
  failures: string[];
  summary: Summary;
  /** Anything else worth keeping in the JSON (e.g. per-window values). */
  detail?: Record<string, unknown>;
}

export function series(
  label: string,
  unit: Unit,
  samples: number[],
  failures: string[] = [],
  detail?: Record<string, unknown>,
): Series {
  return { label, unit, samples, failures, summary: summarize(samples), detail };
}

/** A series being filled round by round. */
export class Recorder {
  readonly samples: number[] = [];
  readonly failures: string[] = [];
  constructor(readonly label: string, readonly unit: Unit) {}
  add(value: number): void {
    this.samples.push(value);
  }
  fail(why: string): void {
    this.failures.push(why);
  }
  done(detail?: Record<string, unknown>): Series {
    return series(this.label, this.unit, this.samples, this.failures, detail);
  }
}

export interface Target {
  /** As printed: `≤ 0.10 (≥ 10x faster)`. */
  text: string;
  met: boolean;
}

export interface Row {
  section: string;
  figure: string;
  tutti: Series;
  peer: Series;
  /** tutti ÷ peer, on medians: below 1 means tutti is faster or smaller. */
  ratio: number;
  target?: Target;
  note?: string;
}

/**
 * A goal for a row, checked on the row's medians. `ownValue`: it judges
 * tutti's figure alone, so it can be met while the peer was not measured.
 */
export type Goal = ((row: Omit<Row, "target">) => Target) & { ownValue?: boolean };

/** tutti ÷ peer at most `max` (a speed-up of at least 1/max when max < 1). */
export function ratioAtMost(max: number): Goal {
  const text = max < 1 ? `≤ ${fmt(max)} (≥ ${fmt(1 / max)}x faster)` : `≤ ${fmt(max)}`;
  return (r) => ({ text, met: r.ratio <= max });
}

/** tutti ÷ peer at least `min`: for rates, where more is better. */
export function ratioAtLeast(min: number): Goal {
  return (r) => ({ text: `≥ ${fmt(min)}`, met: r.ratio >= min });
}

/** tutti ÷ peer strictly below `max`. */
export function ratioBelow(max: number): Goal {
  return (r) => ({ text: `< ${fmt(max)}`, met: r.ratio < max });
}

/** tutti's own median strictly below `max` (e.g. idle CPU in % of a core). */
export function valueBelow(max: number): Goal {
  const goal: Goal = (r) => ({
    text: `tutti < ${fmt(max)} ${r.tutti.unit}`,
    met: r.tutti.summary.median < max,
  });
  goal.ownValue = true;
  return goal;
}

export function row(
  section: string,
  figure: string,
  tutti: Series,
  peer: Series,
  goal?: Goal,
  note?: string,
): Row {
  const base = {
    section,
    figure,
    tutti,
    peer,
    ratio: tutti.summary.median / peer.summary.median,
    note,
  };
  // A target cannot be met by a figure that was not measured (a peer of 0 is measured).
  const measured = Number.isFinite(tutti.summary.median) &&
    (goal?.ownValue || Number.isFinite(peer.summary.median));
  const target = goal ? goal(base) : undefined;
  if (target && !measured) target.met = false;
  return { ...base, target };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
