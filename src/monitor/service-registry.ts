/**
 * One Durable Object per service, keeping the service's distinct routes so that a client
 * sending ids in paths cannot create unbounded endpoints: past the cap, new routes are counted
 * under `/:other`. Routes no key vouches for (proxied traffic) are admitted only when the origin
 * showed they exist, at a bounded rate (see route-admission.ts); routes unused for the TTL are
 * forgotten. The ingest Worker caches answers per isolate and only asks here about routes it
 * has not seen (and about admitted ones about once a day, which is what keeps them alive).
 *
 * One more instance, named CATALOG_NAME (not a valid service name), is the catalog of the
 * services ingest created, capped at MAX_SERVICES, and of the caps reached (service-catalog.ts).
 *
 * The token bucket is kept as JSON in `meta`, parsed with zod: a bucket that does not parse is
 * logged and reset (a full burst, as for a new service), so that it cannot stop admission.
 */
import { DurableObject } from "cloudflare:workers";
import { OVERFLOW_ROUTE } from "../ingest/route-template";
import { parseStoredOrNull } from "../lib/stored-schema";
import { BucketSchema, refill, type AdmissionSettings, type Bucket, type RouteAsk } from "./route-admission";
import {
  admitServices,
  capReport,
  CATALOG_TABLES,
  noteCap,
  type CapKind,
  type CapReport,
  type ServiceAdmission,
} from "./service-catalog";

export const DEFAULT_MAX_ROUTES = 500;
/** The catalog instance's name: `#` cannot start a service name. */
export const CATALOG_NAME = "#catalog";
const SCHEMA_VERSION = 2;

export interface Admission {
  /** Route as sent -> route to count it under (itself, or `/:other`). */
  routes: Record<string, string>;
  /** A route was refused because the service holds its cap of routes. */
  cap_reached: boolean;
  /** An unvouched route that showed it exists was refused because the rate of new routes was spent. */
  rate_limited: boolean;
}

export class ServiceRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => this.migrate());
  }

  private migrate(): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
    const version = row ? Number(row.value) : 0;
    if (version === 1) {
      // Routes admitted before expiry existed get a full TTL from now.
      this.sql.exec("ALTER TABLE routes ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0");
      this.sql.exec("UPDATE routes SET last_seen_at = ?", Date.now());
    }
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS routes (route TEXT PRIMARY KEY, first_seen_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL)",
    );
    this.sql.exec("CREATE INDEX IF NOT EXISTS idx_routes_last_seen ON routes (last_seen_at)");
    for (const ddl of CATALOG_TABLES) this.sql.exec(ddl);
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", String(SCHEMA_VERSION));
  }

  /** Says which route each asked route is counted under, admitting the ones the rules allow. */
  async decide(asks: RouteAsk[], s: AdmissionSettings): Promise<Admission> {
    const now = s.now ?? Date.now();
    return this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM routes WHERE last_seen_at < ?", now - s.ttlMs);
      const out: Admission = { routes: {}, cap_reached: false, rate_limited: false };
      let count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM routes").one().n;
      let bucket: Bucket | null = null;
      for (const ask of asks) {
        const { route } = ask;
        if (route === OVERFLOW_ROUTE) {
          out.routes[route] = route;
          continue;
        }
        if (this.sql.exec("UPDATE routes SET last_seen_at = ? WHERE route = ?", now, route).rowsWritten > 0) {
          out.routes[route] = route;
          continue;
        }
        out.routes[route] = OVERFLOW_ROUTE;
        if (!ask.vouched && !ask.exists) continue;
        if (count >= s.maxRoutes) {
          out.cap_reached = true;
          continue;
        }
        if (!ask.vouched) {
          bucket = refill(bucket ?? this.loadBucket(), now, s);
          if (bucket.tokens < 1) {
            out.rate_limited = true;
            continue;
          }
          bucket.tokens -= 1;
        }
        this.sql.exec("INSERT INTO routes (route, first_seen_at, last_seen_at) VALUES (?, ?, ?)", route, now, now);
        count++;
        out.routes[route] = route;
      }
      if (bucket)
        this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('bucket', ?)", JSON.stringify(bucket));
      return out;
    });
  }

  private loadBucket(): Bucket | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'bucket'").toArray()[0];
    return row ? parseStoredOrNull(BucketSchema, "bucket", row.value) : null;
  }

  /** The admitted routes, oldest first. */
  async list(): Promise<string[]> {
    return this.sql
      .exec<{ route: string }>("SELECT route FROM routes ORDER BY first_seen_at, route")
      .toArray()
      .map((r) => r.route);
  }

  /** Catalog: admits new services up to `max`, counting the configured ones (always allowed). */
  async admitServices(names: string[], configured: string[], max: number, now = Date.now()): Promise<ServiceAdmission> {
    return this.ctx.storage.transactionSync(() => admitServices(this.sql, names, configured, max, now));
  }

  /** Catalog: notes that a cap was reached (shown by /health). */
  async noteCap(kind: CapKind, service: string, now = Date.now()): Promise<void> {
    noteCap(this.sql, kind, service, now);
  }

  /** Catalog: the caps reached recently, for /health. */
  async caps(configured: string[], max: number, now = Date.now()): Promise<CapReport> {
    return capReport(this.sql, configured, max, now);
  }
}
