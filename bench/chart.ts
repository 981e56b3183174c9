/**
 * An SVG chart of fan-out time against N, one line per contender (tutti,
 * the ssh family, the local limit), on a logarithmic time axis: ssh and
 * tutti differ by more than an order of magnitude.
 */
import type { Row } from "./figures.ts";

const W = 640;
const H = 400;
const M = { left: 64, right: 210, top: 24, bottom: 48 };
const COLOURS = ["#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f"];

interface Line {
  label: string;
  points: { n: number; ms: number }[];
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
  const add = (label: string, n: number, ms: number) => {
    if (!Number.isFinite(ms)) return;
    const key = family(label);
    const line = byLabel.get(key) ?? { label: key, points: [] };
    byLabel.set(key, line);
    if (!line.points.some((p) => p.n === n)) line.points.push({ n, ms });
  };
  for (const r of rows) {
    const n = Number(/on (\d+) agents/.exec(r.figure)?.[1]);
    if (!n) continue;
    add(r.tutti.label, n, r.tutti.summary.median);
    add(r.peer.label, n, r.peer.summary.median);
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
  return [...byLabel.values()].filter((l) => l.points.length > 0);
}

/** The chart, or null when fewer than two sizes were measured. */
export function fanoutChart(rows: Row[], caption: string): string | null {
  const ls = lines(rows.filter((r) => r.section === "fanout"));
  const ns = [...new Set(ls.flatMap((l) => l.points.map((p) => p.n)))].sort((a, b) => a - b);
  if (ns.length < 2) return null;
  const all = ls.flatMap((l) => l.points.map((p) => p.ms));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...all))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all))));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (n: number) => M.left + (n - ns[0]) / (ns[ns.length - 1] - ns[0]) * pw;
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
    out.push(
      `<line x1="${x(n)}" x2="${x(n)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${x(n)}" y="${M.top + ph + 16}" text-anchor="middle">${n}</text>`,
    );
  }
  out.push(
    `<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle">agents (N)</text>`,
    `<text x="14" y="${M.top + ph / 2}" transform="rotate(-90 14 ${M.top + ph / 2})" ` +
      `text-anchor="middle">command → last exit status (median)</text>`,
  );
  ls.forEach((l, i) => {
    const c = COLOURS[i % COLOURS.length];
    const pts = l.points.sort((a, b) => a.n - b.n).map((p) => `${x(p.n)},${y(p.ms)}`);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(" ")}"/>`);
    for (const p of l.points) {
      out.push(`<circle cx="${x(p.n)}" cy="${y(p.ms)}" r="3" fill="${c}"/>`);
    }
    const ly = M.top + 12 + i * 18;
    out.push(
      `<line x1="${W - M.right + 12}" x2="${W - M.right + 32}" y1="${ly - 4}" y2="${ly - 4}" ` +
        `stroke="${c}" stroke-width="2"/>`,
      `<text x="${W - M.right + 38}" y="${ly}">${escape(shorten(l.label))}</text>`,
    );
  });
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
