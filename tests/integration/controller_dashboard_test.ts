/// <reference lib="dom" />
/**
 * `controller dashboard` in a real headless Chromium: the page lists the
 * test's agents, their CPU figures change from sample to sample, a managed
 * process shows its last output lines, and a command started from the
 * page's form shows its output per host (as text: markup in it stays
 * text), its exit statuses and the elapsed time. The server refuses a
 * foreign Host header and a POST without the page's token, and Ctrl-C
 * stops it.
 *
 * With TUTTI_SCREENSHOT=1 it also saves docs/dashboard.png for the README.
 */
import assert from "node:assert/strict";
import { HeadlessChromium } from "./headless_chromium.ts";
import { killGroups, startedPids } from "./detached.ts";
import { type ControllerProcess, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const HOSTS = ["node-1", "node-2", "node-3"];
const SCREENSHOT = new URL("../../docs/dashboard.png", import.meta.url).pathname;

async function dashboardUrl(c: ControllerProcess): Promise<string> {
  await c.waitFor("the dashboard's address", (out) => /dashboard on http:\S+/.test(out));
  return /dashboard on (http:\S+)/.exec(c.stdout)![1];
}

/** The status of `GET /` sent with this Host header (fetch would put the URL's). */
async function statusWithHost(port: number, host: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const head = new Uint8Array(64);
    const n = await conn.read(head);
    const line = new TextDecoder().decode(head.subarray(0, n ?? 0));
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(line)?.[1]);
  } finally {
    conn.close();
  }
}

Deno.test("the dashboard in a headless Chromium: hosts, CPU, processes, a run", opts, async () => {
  const world = await World.create();
  let browser: HeadlessChromium | undefined;
  let started: number[] = [];
  try {
    await world.agentsNamed(HOSTS, { args: ["--telemetry", "300ms"] });
    // A process that keeps printing.
    const ticker = await world.controller([
      "run",
      "--hosts",
      "node-[1-2]",
      "--detach",
      "--id",
      "ticker",
      "--shell",
      'i=0; while :; do i=$((i+1)); echo "tick $i on $TUTTI_HOST"; sleep 0.5; done',
    ]);
    assert.equal(ticker.code, 0, ticker.stderr);
    started = startedPids(ticker.stdout);
    const dashboard = world.spawnController(["dashboard", "--port", "0", "--hosts", "node-*"]);
    const url = await dashboardUrl(dashboard);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

    // The guards: a foreign Host name (DNS rebinding), a POST without the token.
    const port = new URL(url).port;
    assert.equal(await statusWithHost(Number(port), `evil.example:${port}`), 421);
    assert.equal(await statusWithHost(Number(port), `localhost:${port}`), 200);
    const forged = await fetch(`${url}api/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ hosts: "node-1", command: "touch /tmp/should-not-run" }),
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();

    browser = await HeadlessChromium.launch();
    const context = await browser.browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // The refused bad selector below is the one failed request expected.
      if (m.type() === "error" && !/status of 400/.test(m.text())) {
        problems.push(`console: ${m.text()}`);
      }
    });
    await page.goto(url);

    // Every agent is listed, live.
    await page.waitForFunction(
      (n) => document.querySelectorAll("#hosts tbody tr").length === n,
      HOSTS.length,
    );
    const listed = await page.$$eval(
      "#hosts tbody tr",
      (rows) => rows.map((r) => (r as HTMLElement).dataset.host),
    );
    assert.deepEqual(listed, HOSTS);
    await page.waitForFunction(() => document.getElementById("conn")!.textContent === "live");

    // Each host's CPU figures are numbers and change with the samples: the total, and its parts
    // (user, system, ... in the cell's title: on a saturated machine the total stays at 100).
    const cpuOf = () =>
      page.$$eval("#hosts tbody tr td.cpu", (tds) =>
        tds.map((td) => ({
          text: td.textContent ?? "",
          parts: (td as HTMLElement).title,
          at: Number((td as HTMLElement).dataset.sampled),
        })));
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#hosts tbody tr td.cpu")].every((td) =>
        /^\d+\.\d$/.test(td.textContent ?? "") && /^user \d/.test((td as HTMLElement).title)
      )
    );
    const first = await cpuOf();
    await page.waitForFunction(
      (before) =>
        [...document.querySelectorAll("#hosts tbody tr td.cpu")].every((td, i) => {
          const e = td as HTMLElement;
          return Number(e.dataset.sampled) > before[i].at &&
            (e.textContent !== before[i].text || e.title !== before[i].parts);
        }),
      first,
      { timeout: 20_000 },
    );
    const second = await cpuOf();
    for (const [i, v] of second.entries()) {
      assert.match(v.text, /^\d+\.\d$/);
      assert.ok(Number(v.text) >= 0 && Number(v.text) <= 100, `${HOSTS[i]}: ${v.text}`);
      assert.ok(v.at > first[i].at, `${HOSTS[i]}: a later sample`);
      assert.notDeepEqual([v.text, v.parts], [first[i].text, first[i].parts], HOSTS[i]);
    }
    // The charts have points.
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#hosts tbody tr td.cpuChart path.line-cpu")].every((p) =>
        (p.getAttribute("d") ?? "").split("L").length >= 3
      )
    );

    // The managed processes, with their last lines.
    await page.waitForFunction(() =>
      /tick \d+ on node-1/.test(
        document.querySelector('.proc[data-host="node-1"][data-proc="ticker"] pre')?.textContent ??
          "",
      )
    );

    // A command from the form: output per host, as text; exit statuses; elapsed time.
    await page.fill('#run-form input[name="hosts"]', "node-[1-3]");
    await page.fill(
      '#run-form input[name="command"]',
      'echo "hello from $TUTTI_HOST"; sleep 1; echo "<b id=injected>not bold</b>"',
    );
    await page.click('#run-form button[type="submit"]');
    const card = page.locator(".run-card").first();
    await card.locator(".run-elapsed").filter({ hasText: /^running \d+\.\ds$/ }).waitFor();
    await card.locator(".run-summary").filter({ hasText: "3 hosts: 3 ok" }).waitFor();
    for (const host of HOSTS) {
      const text = await card.locator(`.run-host[data-host="${host}"] pre`).textContent();
      assert.equal(text, `hello from ${host}\n<b id=injected>not bold</b>\n`);
      assert.equal(
        await card.locator(`.run-host[data-host="${host}"] .status`).textContent(),
        "exit 0",
      );
    }
    assert.equal(await page.locator("#injected").count(), 0, "output is never markup");
    assert.match((await card.locator(".run-elapsed").textContent())!, /^done in \d+\.\ds$/);

    // A bad selector is refused with the parser's message, nothing run.
    await page.fill('#run-form input[name="hosts"]', "node-[1-");
    await page.click('#run-form button[type="submit"]');
    await page.locator("#run-error").filter({ hasText: /^EBADSEL / }).waitFor();

    if (Deno.env.get("TUTTI_SCREENSHOT") === "1") {
      // Charts with some history to look at.
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll("path.line-cpu")].every((p) =>
            (p.getAttribute("d") ?? "").split("L").length >= 100
          ),
        undefined,
        { timeout: 45_000 },
      );
      await page.fill('#run-form input[name="hosts"]', "node-[1-3]");
      await page.evaluate(() => document.getElementById("run-error")!.textContent = "");
      await Deno.mkdir(new URL(".", `file://${SCREENSHOT}`).pathname, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
    assert.deepEqual(problems, []);
    await context.close();

    // Ctrl-C stops the server cleanly.
    dashboard.proc.kill("SIGINT");
    const end = await dashboard.result(10_000);
    assert.equal(end.code, 0, end.stderr);
  } finally {
    killGroups(started);
    await browser?.close();
    await world.close();
  }
});
