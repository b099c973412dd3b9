/**
 * `GET /v1/timeseries?service=&method=&route=&metric=&from=&to=&step=` (read key): one metric of
 * one endpoint as `[[t_ms, value|null], ...]`, at most MAX_POINTS points. Recent ranges come from
 * the endpoint object's windows (minute buckets for the last 6 h of its event time, hour buckets
 * for the last 3 days), older or longer ones from the D1 summaries (hours, or days when the step
 * is whole days). See plan.ts for the choice and series.ts for how buckets merge.
 */
import { and, asc, eq, gte, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { summaries } from "../db/schema";
import { parseSketch } from "../detect/sketch";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { defineRoute } from "../http/route";
import { endpointObject } from "../monitor/endpoint-object";
import { endpointParams } from "../http/filters";
import { epochOrIso } from "../query/logs-query";
import { DEFAULT_RANGE_MS, MAX_POINTS, planSeries, pointCount, type SourcePlan } from "./plan";
import { METRICS, needsSketch, rebucket, type Metric, type SourceBucket } from "./series";
import { DAY_MS, MINUTE_MS } from "../lib/time";

const UNIT_MS = { ms: 1, s: 1000, m: MINUTE_MS, h: 60 * MINUTE_MS, d: DAY_MS } as const;
const MAX_STEP_MS = 3650 * DAY_MS;

/**
 * Query of `GET /v1/timeseries`: the endpoint as `GET /v1/endpoints/:service/:method/:route` names
 * it (here unencoded), the metric, the range (default the last hour) and `step` in ms or with a
 * unit (`5m`, `1h`, `1d`), a whole number of minutes (default: the finest the source allows).
 */
export const timeseriesQuery = endpointParams.extend({
  metric: z.enum(METRICS),
  from: epochOrIso.optional(),
  to: epochOrIso.optional(),
  step: z
    .string()
    .regex(/^\d{1,13}(ms|s|m|h|d)?$/, "must be milliseconds or a duration such as 5m, 1h, 1d")
    .transform((s) => {
      const unit = (/[a-z]+$/.exec(s)?.[0] ?? "ms") as keyof typeof UNIT_MS;
      return Number.parseInt(s, 10) * UNIT_MS[unit];
    })
    .refine(
      (ms) => ms >= MINUTE_MS && ms <= MAX_STEP_MS && ms % MINUTE_MS === 0,
      "must be a whole number of minutes, from 1m to 3650d",
    )
    .optional(),
});

/** The answer of `GET /v1/timeseries` (documented in the OpenAPI document). */
export const timeseriesResponse = z.object({
  service: z.string(),
  method: z.string(),
  route: z.string(),
  metric: z.enum(METRICS),
  step_ms: z.number().int(),
  source: z.enum(["windows", "summaries"]),
  points: z.array(z.tuple([z.number().int(), z.number().nullable()])).max(MAX_POINTS),
});

const s = summaries;

/** The summary rows of one endpoint in the plan's range, as source buckets (sketches only for percentiles). */
async function summaryBuckets(
  db: D1Database,
  q: { service: string; method: string; route: string; metric: Metric },
  plan: SourcePlan,
): Promise<SourceBucket[]> {
  const where = and(
    eq(s.granularity, plan.grain === DAY_MS ? "day" : "hour"),
    eq(s.service, q.service),
    eq(s.method, q.method),
    eq(s.route, q.route),
    gte(s.bucketStart, plan.from),
    lt(s.bucketStart, plan.to),
  );
  const base = {
    start: s.bucketStart,
    count: s.count,
    status_4xx: s.status4xx,
    status_5xx: s.status5xx,
    silent_failures: s.silentFailures,
    max_ms: s.maxMs,
  };
  const d = drizzle(db);
  if (!needsSketch(q.metric)) return d.select(base).from(s).where(where).orderBy(asc(s.bucketStart)).all();
  const rows = await d
    .select({ ...base, sketch: s.sketch })
    .from(s)
    .where(where)
    .orderBy(asc(s.bucketStart))
    .all();
  return rows.map((r) => ({ ...r, sketch: parseSketch(r.sketch) }));
}

export const timeseriesApp = new Hono<AppEnv>();

defineRoute(
  timeseriesApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Endpoints",
    summary: "One metric of one endpoint as points, at most 1,000",
    description:
      "Recent ranges from the endpoint object's windows (minute buckets for the last 6 h of its event time, hours for 3 days), others from the D1 summaries. Percentiles across buckets: merged sketches for summaries; for windows the largest bucket percentile (exact when a step is one bucket, as the default step gives). 400 `too_many_points` when the step gives more than 1,000 points, `step_too_fine` when the source's buckets are coarser than the step.",
    request: { query: timeseriesQuery },
    responses: { 200: { description: "the series", schema: timeseriesResponse } },
  },
  async (c, { query: q }) => {
    const to = q.to ?? Date.now();
    const from = q.from ?? to - DEFAULT_RANGE_MS;
    if (from >= to) throw new ApiError(400, "invalid_request", "invalid query", ["from: must be before to"]);
    const step = q.step ?? null;
    if (step !== null && pointCount(from, to, step) > MAX_POINTS) {
      throw new ApiError(
        400,
        "too_many_points",
        `the step gives ${pointCount(from, to, step)} points over the range: at most ${MAX_POINTS}`,
        {
          max_points: MAX_POINTS,
          min_step_ms: Math.ceil((to - from) / (MAX_POINTS - 1) / MINUTE_MS) * MINUTE_MS,
        },
      );
    }
    const plan = planSeries(from, to, step);
    const windows = await endpointObject(c.env, q).series(plan.windows);
    const identity = { service: q.service, method: q.method, route: q.route, metric: q.metric };
    const chosen = windows.index === null ? undefined : plan.windows[windows.index];
    if (chosen) {
      return c.json({
        ...identity,
        step_ms: chosen.step,
        source: "windows" as const,
        points: rebucket(windows.points, chosen, q.metric),
      });
    }
    if ("error" in plan.summaries) {
      throw new ApiError(400, plan.summaries.error, plan.summaries.message, { watermark: windows.watermark });
    }
    const buckets = await summaryBuckets(c.env.DB, q, plan.summaries);
    return c.json({
      ...identity,
      step_ms: plan.summaries.step,
      source: "summaries" as const,
      points: rebucket(buckets, plan.summaries, q.metric),
    });
  },
);
