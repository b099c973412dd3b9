/**
 * The catalog of services (run inside the ServiceRegistry instance named CATALOG_NAME): the
 * services ingest created, capped at MAX_SERVICES together with the configured ones (which are
 * always allowed and never stored here), and the caps reached in the last day, for /health.
 * Plain functions over the object's SQLite; the object calls them inside its transactions.
 */

export const DEFAULT_MAX_SERVICES = 1000;
/** A cap reached longer ago than this is no longer reported. */
export const CAP_REPORT_WINDOW_MS = 24 * 60 * 60 * 1000;
const MAX_REPORTED = 100;

/** `routes`: a service's route cap refused a route; `rate`: the rate of new proxied routes was spent; `services`: MAX_SERVICES refused a service. */
export type CapKind = "routes" | "rate" | "services";

export const CATALOG_TABLES = [
  "CREATE TABLE IF NOT EXISTS services (name TEXT PRIMARY KEY, first_seen_at INTEGER NOT NULL)",
  "CREATE TABLE IF NOT EXISTS cap_events (kind TEXT NOT NULL, service TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (kind, service))",
];

export interface ServiceAdmission {
  /** Names refused because the cap is reached. */
  refused: string[];
  /** Services counted against the cap after this call (configured + created by ingest). */
  count: number;
}

export interface CapReport {
  services: { max: number; count: number; reached: boolean; refused_at: number | null };
  /** Services whose route cap refused a route in the last day. */
  route_cap_reached: { service: string; at: number }[];
  /** Services whose rate of new proxied routes was spent in the last day. */
  route_rate_limited: { service: string; at: number }[];
}

function counted(sql: SqlStorage, configured: readonly string[]): number {
  const stored = sql.exec<{ n: number }>("SELECT count(*) AS n FROM services").one().n;
  // A service stored here that was configured later is counted once.
  const overlap = configured.filter(
    (name) => sql.exec("SELECT 1 FROM services WHERE name = ?", name).toArray().length > 0,
  ).length;
  return stored - overlap + configured.length;
}

/** Admits the names up to `max` services in all; configured names always pass. */
export function admitServices(
  sql: SqlStorage,
  names: readonly string[],
  configured: readonly string[],
  max: number,
  now: number,
): ServiceAdmission {
  const known = new Set(configured);
  let count = counted(sql, configured);
  const refused: string[] = [];
  for (const name of new Set(names)) {
    if (known.has(name) || sql.exec("SELECT 1 FROM services WHERE name = ?", name).toArray().length > 0) continue;
    if (count >= max) {
      refused.push(name);
      continue;
    }
    sql.exec("INSERT INTO services (name, first_seen_at) VALUES (?, ?)", name, now);
    count++;
  }
  if (refused.length > 0) noteCap(sql, "services", "", now);
  return { refused, count };
}

/** Records that a cap was reached now (one row per kind and service, pruned after a day). */
export function noteCap(sql: SqlStorage, kind: CapKind, service: string, now: number): void {
  sql.exec("DELETE FROM cap_events WHERE at < ?", now - CAP_REPORT_WINDOW_MS);
  sql.exec("INSERT OR REPLACE INTO cap_events (kind, service, at) VALUES (?, ?, ?)", kind, service, now);
}

/** The caps reached in the last day and the count of services against MAX_SERVICES. */
export function capReport(sql: SqlStorage, configured: readonly string[], max: number, now: number): CapReport {
  const since = now - CAP_REPORT_WINDOW_MS;
  const events = (kind: CapKind) =>
    sql
      .exec<{ service: string; at: number }>(
        "SELECT service, at FROM cap_events WHERE kind = ? AND at >= ? ORDER BY at DESC, service LIMIT ?",
        kind,
        since,
        MAX_REPORTED,
      )
      .toArray()
      .map((r) => ({ service: r.service, at: r.at }));
  const count = counted(sql, configured);
  return {
    services: { max, count, reached: count >= max, refused_at: events("services")[0]?.at ?? null },
    route_cap_reached: events("routes"),
    route_rate_limited: events("rate"),
  };
}
