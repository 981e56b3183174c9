/// <reference lib="dom" />
/** The small CPU and memory charts of the hosts table: SVG paths, gaps where no sample came. */
import { svg } from "./dom.ts";

/** Samples a chart (and a host's history) holds. */
export const HISTORY = 120;
const W = 120;
const H = 28;

export type SparkKind = "cpu" | "mem";

export function spark(kind: SparkKind): SVGSVGElement {
  const s = svg("svg", {
    "class": "spark",
    width: W,
    height: H,
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
  });
  s.appendChild(svg("rect", { "class": "frame", x: 0.5, y: 0.5, width: W - 1, height: H - 1 }));
  s.appendChild(svg("path", { "class": `area-${kind}`, d: "" }));
  s.appendChild(svg("path", { "class": `line-${kind}`, d: "" }));
  return s;
}

/** `values`: numbers 0-100 or null (a gap), oldest first; the newest is at the right edge. */
export function drawSpark(s: SVGSVGElement, values: (number | null)[], label: string): void {
  let line = "";
  let area = "";
  let run: [number, number][] = [];
  const step = W / (HISTORY - 1);
  const x0 = W - (values.length - 1) * step;
  const closeRun = () => {
    if (run.length > 0) {
      area += `M${run[0][0]} ${H}L${run.map((p) => p.join(" ")).join("L")}L${
        run[run.length - 1][0]
      } ${H}Z`;
    }
    run = [];
  };
  values.forEach((v, i) => {
    if (v === null) {
      closeRun();
      return;
    }
    const x = +(x0 + i * step).toFixed(1);
    const y = +(H - 1 - Math.min(100, Math.max(0, v)) / 100 * (H - 2)).toFixed(1);
    line += (run.length === 0 ? "M" : "L") + x + " " + y;
    run.push([x, y]);
  });
  closeRun();
  s.children[1].setAttribute("d", area);
  s.children[2].setAttribute("d", line);
  s.setAttribute("aria-label", label);
}
