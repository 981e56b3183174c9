/// <reference lib="dom" />
/**
 * The few DOM helpers the page needs. Text always goes in through
 * `textContent` or an SVG attribute, never as HTML.
 */

/** The element with this id; the page's markup (page.ts) has every one the script uses. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no #${id}`);
  return e as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string | null,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** Writes only when the text changed: no needless layout, and a selection survives. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** Host names in natural order: `n-2` before `n-10`. */
export function byHost(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}

/** Inserts (or moves) child into parent before the first sibling whose key sorts after it. */
export function insertSorted(
  parent: HTMLElement,
  child: HTMLElement,
  key: string,
  cmp: (a: string, b: string) => number,
): void {
  child.dataset.sortKey = key;
  let next: Element | null = null;
  for (const c of parent.children) {
    if (c !== child && cmp((c as HTMLElement).dataset.sortKey || "", key) > 0) {
      next = c;
      break;
    }
  }
  parent.insertBefore(child, next);
}
