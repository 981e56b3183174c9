/// <reference lib="dom" />
/**
 * The run form: posts `{hosts, command}` to `/api/run` with the page's
 * token (server.ts refuses a POST without it). The run itself reaches the
 * page through the event stream, like a run started by another page; only
 * a refusal is shown here.
 */
import { byId, setText } from "./dom.ts";

export class RunForm {
  readonly #form = byId<HTMLFormElement>("run-form");
  readonly #error = byId("run-error");
  readonly #token: string;

  constructor() {
    const meta = document.querySelector('meta[name="tutti-token"]');
    this.#token = meta?.getAttribute("content") ?? "";
    this.#form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#submit();
    });
  }

  /** The hosts field, which a snapshot fills once if the user has typed nothing. */
  get hosts(): HTMLInputElement {
    return this.#input("hosts");
  }

  async #submit(): Promise<void> {
    const data = { hosts: this.hosts.value, command: this.#input("command").value };
    setText(this.#error, "");
    try {
      const res = await fetch("/api/run", {
        method: "POST",
        headers: { "content-type": "application/json", "x-tutti-token": this.#token },
        body: JSON.stringify(data),
      });
      const body: { error?: string } = await res.json();
      if (!res.ok) setText(this.#error, body.error || ("error " + res.status));
    } catch (e) {
      setText(this.#error, "could not reach the controller: " + (e as Error).message);
    }
  }

  #input(name: string): HTMLInputElement {
    const e = this.#form.elements.namedItem(name);
    if (!(e instanceof HTMLInputElement)) throw new Error(`the run form has no input ${name}`);
    return e;
  }
}
