/**
 * The endpoint page's "Who and where" section: the top consumers and the top locations (the
 * records' `region`: the proxy's Cloudflare colo) over the page's range, from
 * `GET /v1/endpoints/.../breakdown` (top 20 plus "other").
 */
import { h } from "../dom";
import { formatCount, formatMs, formatPercent } from "../format";
import type { RangeKey } from "../series";

export interface BreakdownGroup {
  name: string | null;
  requests: number;
  status_5xx: number;
  silent_failures: number;
  error_rate: number | null;
  p95_ms: number | null;
}

export interface BreakdownTable {
  top: BreakdownGroup[];
  other: BreakdownGroup;
  total: BreakdownGroup;
}

export interface BreakdownAnswer {
  window: string;
  consumers: BreakdownTable;
  locations: BreakdownTable;
}

/** The breakdown window for a page range (the objects keep 3 days: 7 d shows the last 72 h). */
export function breakdownWindow(range: RangeKey): string {
  return range === "7d" ? "72h" : range;
}

function table(label: string, t: BreakdownTable, unnamed: string): HTMLElement {
  if (t.total.requests === 0) return h("p", { class: "muted" }, `No ${label.toLowerCase()} recorded in this range.`);
  const rows = [
    ...t.top.map((g) => ({ ...g, label: g.name ?? unnamed })),
    ...(t.other.requests > 0 ? [{ ...t.other, label: "other" }] : []),
  ];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "data-breakdown": label.toLowerCase() },
      h("caption", null, label),
      h("thead", null, h("tr", null, ...["Name", "Requests", "5xx %", "p95"].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        ...rows.map((g) =>
          h(
            "tr",
            null,
            h("td", null, g.label),
            h("td", { class: "num" }, formatCount(g.requests)),
            h("td", { class: (g.error_rate ?? 0) >= 0.05 ? "num bad" : "num" }, formatPercent(g.error_rate)),
            h("td", { class: "num" }, formatMs(g.p95_ms)),
          ),
        ),
      ),
    ),
  );
}

/** Both tables, side by side. */
export function breakdownSection(b: BreakdownAnswer, rangeLabel: string): HTMLElement[] {
  return [
    h("h2", { id: "who-h" }, `Who and where (${rangeLabel})`),
    h(
      "div",
      { class: "breakdowns" },
      table("Consumers", b.consumers, "(not named)"),
      table("Locations", b.locations, "(unknown)"),
    ),
    h(
      "p",
      { class: "hint" },
      "Top 20 per table; the rest is counted in \"other\". Locations are the records' region (the proxy's Cloudflare colo).",
    ),
  ];
}
