/**
 * An SVG chart of fan-out time against N, one line per contender (tutti,
 * the ssh family, the local limit), on logarithmic axes: ssh and tutti
 * differ by more than an order of magnitude, and N spans 10 to 1000.
 */
import type { Row } from "./figures.ts";

const W = 640;
const H = 400;
const M = { left: 64, right: 210, top: 24, bottom: 48 };
const COLOURS = ["#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f"];

interface Point {
  n: number;
  ms: number;
  /** Measured on agents emulated in a few processes rather than one process each. */
  emulated: boolean;
}

interface Line {
  label: string;
  points: Point[];
}

/** Series label without its size-specific part, so that one line spans every N. */
function family(label: string): string {
  if (label.startsWith("tutti library")) return "tutti (library in-process)";
  if (label.startsWith("tutti")) return "tutti (controller CLI)";
  if (label.startsWith("local limit")) return "local limit (xargs -P N)";
  return label
    .replace(/--hosts '[^']*'/, "")
    .replace(/-w '[^']*'/, "")
    .replace(/all \d+ at once/, "all at once")
    .replace(/xargs -P \d+/, "xargs -P N")
    .replace(/\s+/g, " ")
    .trim();
}

function lines(rows: Row[]): Line[] {
  const byLabel = new Map<string, Line>();
  const add = (label: string, p: Point) => {
    if (!Number.isFinite(p.ms)) return;
    const key = family(label);
    const line = byLabel.get(key) ?? { label: key, points: [] };
    byLabel.set(key, line);
    if (!line.points.some((q) => q.n === p.n)) line.points.push(p);
  };
  for (const r of rows) {
    if (!r.figure.startsWith("run true on ")) continue;
    const m = /on (\d+) (emulated )?agents/.exec(r.figure);
    if (!m) continue;
    const n = Number(m[1]);
    const emulated = m[2] !== undefined;
    add(r.tutti.label, { n, ms: r.tutti.summary.median, emulated });
    add(r.peer.label, { n, ms: r.peer.summary.median, emulated });
  }
  // Below its width, ssh at width W is ssh with all N at once (measured once, under that name).
  const all = byLabel.get("parallel ssh, all at once");
  for (const line of byLabel.values()) {
    const w = Number(/^parallel ssh, (\d+) at once$/.exec(line.label)?.[1]);
    if (!w || !all) continue;
    for (const p of all.points) {
      if (p.n <= w && !line.points.some((q) => q.n === p.n)) line.points.push(p);
    }
  }
  for (const l of byLabel.values()) l.points.sort((a, b) => a.n - b.n);
  // tutti first, then the limit, then the peers: the legend reads in that order.
  const rank = (l: Line) => l.label.startsWith("tutti") ? 0 : l.label.startsWith("local") ? 1 : 2;
  return [...byLabel.values()].filter((l) => l.points.length > 0)
    .sort((a, b) => rank(a) - rank(b));
}

/**
 * The chart, or null when fewer than two sizes were measured. Both axes are
 * logarithmic. Sizes measured on emulated agents are hollow squares, joined
 * to their line by a dashed segment: another setup, the same contender.
 */
export function fanoutChart(rows: Row[], caption: string): string | null {
  const ls = lines(rows.filter((r) => r.section === "fanout" || r.section === "emulated"));
  const points = ls.flatMap((l) => l.points);
  const ns = [...new Set(points.map((p) => p.n))].sort((a, b) => a - b);
  if (ns.length < 2) return null;
  const emulatedNs = new Set(points.filter((p) => p.emulated).map((p) => p.n));
  const all = points.map((p) => p.ms);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all))));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const nLo = Math.log10(ns[0]);
  const nHi = Math.log10(ns[ns.length - 1]);
  const x = (n: number) => M.left + 12 + (Math.log10(n) - nLo) / (nHi - nLo) * (pw - 24);
  const y = (ms: number) => M.top + (1 - Math.log10(ms / lo) / Math.log10(hi / lo)) * ph;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="16">${escape(caption)}</text>`,
  ];
  for (let d = lo; d <= hi; d *= 10) {
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${y(d) + 4}" text-anchor="end">${msLabel(d)}</text>`,
    );
  }
  for (const n of ns) {
    const label = emulatedNs.has(n) ? `${n}*` : String(n);
    out.push(
      `<line x1="${x(n)}" x2="${x(n)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${x(n)}" y="${M.top + ph + 16}" text-anchor="middle">${label}</text>`,
    );
  }
  out.push(
    `<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle">agents (N, log scale)</text>`,
    `<text x="14" y="${M.top + ph / 2}" transform="rotate(-90 14 ${M.top + ph / 2})" ` +
      `text-anchor="middle">command → last exit status (median)</text>`,
  );
  ls.forEach((l, i) => {
    const c = COLOURS[i % COLOURS.length];
    const real = l.points.filter((p) => !p.emulated);
    const emulated = l.points.filter((p) => p.emulated);
    const pts = real.map((p) => `${x(p.n)},${y(p.ms)}`);
    if (pts.length > 1) {
      out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(" ")}"/>`);
    }
    for (const p of real) out.push(`<circle cx="${x(p.n)}" cy="${y(p.ms)}" r="3" fill="${c}"/>`);
    const last = real[real.length - 1];
    for (const p of emulated) {
      if (last) {
        out.push(
          `<line x1="${x(last.n)}" y1="${y(last.ms)}" x2="${x(p.n)}" y2="${y(p.ms)}" ` +
            `stroke="${c}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
        );
      }
      out.push(
        `<rect x="${x(p.n) - 4}" y="${y(p.ms) - 4}" width="8" height="8" fill="white" ` +
          `stroke="${c}" stroke-width="2"/>`,
      );
    }
    const ly = M.top + 12 + i * 18;
    out.push(
      `<line x1="${W - M.right + 12}" x2="${W - M.right + 32}" y1="${ly - 4}" y2="${ly - 4}" ` +
        `stroke="${c}" stroke-width="2"/>`,
      `<text x="${W - M.right + 38}" y="${ly}">${escape(shorten(l.label))}</text>`,
    );
  });
  if (emulatedNs.size > 0) {
    const ly = M.top + 12 + ls.length * 18 + 6;
    out.push(
      `<rect x="${W - M.right + 18}" y="${ly - 8}" width="8" height="8" fill="white" ` +
        `stroke="#333" stroke-width="2"/>`,
      `<text x="${W - M.right + 38}" y="${ly}">* emulated agents,</text>`,
      `<text x="${W - M.right + 38}" y="${ly + 15}">a few processes</text>`,
    );
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function msLabel(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function shorten(s: string): string {
  return s.length > 28 ? `${s.slice(0, 27)}…` : s;
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
