/**
 * The Gantt chart of a plan operation, as one self-contained SVG: a row
 * per component and host, a bar per step from its start to its end on that
 * host (green done, red failed, grey still running at the end), the step's
 * name on the bar when it fits and in its tooltip always, and a time axis
 * in seconds from the start of the operation.
 */
import type { PlanSummary, StepRecord } from "./plan_events.ts";

const ROW = 22;
const LABEL = 180;
const WIDTH = 1000;
const TOP = 34;
const COLORS = { ok: "#4caf50", failed: "#e53935", running: "#9e9e9e" } as const;

export function ganttSvg(summary: PlanSummary): string {
  const t0 = summary.started;
  const t1 = Math.max(
    summary.ended,
    ...summary.steps.map((s) => s.end ?? summary.ended),
    t0 + 1,
  );
  const span = t1 - t0;
  const x = (t: number) => LABEL + ((t - t0) / span) * (WIDTH - LABEL - 10);
  const rows = rowsOf(summary.steps, summary.components.map((c) => c.name));
  const height = TOP + rows.length * ROW + 10;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
      `font-family="sans-serif" font-size="11">`,
    `<title>plan ${esc(summary.plan)} ${summary.action}: ${(span / 1000).toFixed(2)} s</title>`,
    `<text x="4" y="14" font-weight="bold">plan ${esc(summary.plan)} ${summary.action} — ${
      new Date(t0).toISOString()
    }, ${(span / 1000).toFixed(2)} s${summary.ok ? "" : ", failed"}</text>`,
  );
  for (const tick of ticks(span)) {
    const tx = x(t0 + tick);
    out.push(
      `<line x1="${tx.toFixed(1)}" y1="${TOP - 6}" x2="${tx.toFixed(1)}" y2="${height - 10}" ` +
        `stroke="#ddd"/>`,
      `<text x="${tx.toFixed(1)}" y="${TOP - 9}" text-anchor="middle" fill="#555">${
        fmtSeconds(tick)
      }</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = TOP + i * ROW;
    out.push(`<text x="4" y="${y + 15}">${esc(`${row.component} ${row.host}`)}</text>`);
    for (const s of row.steps) {
      const bx = x(s.start);
      const bw = Math.max(2, x(s.end ?? t1) - bx);
      const tip = `${s.component} ${s.step} on ${s.host}: ${s.status}` +
        `${s.detail ? ` (${s.detail})` : ""}, ${((s.start - t0) / 1000).toFixed(3)}s` +
        ` to ${(((s.end ?? t1) - t0) / 1000).toFixed(3)}s`;
      out.push(
        `<g><title>${esc(tip)}</title>` +
          `<rect x="${bx.toFixed(1)}" y="${y + 3}" width="${bw.toFixed(1)}" height="${ROW - 6}" ` +
          `fill="${COLORS[s.status]}" fill-opacity="${s.step === "ready" ? 0.45 : 0.9}" rx="2"/>` +
          (bw > s.step.length * 6.5 + 4
            ? `<text x="${(bx + 3).toFixed(1)}" y="${y + 15}" fill="${
              s.step === "ready" ? "#222" : "#fff"
            }">${esc(s.step)}</text>`
            : "") +
          `</g>`,
      );
    }
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

interface Row {
  component: string;
  host: string;
  steps: StepRecord[];
}

/** Rows in the plan's component order, hosts sorted within each. */
function rowsOf(steps: StepRecord[], order: string[]): Row[] {
  const rows = new Map<string, Row>();
  for (const s of steps) {
    const key = `${s.component}\u0000${s.host}`;
    let row = rows.get(key);
    if (!row) rows.set(key, row = { component: s.component, host: s.host, steps: [] });
    row.steps.push(s);
  }
  const rank = (c: string) => (order.indexOf(c) + 1) || order.length + 1;
  return [...rows.values()].sort((a, b) =>
    rank(a.component) - rank(b.component) || a.host.localeCompare(b.host, "en", { numeric: true })
  );
}

/** About eight round ticks over the span (ms). */
function ticks(span: number): number[] {
  const steps = [
    100,
    200,
    500,
    1000,
    2000,
    5000,
    10_000,
    30_000,
    60_000,
    300_000,
    600_000,
    3_600_000,
  ];
  const step = steps.find((s) => span / s <= 10) ?? 3_600_000;
  const out: number[] = [];
  for (let t = 0; t <= span; t += step) out.push(t);
  return out;
}

function fmtSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}
