/**
 * One Durable Object per service, keeping the service's distinct routes so that a client
 * sending ids in paths cannot create unbounded endpoints: past the cap, new routes are counted
 * under `/:other`. The ingest Worker caches admitted routes per isolate and only asks here
 * about routes it has not seen.
 */
import { DurableObject } from "cloudflare:workers";
import { OVERFLOW_ROUTE } from "../ingest/route-template";

export const DEFAULT_MAX_ROUTES = 500;
const SCHEMA_VERSION = 1;

export interface Admission {
  /** Route as sent -> route to count it under (itself, or `/:other` past the cap). */
  routes: Record<string, string>;
}

export class ServiceRegistry extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      this.sql.exec("CREATE TABLE IF NOT EXISTS routes (route TEXT PRIMARY KEY, first_seen_at INTEGER NOT NULL)");
      this.sql.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", String(SCHEMA_VERSION));
    });
  }

  /** Admits routes up to the cap and says which one each route is counted under. */
  async admit(routes: string[], maxRoutes: number): Promise<Admission> {
    return this.ctx.storage.transactionSync(() => {
      const out: Record<string, string> = {};
      let count = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM routes").one().n;
      for (const route of routes) {
        if (route === OVERFLOW_ROUTE) {
          out[route] = route;
          continue;
        }
        const known = this.sql.exec("SELECT 1 FROM routes WHERE route = ?", route).toArray().length > 0;
        if (known) {
          out[route] = route;
        } else if (count < maxRoutes) {
          this.sql.exec("INSERT INTO routes (route, first_seen_at) VALUES (?, ?)", route, Date.now());
          count++;
          out[route] = route;
        } else {
          out[route] = OVERFLOW_ROUTE;
        }
      }
      return { routes: out };
    });
  }

  /** The admitted routes, oldest first. */
  async list(): Promise<string[]> {
    return this.sql
      .exec<{ route: string }>("SELECT route FROM routes ORDER BY first_seen_at, route")
      .toArray()
      .map((r) => r.route);
  }
}
