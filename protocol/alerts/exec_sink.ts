/**
 * `--alert-exec CMD`: `sh -c CMD` with the alert as one JSON line on its
 * stdin, killed (its whole process group) after the timeout. A failure is
 * logged; nothing waits for it.
 */
import type { Alert, AlertLog } from "./alert.ts";

export async function execAlert(
  command: string,
  alert: Alert,
  timeoutMs: number,
  log: AlertLog,
): Promise<void> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("sh", {
      args: ["-c", command],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
      env: {
        TUTTI_ALERT_KIND: alert.kind,
        TUTTI_ALERT_HOST: alert.host,
        // Alerts about a process (an agent's) name it.
        ...("process" in alert && typeof alert.process === "string"
          ? { TUTTI_ALERT_PROCESS: alert.process }
          : {}),
      },
      detached: true,
    }).spawn();
  } catch (e) {
    log(`alert: --alert-exec ${JSON.stringify(command)}: ${(e as Error).message}`);
    return;
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(alert) + "\n")).catch(() => {});
    await w.close().catch(() => {});
    const [status, err] = await Promise.all([
      child.status,
      new Response(child.stderr).text().catch(() => ""),
    ]);
    if (timedOut) {
      log(`alert: --alert-exec ${JSON.stringify(command)} killed after ${timeoutMs} ms`);
    } else if (!status.success) {
      const how = status.signal ? `terminated by ${status.signal}` : `exit ${status.code}`;
      const last = err.trim().split("\n").pop() ?? "";
      log(
        `alert: --alert-exec ${JSON.stringify(command)} failed (${how})${last ? `: ${last}` : ""}`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
}
