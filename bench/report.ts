/**
 * Writes a run's rows as JSON (every raw sample, for later analysis) and as
 * a Markdown table (each figure beside its peer, the ratio and the target).
 */
import { fanoutChart } from "./chart.ts";
import type { Row, Series } from "./figures.ts";
import type { MachineInfo } from "./machine.ts";
import type { BenchOptions } from "./options.ts";

export interface Report {
  command: string;
  options: BenchOptions;
  machine: MachineInfo;
  seconds: number;
  rows: Row[];
  /** Sections that could not run, with why. */
  errors: { section: string; error: string }[];
}

export async function writeReport(report: Report, dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const root = new URL("../", import.meta.url).pathname;
  const m = report.machine;
  const svg = fanoutChart(
    report.rows,
    `tutti vs ssh fan-out of true, ${m.date.slice(0, 10)}, ${m.cores} cores ${m.model}`,
  );
  const chart = svg ? "\n![fan-out time against N](fanout.svg)\n" : "";
  const md = (markdown(report) + chart).replaceAll(root, "");
  // Microseconds are plenty: the clock's noise is far above them. Paths are
  // given from the repository's root: the results are committed.
  const json = JSON.stringify(
    report,
    (_k, v) => {
      if (typeof v === "number" && !Number.isInteger(v)) return Number(v.toFixed(4));
      if (typeof v === "string" && v.includes(root)) return v.replaceAll(root, "");
      return v;
    },
    2,
  );
  await Deno.writeTextFile(`${dir}/latest.json`, json + "\n");
  await Deno.writeTextFile(`${dir}/latest.md`, md);
  if (svg) await Deno.writeTextFile(`${dir}/fanout.svg`, svg);
  return md;
}

const BEGIN = "<!-- latest full run: written by deno task bench -->";
const END = "<!-- end of the latest full run -->";

/**
 * Puts a full run's table and chart into bench/README.md, between its two
 * markers, so that the README always shows the last complete measurement
 * with its date and machine. The chart's path is made relative to the README.
 */
export async function updateReadme(md: string, readme: string, resultsDir: string): Promise<void> {
  const text = await Deno.readTextFile(readme);
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${readme}: the results markers are missing`);
  const readmeDir = readme.slice(0, readme.lastIndexOf("/") + 1);
  const rel = resultsDir.startsWith(readmeDir) ? resultsDir.slice(readmeDir.length) : resultsDir;
  const body = md
    .replace(/^# tutti benchmark\n/, "")
    .replace("](fanout.svg)", `](${rel}/fanout.svg)`)
    .trim();
  await Deno.writeTextFile(
    readme,
    `${text.slice(0, begin)}${BEGIN}\n\n${body}\n\n${text.slice(end)}`,
  );
  // The project's `deno fmt --check` covers this file (unlike bench/results/): leave it formatted.
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", readme],
    cwd: readmeDir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!fmt.success) {
    throw new Error(`deno fmt ${readme}: ${new TextDecoder().decode(fmt.stderr)}`);
  }
}

export function markdown(r: Report): string {
  const m = r.machine;
  const out = [
    "# tutti benchmark",
    "",
    `${m.date.slice(0, 16).replace("T", " ")} UTC · ${m.cores} cores (${m.model}) · ` +
    `${m.memoryGiB.toFixed(1)} GiB · Linux ${m.kernel} · Deno ${m.deno} · ` +
    `nats-server ${m.natsServer} · ${m.openssh} · load average ${m.loadAverage} at start, ${
      m.loadAverageEnd ?? "?"
    } at end · tutti ${m.tutti}`,
    "",
    `\`${r.command}\` (${Math.round(r.seconds)} s). Every figure is the median (p95) of rounds ` +
    "measured in the same run as its peer, interleaved; ratio = tutti ÷ peer on medians.",
    "",
    ...sectionLoads(m),
    "| figure | tutti | peer | peer value | ratio | target | met |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of r.rows) {
    const met = row.target ? (row.target.met ? "yes" : "**no**") : "";
    out.push(
      `| ${row.figure} | ${value(row.tutti)} | ${row.peer.label} | ${value(row.peer)} | ` +
        `${ratio(row.ratio, row.tutti.unit)} | ${row.target?.text ?? ""} | ${met} |`,
    );
  }
  const notes = r.rows.filter((row) => row.note).map((row) => `- ${row.figure}: ${row.note}`);
  const failures = r.rows.flatMap((row) =>
    [row.tutti, row.peer].filter((s) => s.failures.length > 0).map((s) =>
      `- ${s.label}: ${s.failures.length} failed round(s), first: ${oneLine(s.failures[0])}`
    )
  );
  const errors = r.errors.map((e) => `- section ${e.section}: ${oneLine(e.error)}`);
  if (notes.length) out.push("", "Notes:", "", ...notes);
  if (failures.length || errors.length) {
    out.push("", "Failures:", "", ...new Set(failures), ...errors);
  }
  return out.join("\n") + "\n";
}

/** One line: the 1-minute load average as each section began, when known. */
function sectionLoads(m: MachineInfo): string[] {
  const by = Object.entries(m.loadAverageBySection ?? {});
  if (by.length === 0) return [];
  const list = by.map(([section, load]) => `${section} ${load.split(" ")[0]}`).join(", ");
  return [`1-minute load average as each section began: ${list}.`, ""];
}

function value(s: Series): string {
  if (s.summary.n === 0) return "—";
  const { median, p95 } = s.summary;
  const f = (x: number) => num(x, s.unit);
  const spread = s.unit === "ms" && s.summary.n > 1 ? ` (${f(p95)})` : "";
  return `${f(median)}${spread} ${s.unit === "%" ? "%" : s.unit}`;
}

function num(x: number, unit: Series["unit"]): string {
  if (unit === "%") return x.toFixed(3);
  if (unit === "MiB") return x.toFixed(1);
  if (unit === "MB/s") return x.toFixed(0);
  if (x < 10) return x.toFixed(2);
  if (x < 100) return x.toFixed(1);
  return x.toFixed(0);
}

function ratio(x: number, unit: Series["unit"]): string {
  if (!Number.isFinite(x)) return "—";
  const r = x < 0.1 ? x.toFixed(3) : x.toFixed(2);
  return x < 1 && unit === "ms" ? `${r} (${(1 / x).toFixed(1)}x faster)` : r;
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}
