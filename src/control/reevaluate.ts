/**
 * `POST /v1/control/re-evaluate?lookback_minutes=N[&service=&method=&route=][&source=d1|archive]`
 * recomputes the windows, baselines, health and incidents of one endpoint, a service's or all
 * endpoints from the logs in D1 over the last N minutes of event time (at most 3 days). With
 * `source=archive` the records come from the R2 archive instead (the service's hour objects,
 * filtered by method and route); the endpoint must then be named in full, since the archive has
 * no index of a service's endpoints.
 */
import { and, eq, gte, max, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { requestLogs } from "../db/schema";
import { ApiError } from "../http/errors";
import { endpointFilterFields } from "../http/filters";
import { log } from "../lib/log";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { endpointObject } from "../monitor/endpoint-object";
import { MAX_LOOKBACK_MINUTES } from "../monitor/reevaluate";
import { errorMessage } from "../lib/errors";
import { reevaluateAnswerSchema } from "./answer-schemas";

export const reevaluateQuery = z.object({
  lookback_minutes: z.coerce.number().int().min(1).max(MAX_LOOKBACK_MINUTES).default(60),
  ...endpointFilterFields,
  source: z
    .enum(["d1", "archive"])
    .default("d1")
    .describe("where the records are read: D1's raw rows or the R2 archive"),
});

/** At most this many endpoints per call, re-evaluated this many at a time. */
const MAX_ENDPOINTS = 1000;
const CONCURRENCY = 6;

export const reevaluateApp = new Hono<AppEnv>();

defineRoute(
  reevaluateApp,
  {
    method: "POST",
    path: "/re-evaluate",
    key: "admin",
    tag: "Control",
    summary:
      "Rebuild windows, baselines, health and incidents from the logs in D1 (or the R2 archive: `source=archive`, one endpoint named in full)",
    request: { query: reevaluateQuery },
    responses: { 200: { description: "each endpoint's result or error", schema: reevaluateAnswerSchema } },
  },
  async (c, { query: q }) => {
    const endpoints = q.source === "archive" ? [archiveEndpoint(q)] : await d1Endpoints(c.env.DB, q);
    // One endpoint failing does not fail the others: each answers with its result or its error.
    const results: Record<string, unknown>[] = [];
    for (let i = 0; i < endpoints.length; i += CONCURRENCY) {
      const slice = endpoints.slice(i, i + CONCURRENCY);
      const settled = await Promise.allSettled(
        slice.map(async (e) => {
          return endpointObject(c.env, e).reevaluate(q.lookback_minutes, e, q.source);
        }),
      );
      settled.forEach((outcome, j) => {
        const e = slice[j];
        if (!e) return;
        if (outcome.status === "fulfilled") results.push({ ...e, ...outcome.value });
        else {
          const message = errorMessage(outcome.reason);
          log("error", "reevaluate_failed", { ...e, message });
          results.push({ ...e, error: message });
        }
      });
    }
    return c.json({
      lookback_minutes: q.lookback_minutes,
      source: q.source,
      failed: results.filter((r) => "error" in r).length,
      endpoints: results,
    });
  },
);

type ReevaluateQuery = z.output<typeof reevaluateQuery>;
type EndpointIdentity = { service: string; method: string; route: string };

/** The endpoints with logs in D1 within the lookback of the newest log in scope. */
async function d1Endpoints(db: D1Database, q: ReevaluateQuery): Promise<EndpointIdentity[]> {
  const d = drizzle(db);
  const t = requestLogs;
  const scope: SQL[] = [];
  if (q.service !== undefined) scope.push(eq(t.service, q.service));
  if (q.method !== undefined) scope.push(eq(t.method, q.method));
  if (q.route !== undefined) scope.push(eq(t.route, q.route));
  // Within the longest look-back: the raw table has no service index, and an unbounded max() over
  // a service with no rows would read the whole table.
  const newest =
    (
      await d
        .select({ at: max(t.timestamp) })
        .from(t)
        .where(and(...scope, gte(t.timestamp, Date.now() - MAX_LOOKBACK_MINUTES * 60_000)))
        .get()
    )?.at ?? null;
  if (newest === null) return [];
  return d
    .selectDistinct({ service: t.service, method: t.method, route: t.route })
    .from(t)
    .where(and(...scope, gte(t.timestamp, newest - q.lookback_minutes * 60_000)))
    .limit(MAX_ENDPOINTS)
    .all();
}

/** The one endpoint a re-evaluation from the archive replays: service, method and route are required. */
function archiveEndpoint(q: ReevaluateQuery): EndpointIdentity {
  const missing = (["service", "method", "route"] as const).filter((k) => q[k] === undefined);
  if (q.service === undefined || q.method === undefined || q.route === undefined) {
    throw new ApiError(
      400,
      "invalid_request",
      "invalid query",
      missing.map((k) => `${k}: required with source=archive`),
    );
  }
  return { service: q.service, method: q.method, route: q.route };
}
