/**
 * A tiny element builder: every text goes in through text nodes (never innerHTML), so log
 * fields, error messages and route names from the API cannot inject markup.
 */

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, AttrValue>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  parent.appendChild(
    typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child,
  );
}

/** `h("a", {href: "#/"}, "Overview")`: attributes (`on*` are listeners, booleans toggle) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(name.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(v));
  }
  append(el, children);
  return el;
}

/** Replaces the children of `el`. */
export function put(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A health (or severity) badge whose text carries the meaning, not only its colour. */
export function badge(level: string): HTMLSpanElement {
  return h("span", { class: `badge badge-${level.toLowerCase()}` }, level);
}

/** A message box: `info` for empty states, `error` for failures. */
export function notice(kind: "info" | "error", ...children: Child[]): HTMLDivElement {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** A value of a form field by name. */
export function field(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  if (el instanceof HTMLInputElement && el.type === "checkbox") return el.checked ? "true" : "";
  return el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement
    ? el.value.trim()
    : "";
}

/** A labelled form control. */
export function labelled(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h(
    "label",
    { class: "field" },
    h("span", { class: "field-label" }, label),
    control,
    hint ? h("span", { class: "hint" }, hint) : null,
  );
}

/** A `<select>` with options [value, text]. */
export function select(
  name: string,
  options: [string, string][],
  value: string | undefined,
  attrs: Attrs = {},
): HTMLSelectElement {
  return h(
    "select",
    { name, ...attrs },
    ...options.map(([v, text]) => h("option", { value: v, selected: v === (value ?? "") }, text)),
  );
}
