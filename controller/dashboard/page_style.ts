/**
 * The dashboard page's stylesheet, inlined in the page (the controller is one
 * bundled file: the page cannot be read from disk).
 */
export const PAGE_STYLE = `
:root {
  --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec;
  --cpu: #2f6fdf; --mem: #a8509f; --ok: #1f8a4c; --bad: #c23b32; --warn: #b7791f;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 24px;
  background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 20px; letter-spacing: .5px; }
header .summary { color: #c9d1e0; }
header .conn { margin-left: auto; font-size: 12px; color: #c9d1e0; }
header .conn.off { color: #ff9b93; }
main { padding: 16px 24px; display: grid; gap: 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.down td { color: var(--muted); }
.state-up { color: var(--ok); }
.state-down { color: var(--bad); font-weight: 600; }
svg.spark { display: block; }
svg.spark .area-cpu { fill: rgba(47, 111, 223, .15); stroke: none; }
svg.spark .line-cpu { fill: none; stroke: var(--cpu); stroke-width: 1.5; }
svg.spark .area-mem { fill: rgba(168, 80, 159, .15); stroke: none; }
svg.spark .line-mem { fill: none; stroke: var(--mem); stroke-width: 1.5; }
svg.spark .frame { fill: none; stroke: var(--line); }
.notes { color: var(--warn); margin: 8px 0 0; }
form.run { display: flex; gap: 8px; flex-wrap: wrap; }
form.run input { font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; }
form.run input[name=hosts] { width: 180px; }
form.run input[name=command] { flex: 1; min-width: 240px; font-family: ui-monospace, monospace; }
form.run button { font: inherit; padding: 6px 16px; border: 0; border-radius: 6px;
  background: var(--cpu); color: #fff; cursor: pointer; }
.error { color: var(--bad); margin: 6px 0 0; min-height: 1em; }
.run-card { border-top: 1px solid var(--line); margin-top: 10px; padding-top: 8px; }
.run-head { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.run-head code { font-weight: 600; }
.elapsed { font-variant-numeric: tabular-nums; color: var(--muted); }
.run-summary.ok { color: var(--ok); }
.run-summary.bad { color: var(--bad); }
.run-host { margin: 4px 0 0; }
.run-host .who { font-weight: 600; }
.run-host .status.ok { color: var(--ok); }
.run-host .status.bad { color: var(--bad); }
pre { margin: 2px 0 0; padding: 6px 8px; background: #0f1420; color: #d8dee9; border-radius: 6px;
  font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; max-height: 180px; overflow: auto;
  white-space: pre-wrap; word-break: break-all; }
pre .stderr { color: #ffab91; }
pre:empty { display: none; }
.proc-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 10px; }
.proc { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
.proc .title { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.proc .title .id { font-weight: 600; }
.proc .title .host { color: var(--muted); }
.proc .title .figures { margin-left: auto; color: var(--muted); font-variant-numeric: tabular-nums; }
.proc .cmd { font-family: ui-monospace, monospace; font-size: 12px; color: var(--muted);
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.proc.exited { opacity: .75; }
.empty { color: var(--muted); }
`;
