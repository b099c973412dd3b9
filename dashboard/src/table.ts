/** Filtering and sorting of the overview's endpoint table. Pure. */
import type { EndpointRow, Health } from "../../src/api-types";

export const SORT_KEYS = [
  "service",
  "endpoint",
  "health",
  "health_score",
  "rpm",
  "error_rate",
  "p95",
  "silent",
  "action",
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = "asc" | "desc";

const HEALTH_RANK: Record<Health, number> = { NORMAL: 0, WARNING: 1, CRITICAL: 2 };
const ACTION_RANK: Record<string, number> = { CONTINUE: 0, RETRY: 1, REPROCESS: 2, ESCALATE: 3, HALT: 4 };

export function parseSort(value: string | undefined): { key: SortKey; dir: SortDir } {
  const [key, dir] = (value ?? "").split(":");
  const k = SORT_KEYS.find((s) => s === key);
  return k ? { key: k, dir: dir === "asc" ? "asc" : "desc" } : { key: "health", dir: "desc" };
}

function value(r: EndpointRow, key: SortKey): number | string {
  switch (key) {
    case "service":
      return r.service;
    case "endpoint":
      return `${r.route} ${r.method}`;
    case "health":
      return HEALTH_RANK[r.health] * 10 + r.severity_score;
    case "health_score":
      return r.health_score;
    case "rpm":
      return r.figures.requests_per_minute ?? -1;
    case "error_rate":
      return r.figures.error_rate ?? -1;
    case "p95":
      return r.figures.p95_ms ?? -1;
    case "silent":
      return r.figures.silent_failure_rate ?? -1;
    case "action":
      return ACTION_RANK[r.action] ?? -1;
  }
}

/** Rows sorted by `key`, ties by service then route then method (stable for equal rows). */
export function sortRows(rows: EndpointRow[], key: SortKey, dir: SortDir): EndpointRow[] {
  const sign = dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const va = value(a, key);
    const vb = value(b, key);
    const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb));
    if (c !== 0) return sign * c;
    return a.service.localeCompare(b.service) || a.route.localeCompare(b.route) || a.method.localeCompare(b.method);
  });
}

export interface RowFilter {
  q?: string;
  health?: string;
  service?: string;
}

/** Rows matching every filter: `q` a case-insensitive substring of "service METHOD route". */
export function filterRows(rows: EndpointRow[], f: RowFilter): EndpointRow[] {
  const q = (f.q ?? "").trim().toLowerCase();
  return rows.filter(
    (r) =>
      (!f.health || r.health === f.health.toUpperCase()) &&
      (!f.service || r.service === f.service) &&
      (!q || `${r.service} ${r.method} ${r.route}`.toLowerCase().includes(q)),
  );
}
