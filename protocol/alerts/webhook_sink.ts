/**
 * `--alert-webhook URL`: an HTTP POST of the alert as JSON, each attempt
 * bounded by the timeout, tried three times (after 1 s, then 2 s) until a
 * 2xx answer. The last failure is logged; nothing waits for it.
 */
import type { Alert, AlertLog } from "./alert.ts";

export const WEBHOOK_ATTEMPTS = 3;

export async function postAlert(
  url: string,
  alert: Alert,
  timeoutMs: number,
  log: AlertLog,
  retryStepMs = 1000,
): Promise<boolean> {
  let why = "";
  for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      if (res.ok) return true;
      why = `HTTP ${res.status} ${res.statusText}`;
    } catch (e) {
      why = e instanceof DOMException && e.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : (e as Error).message;
    }
    if (attempt < WEBHOOK_ATTEMPTS) {
      await new Promise((r) => setTimeout(r, attempt * retryStepMs));
    }
  }
  log(`alert: --alert-webhook ${url}: ${why} (${WEBHOOK_ATTEMPTS} attempts)`);
  return false;
}
