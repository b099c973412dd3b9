/** The query of `GET /v1/logs` from the explorer's filters, and back. Pure. */

/** Every filter of GET /v1/logs, in the order the form shows them. */
export const LOG_FILTERS = [
  "service",
  "method",
  "route",
  "status",
  "from",
  "to",
  "min_latency_ms",
  "q",
  "limit",
] as const;
export type LogFilter = (typeof LOG_FILTERS)[number];
export type LogFilters = Partial<Record<LogFilter, string>>;

/** The filters present in a hash query (unknown keys dropped, blanks dropped, method upper-cased). */
export function filtersFromQuery(query: Record<string, string>): LogFilters {
  const out: LogFilters = {};
  for (const name of LOG_FILTERS) {
    const v = query[name]?.trim();
    if (v) out[name] = name === "method" ? v.toUpperCase() : v;
  }
  return out;
}

/**
 * A `datetime-local` value (local time, no zone) as ISO 8601 UTC for the API; ISO strings and
 * epoch ms pass through. Null when it is no time at all.
 */
export function toApiTime(value: string): string | null {
  const v = value.trim();
  if (/^\d{10,16}$/.test(v)) return v;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/** The API path for a page of logs: the filters, then the cursor of the page. */
export function logsPath(filters: LogFilters, cursor: string | null): string {
  const params = new URLSearchParams();
  for (const name of LOG_FILTERS) {
    const v = filters[name];
    if (!v) continue;
    if (name === "from" || name === "to") {
      const t = toApiTime(v);
      if (t) params.set(name, t);
    } else params.set(name, v);
  }
  if (cursor) params.set("cursor", cursor);
  const qs = params.toString();
  return `/v1/logs${qs ? `?${qs}` : ""}`;
}

/** New records of a live poll, newest first, that are not in `seen` (by log_id). */
export function newRecords<T extends { log_id: string }>(polled: T[], seen: Set<string>): T[] {
  return polled.filter((r) => !seen.has(r.log_id));
}

/** Whether a record passes the filters a live tail can check on its own (GET /v1/logs/live has none). */
export function matchesFilters(
  r: { service: string; method: string; route: string; status: number; latency_ms: number; error: string | null },
  f: LogFilters,
): boolean {
  if (f.service && r.service !== f.service) return false;
  if (f.method && r.method !== f.method) return false;
  if (f.route && r.route !== f.route) return false;
  if (f.status) {
    const m = /^([1-5])xx$/i.exec(f.status);
    if (m ? Math.floor(r.status / 100) !== Number(m[1]) : String(r.status) !== f.status) return false;
  }
  if (f.min_latency_ms && r.latency_ms < Number(f.min_latency_ms)) return false;
  if (f.q && !(r.error ?? "").toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}
