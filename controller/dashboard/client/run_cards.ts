/// <reference lib="dom" />
/**
 * The commands started from the page (by this page or another): one card
 * per run, newest first, with a line per host (status and output as they
 * come), the elapsed time while it runs and the summary once done.
 */
import type { RunJson, RunMessage } from "../page_messages.ts";
import { byHost, byId, el, insertSorted, setText } from "./dom.ts";
import { seconds } from "./format.ts";

interface RunHost {
  div: HTMLDivElement;
  status: HTMLSpanElement;
  out: HTMLPreElement;
}

interface RunRecord {
  json: RunJson;
  card: HTMLDivElement;
  elapsed: HTMLSpanElement;
  list: HTMLDivElement;
  done: HTMLDivElement;
  hosts: Map<string, RunHost>;
  timer: ReturnType<typeof setInterval> | null;
}

/** How often a running card's elapsed time is redrawn. */
const TICK_MS = 100;

export class RunCards {
  readonly #runs = new Map<string, RunRecord>();
  readonly #box = byId("runs");

  /** One message of the `run` event. */
  apply(m: RunMessage): void {
    if (m.kind === "new") {
      this.add(m.run);
      return;
    }
    const rec = this.#runs.get(m.id);
    if (!rec) return;
    if (m.kind === "host") this.#host(rec, m.host, m.status, m.ok);
    else if (m.kind === "output") this.#text(rec, m.host, m.text);
    else if (m.kind === "done") this.#finish(rec, m.took, m.ok, m.summary);
  }

  /** A run's card, made from its whole state (a new run, or one in a snapshot). */
  add(r: RunJson): void {
    if (this.#runs.has(r.id)) return;
    const card = el("div", "run-card");
    card.dataset.run = r.id;
    const head = el("div", "run-head");
    const cmd = el("code", "", r.command);
    const where = el("span", "", "on " + r.hosts);
    const id = el("span", "elapsed", r.id);
    const elapsed = el("span", "elapsed run-elapsed");
    head.append(cmd, where, id, elapsed);
    const list = el("div", "run-hosts");
    const done = el("div", "run-summary");
    card.append(head, list, done);
    this.#box.insertBefore(card, this.#box.firstChild);
    const rec: RunRecord = { json: r, card, elapsed, list, done, hosts: new Map(), timer: null };
    this.#runs.set(r.id, rec);
    for (const h of r.results) {
      this.#host(rec, h.host, h.status, h.ok);
      this.#text(rec, h.host, h.text);
    }
    if (r.done) this.#finish(rec, r.took ?? 0, r.done.ok, r.done.summary);
    else {
      this.#tick(rec);
      rec.timer = setInterval(() => this.#tick(rec), TICK_MS);
    }
  }

  clear(): void {
    for (const r of this.#runs.values()) if (r.timer) clearInterval(r.timer);
    this.#runs.clear();
    this.#box.textContent = "";
  }

  #tick(rec: RunRecord): void {
    setText(rec.elapsed, "running " + seconds(Math.max(0, Date.now() - rec.json.started)));
  }

  #host(rec: RunRecord, name: string, status?: string, ok?: boolean | null): RunHost {
    let h = rec.hosts.get(name);
    if (!h) {
      const div = el("div", "run-host");
      div.dataset.host = name;
      const who = el("span", "who", name + ": ");
      const st = el("span", "status");
      const out = el("pre", "output");
      div.append(who, st, out);
      h = { div, status: st, out };
      rec.hosts.set(name, h);
      insertSorted(rec.list, div, name, byHost);
    }
    if (status !== undefined) {
      setText(h.status, status);
      h.status.className = "status " + (ok === true ? "ok" : ok === false ? "bad" : "");
    }
    return h;
  }

  #text(rec: RunRecord, name: string, text: string): void {
    if (!text) return;
    const h = this.#host(rec, name);
    h.out.appendChild(document.createTextNode(text));
    h.out.scrollTop = h.out.scrollHeight;
  }

  #finish(rec: RunRecord, took: number, ok: boolean, text: string): void {
    if (rec.timer) clearInterval(rec.timer);
    rec.timer = null;
    setText(rec.elapsed, "done in " + seconds(took));
    setText(rec.done, text);
    rec.done.className = "run-summary " + (ok ? "ok" : "bad");
  }
}
