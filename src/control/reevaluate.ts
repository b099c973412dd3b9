/**
 * `POST /v1/control/re-evaluate?lookback_minutes=N[&service=&method=&route=]`
 * recomputes the windows, baselines, health and incidents of one endpoint, a service's or all
 * endpoints from the logs in D1 over the last N minutes of event time (at most 3 days).
 */
import { and, eq, gte, max, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { requestLogs } from "../db/schema";
import { endpointFilterFields } from "../http/filters";
import { log } from "../http/log";
import type { AppEnv } from "../http/types";
import { parseOr400 } from "../http/validate";
import { endpointName } from "../ingest/record";
import { MAX_LOOKBACK_MINUTES } from "../monitor/reevaluate";

export const reevaluateQuery = z.object({
  lookback_minutes: z.coerce.number().int().min(1).max(MAX_LOOKBACK_MINUTES).default(60),
  ...endpointFilterFields,
});

/** At most this many endpoints per call, re-evaluated this many at a time. */
const MAX_ENDPOINTS = 1000;
const CONCURRENCY = 6;

export const reevaluateApp = new Hono<AppEnv>().post("/re-evaluate", async (c) => {
  const q = parseOr400(reevaluateQuery, c.req.query());
  const d = drizzle(c.env.DB);
  const t = requestLogs;
  const scope: SQL[] = [];
  if (q.service !== undefined) scope.push(eq(t.service, q.service));
  if (q.method !== undefined) scope.push(eq(t.method, q.method));
  if (q.route !== undefined) scope.push(eq(t.route, q.route));
  const newest = (await d.select({ at: max(t.timestamp) }).from(t).where(and(...scope)).get())?.at ?? null;
  const endpoints =
    newest === null
      ? []
      : await d
          .selectDistinct({ service: t.service, method: t.method, route: t.route })
          .from(t)
          .where(and(...scope, gte(t.timestamp, newest - q.lookback_minutes * 60_000)))
          .limit(MAX_ENDPOINTS)
          .all();
  // One endpoint failing does not fail the others: each answers with its result or its error.
  const results: Record<string, unknown>[] = [];
  for (let i = 0; i < endpoints.length; i += CONCURRENCY) {
    const slice = endpoints.slice(i, i + CONCURRENCY);
    const settled = await Promise.allSettled(
      slice.map(async (e) => {
        const ns = c.env.ENDPOINT_MONITOR;
        return ns.get(ns.idFromName(endpointName(e))).reevaluate(q.lookback_minutes, e);
      }),
    );
    settled.forEach((outcome, j) => {
      const e = slice[j];
      if (!e) return;
      if (outcome.status === "fulfilled") results.push({ ...e, ...outcome.value });
      else {
        const message = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        log("error", "reevaluate_failed", { ...e, message });
        results.push({ ...e, error: message });
      }
    });
  }
  return c.json({ lookback_minutes: q.lookback_minutes, failed: results.filter((r) => "error" in r).length, endpoints: results });
});
