/**
 * The Worker's own share of the meter: requests it answered (ingest, proxy and OTLP named
 * apart) and the D1 rows its routes and cron jobs write and read. Per isolate and in memory:
 * production runs many isolates and recycles them, so these figures are approximate (a lower
 * bound for the isolate that answers GET /v1/stats); the endpoint objects' counts, published to
 * D1, are the durable part of the meter.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/types";
import { CostMeter, type CostCounts } from "./counts";
import { meteredD1 } from "./d1";
import { meteredR2 } from "./r2";

/** This isolate's meter. */
export const workerMeter = new CostMeter();

/**
 * Which request counter a path adds to, besides `worker_requests`. Proxied requests are counted
 * by the proxy itself (`countProxied`): a host-routed one has no path of its own.
 */
export function requestKind(method: string, path: string): keyof CostCounts | null {
  if (method === "POST" && (path === "/v1/logs" || path === "/v1/logs/")) return "ingest_requests";
  if (path.startsWith("/v1/otlp/")) return "otlp_requests";
  return null;
}

/**
 * Counts the request and gives the routes a metered D1 (`c.env.DB`), so that the rows they
 * write and read are counted in this isolate's meter.
 */
export function meterRequests(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const kind = requestKind(c.req.method, c.req.path);
    workerMeter.add(kind ? { worker_requests: 1, [kind]: 1 } : { worker_requests: 1 });
    c.env = { ...c.env, DB: meteredD1(c.env.DB, workerMeter) };
    await next();
  };
}

/** `env` with a D1 (and, when bound, an R2 archive) that count into `meter`: for cron jobs. */
export function meteredEnv(env: Env, meter: CostMeter | undefined): Env {
  if (!meter) return env;
  return { ...env, DB: meteredD1(env.DB, meter), ...(env.ARCHIVE ? { ARCHIVE: meteredR2(env.ARCHIVE, meter) } : {}) };
}

/** Counts one proxied request (called by the proxy for path-prefixed and host-routed requests). */
export function countProxied(): void {
  workerMeter.add({ proxy_requests: 1 });
}
