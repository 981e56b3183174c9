/// <reference lib="dom" />
/**
 * The managed processes: one card per process (running ones first, then by
 * host and id) with its state, figures, command line and last output lines.
 */
import type { ProcJson } from "../page_messages.ts";
import { byHost, byId, el, insertSorted, setText } from "./dom.ts";
import { bytes, pct } from "./format.ts";

interface ProcRecord {
  card: HTMLDivElement;
  state: HTMLSpanElement;
  figures: HTMLSpanElement;
  cmd: HTMLDivElement;
  out: HTMLPreElement;
  /** The output lines shown, as one string: redrawn only when it changes. */
  seen: string;
}

export class ProcCards {
  readonly #cards = new Map<string, ProcRecord>();
  readonly #box = byId("procs");
  readonly #empty = byId("no-procs");

  update(p: ProcJson): void {
    const key = p.host + "/" + p.id;
    const rec = this.#cards.get(key) ?? this.#add(key, p);
    const running = p.state !== "exited";
    rec.card.className = "proc " + (running ? "running" : "exited");
    setText(rec.state, running ? (p.state === "running" ? "running" : "") : p.exit ?? "");
    rec.state.className = "pstate " + (running ? "" : (p.ok ? "state-up" : "state-down"));
    setText(rec.figures, p.cpu === null ? "" : pct(p.cpu) + "% CPU · " + bytes(p.rss) + " RSS");
    setText(rec.cmd, p.command);
    rec.cmd.title = p.command;
    const text = p.lines.map((l) => l.stream + l.text).join("\n");
    if (text !== rec.seen) {
      rec.seen = text;
      rec.out.textContent = "";
      p.lines.forEach((l, i) => {
        const span = el("span", l.stream, l.text + (i < p.lines.length - 1 ? "\n" : ""));
        rec.out.appendChild(span);
      });
      rec.out.scrollTop = rec.out.scrollHeight;
    }
    insertSorted(this.#box, rec.card, (running ? "0" : "1") + " " + p.host + " " + p.id, byHost);
    this.showEmpty();
  }

  /** The note shown while there is no process. */
  showEmpty(): void {
    setText(this.#empty, this.#cards.size === 0 ? "No managed process." : "");
  }

  clear(): void {
    this.#cards.clear();
    this.#box.textContent = "";
  }

  #add(key: string, p: ProcJson): ProcRecord {
    const card = el("div", "proc");
    card.dataset.host = p.host;
    card.dataset.proc = p.id;
    const title = el("div", "title");
    const id = el("span", "id", p.id);
    const where = el("span", "host", "on " + p.host);
    const state = el("span", "pstate");
    const figures = el("span", "figures");
    title.append(id, where, state, figures);
    const cmd = el("div", "cmd");
    const out = el("pre", "lines");
    card.append(title, cmd, out);
    const rec: ProcRecord = { card, state, figures, cmd, out, seen: "" };
    this.#cards.set(key, rec);
    return rec;
  }
}
