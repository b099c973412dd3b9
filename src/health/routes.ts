/**
 * Health: `/health` (status, version, time), `/health/live` (no I/O), `/health/ready` and
 * `/health/db` (D1 reachable and every migration applied).
 */
import { Hono } from "hono";
import { switches, switchesKnown } from "../control/switches";
import { keysFor, matchesAnyKey } from "../auth/keys";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { capsReport } from "../ingest/caps";
import { ingestCounters } from "../ingest/counters";
import { inFlightRecords, maxInFlight } from "../ingest/in-flight";
import { storageState } from "../ingest/storage-state";
import { admissionSettings } from "../monitor/route-admission";
import { DEFAULT_MAX_ROUTES } from "../monitor/service-registry";
import { serviceDirectory } from "../services/store";
import { currentD1Size } from "../cost/d1-size";
import { rawLogsState } from "../storage/policy";
import { workerMeter } from "../cost/worker";
import { checkDb, VERSION } from "./checks";
import { DAY_MS } from "../lib/time";
import { dbSchema, healthStatusSchema, liveSchema, readySchema } from "./public-schemas";

/** True when the request carries a read or admin key: only then does /health name services. */
async function mayReadNames(env: Env, authorization: string | undefined): Promise<boolean> {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  const { keys } = keysFor(env, "read");
  return token !== undefined && keys.length > 0 && (await matchesAnyKey(token, keys));
}

/**
 * The cardinality caps and the ones reached in the last day (`reached` true when any was):
 * MAX_SERVICES, the route cap per service and the rate of new proxied routes. `known` false:
 * the catalog could not be read. Services are named only for a read or admin key (/health is
 * public; an ingest-only service's name is not).
 */
async function capsStatus(env: Env, waitUntil: (p: Promise<unknown>) => void, names: boolean) {
  const iso = (e: { service: string; at: number }) => ({
    ...(names ? { service: e.service } : {}),
    at: new Date(e.at).toISOString(),
  });
  const s = admissionSettings(env, DEFAULT_MAX_ROUTES);
  const limits = {
    max_routes_per_service: s.maxRoutes,
    route_ttl_days: s.ttlMs / DAY_MS,
    proxy_routes_per_hour: s.ratePerHour,
    proxy_routes_burst: s.burst,
  };
  const configured = [...(await serviceDirectory(env, waitUntil)).byName.keys()];
  const report = await capsReport(env, configured);
  if (!report) return { known: false, reached: false, ...limits };
  return {
    known: true,
    reached: report.services.reached || report.route_cap_reached.length > 0 || report.route_rate_limited.length > 0,
    ...limits,
    services: {
      ...report.services,
      refused_at: report.services.refused_at === null ? null : new Date(report.services.refused_at).toISOString(),
    },
    route_cap_reached: report.route_cap_reached.map(iso),
    route_rate_limited: report.route_rate_limited.map(iso),
  };
}

export const healthApp = new Hono<AppEnv>();

defineRoute(
  healthApp,
  {
    method: "GET",
    path: "/",
    key: "none",
    tag: "Health",
    summary: "Status, version, time, this isolate's ingest counters, the switches and the cardinality caps reached",
    responses: { 200: { description: "ok", schema: healthStatusSchema } },
  },
  async (c) => {
    const storage = storageState();
    const size = await currentD1Size(c.env.DB, workerMeter, c.env.D1_MAX_BYTES);
    return c.json({
      // "degraded": D1 refuses writes for capacity; records are kept in the endpoint objects meanwhile.
      status: storage.storage === "full" ? "degraded" : "ok",
      version: VERSION,
      time: new Date().toISOString(),
      ...storage,
      // in_flight_records: accepted records whose background hand-off has not settled (this isolate).
      ingest: { ...ingestCounters, in_flight_records: inFlightRecords(), max_in_flight_records: maxInFlight(c.env) },
      // The operator's switches (cached for a few seconds); `switches_known` false: D1 could not be read.
      switches: await switches(c.env.DB),
      switches_known: switchesKnown(),
      caps: await capsStatus(
        c.env,
        (p) => c.executionCtx.waitUntil(p),
        await mayReadNames(c.env, c.req.header("Authorization")),
      ),
      // D1's size against D1_MAX_BYTES (ok, high from 80%, full at it; unknown: never measured).
      d1_size: size,
      // Raw rows to D1: "normal", "sampling_harder" (past 80%: one plain success per endpoint and minute), "stopped" (at the cap).
      raw_logs: rawLogsState(size.state),
    });
  },
);

defineRoute(
  healthApp,
  {
    method: "GET",
    path: "/live",
    key: "none",
    tag: "Health",
    summary: "Liveness (no I/O)",
    responses: { 200: { description: "ok", schema: liveSchema } },
  },
  (c) => c.json({ status: "ok" }),
);

defineRoute(
  healthApp,
  {
    method: "GET",
    path: "/ready",
    key: "none",
    tag: "Health",
    summary: "Readiness: D1 reachable and the latest migration applied",
    responses: { 200: { description: "ready", schema: readySchema }, 503: { description: "not ready" } },
  },
  async (c) => {
    const db = await checkDb(c.env.DB);
    return c.json({ status: db.ok ? "ok" : "unavailable", checks: { db } }, db.ok ? 200 : 503);
  },
);

defineRoute(
  healthApp,
  {
    method: "GET",
    path: "/db",
    key: "none",
    tag: "Health",
    summary: "D1 reachable and the latest migration applied",
    responses: { 200: { description: "ok", schema: dbSchema }, 503: { description: "D1 unreachable or not migrated" } },
  },
  async (c) => {
    const db = await checkDb(c.env.DB);
    return c.json({ status: db.ok ? "ok" : "unavailable", ...db }, db.ok ? 200 : 503);
  },
);
