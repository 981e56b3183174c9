/**
 * The dashboard's one page: markup with its style and script inline,
 * allowed by the nonce of the response's Content Security Policy. The style
 * is page_style.ts; the script is written in client/ and bundled into
 * page_script.gen.ts (build_page_script.ts). The page holds no data:
 * everything comes through its event stream. `token` and `nonce` are hex,
 * safe in an attribute.
 */
import { PAGE_SCRIPT } from "./page_script.gen.ts";
import { PAGE_STYLE } from "./page_style.ts";

export function pageHtml(token: string, nonce: string): string {
  if (!/^[0-9a-f]+$/.test(token) || !/^[0-9a-f]+$/.test(nonce)) {
    throw new Error("token and nonce must be hex");
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="tutti-token" content="${token}">
<title>tutti dashboard</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${PAGE_STYLE}</style>
</head>
<body>
<header>
  <h1>tutti</h1>
  <span class="summary" id="summary"></span>
  <span class="summary" id="prefix"></span>
  <span class="conn off" id="conn">connecting...</span>
</header>
<main>
  <section>
    <h2>Hosts</h2>
    <table id="hosts">
      <thead><tr>
        <th>Host</th><th>State</th><th class="num">CPU %</th><th>CPU (last 2 min)</th>
        <th class="num">Load</th><th class="num">Memory</th><th>Memory (last 2 min)</th>
        <th class="num">Net rx</th><th class="num">Net tx</th><th class="num">Procs</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p class="empty" id="no-hosts"></p>
    <p class="notes" id="notes"></p>
  </section>
  <section>
    <h2>Run a command</h2>
    <form class="run" id="run-form" autocomplete="off">
      <input name="hosts" placeholder="hosts: g5k-[1-4], web-*" aria-label="hosts" required>
      <input name="command" placeholder="command line, run with /bin/sh -c" aria-label="command" required>
      <button type="submit">Run</button>
    </form>
    <p class="error" id="run-error"></p>
    <div id="runs"></div>
  </section>
  <section>
    <h2>Processes</h2>
    <p class="empty" id="no-procs"></p>
    <div class="proc-grid" id="procs"></div>
  </section>
</main>
<script nonce="${nonce}">${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
