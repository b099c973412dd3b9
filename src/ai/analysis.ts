/**
 * `POST /v1/analysis` (read key): what changed over a time range. Deterministic findings first,
 * from the hourly summaries (each endpoint over the lookback against the same length before it),
 * the incidents of the range and the endpoints unhealthy now; then, when Workers AI answers, a
 * narrative over those findings only. The severity is the findings' and nothing the model says
 * changes it; without a model the narrative is null and the recommendations are deterministic.
 *
 * Percentiles come from the summaries' latency sketches merged in SQLite (the buckets of every
 * hour summed by index, as the daily roll-up does), never from averages of hourly percentiles.
 */
import { and, eq, gte, lte, ne, or, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { endpointHealth, incidents } from "../db/schema";
import { DEFAULT_DETECTION } from "../detect/config";
import { LatencySketch } from "../detect/sketch";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { analysisSchema } from "./analysis-schema";
import { analyse, analysisRange, deterministicRecommendations, type PeriodFigures } from "./findings";
import { AI_NARRATIVE_JSON_SCHEMA, aiNarrativeSchema, analysisPrompt } from "./prompt";
import { askJson } from "./run";
import { MERGED_BUCKETS_SQL, SKETCH_ZERO_SQL } from "../summaries/sql";
import { loadDeploy } from "../deploys/store";
import { ApiError } from "../http/errors";
import { HOUR_MS } from "../lib/time";

/** The periods around a deploy at `at`: after is from the deploy's hour to `to`, before as many whole hours just before it. */
function deployRange(at: number, to: number): { from: number; to: number; beforeFrom: number; beforeTo: number } {
  const from = Math.floor(at / HOUR_MS) * HOUR_MS;
  const span = Math.max(HOUR_MS, Math.ceil((to - from) / HOUR_MS) * HOUR_MS);
  return { from, to, beforeFrom: from - span, beforeTo: from };
}

export const analysisBody = z.strictObject({
  lookback_minutes: z.number().int().min(1).max(10_080),
  service: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 . _ -")
    .optional(),
  focus: z.string().trim().min(1).max(200).optional(),
  /** Compare the `lookback_minutes` after this deploy (from the hour it happened in) with as long before it; `service` defaults to the deploy's. */
  deploy_id: z
    .string()
    .regex(/^dep_[a-z0-9_]{1,40}$/)
    .optional(),
});
export type AnalysisRequest = z.output<typeof analysisBody>;

const NARRATIVE_MAX_TOKENS = 700;
/** Endpoints compared per period at most (rows of one grouped statement). */
const MAX_ENDPOINTS = 2000;

/**
 * One period of every endpoint, from its hourly rows: totals and the merged latency buckets.
 * Sums are total()s and malformed sketches are left out (as in the daily roll-up), so rows stored
 * with extreme values cannot make the statement fail.
 */
function periodSql(withService: boolean): string {
  return `
WITH hours AS MATERIALIZED (
  SELECT * FROM summaries
  WHERE granularity = 'hour' AND bucket_start >= ? AND bucket_start < ?${withService ? " AND service = ?" : ""}
), totals AS (
  SELECT service, method, route, total(count) AS count, total(status_5xx) AS s5, total(silent_failures) AS silent,
    total(inconsistent) AS inconsistent, max(max_ms) AS max_ms, total(${SKETCH_ZERO_SQL}) AS zero
  FROM hours GROUP BY service, method, route
), merged AS (${MERGED_BUCKETS_SQL}
)
SELECT t.*, coalesce(m.buckets, '[]') AS buckets
FROM totals t LEFT JOIN merged m ON m.service = t.service AND m.method = t.method AND m.route = t.route
ORDER BY t.count DESC
LIMIT ${MAX_ENDPOINTS}`;
}

interface PeriodRow {
  service: string;
  method: string;
  route: string;
  count: number;
  s5: number;
  silent: number;
  inconsistent: number;
  max_ms: number | null;
  zero: number | null;
  buckets: string;
}

function toFigures(r: PeriodRow): PeriodFigures {
  const sketch = LatencySketch.fromBuckets(JSON.parse(r.buckets) as [number, number][], {
    zeroCount: r.zero ?? 0,
    max: r.max_ms ?? undefined,
  });
  const total = sketch.count;
  return {
    service: r.service,
    method: r.method,
    route: r.route,
    count: r.count,
    status_5xx: r.s5,
    silent: r.silent,
    inconsistent: r.inconsistent,
    p95_ms: sketch.quantile(0.95),
    slow_share: total === 0 ? null : 1 - sketch.countAtOrBelow(DEFAULT_DETECTION.slo.latency_ms) / total,
  };
}

/** Findings, severity, and the AI narrative when there is one, for a validated request. */
export async function analyseRange(
  env: Env,
  request: AnalysisRequest,
  opts: { now?: number; timeoutMs?: number } = {},
) {
  const deploy = request.deploy_id === undefined ? null : await loadDeploy(env.DB, request.deploy_id);
  if (request.deploy_id !== undefined && !deploy)
    throw new ApiError(404, "deploy_not_found", `no deploy ${request.deploy_id}`);
  const req = deploy ? { ...request, service: request.service ?? deploy.service } : request;
  const wallNow = opts.now ?? Date.now();
  // Around a deploy: "now" is the end of the lookback after it (never past the wall clock).
  const now = deploy
    ? Math.min(wallNow, Math.floor(deploy.at / HOUR_MS) * HOUR_MS + req.lookback_minutes * 60_000)
    : wallNow;
  const range = deploy ? deployRange(deploy.at, now) : analysisRange(now, req.lookback_minutes);
  const period = (from: number, to: number) => {
    const stmt = env.DB.prepare(periodSql(req.service !== undefined));
    return req.service === undefined ? stmt.bind(from, to) : stmt.bind(from, to, req.service);
  };
  const d = drizzle(env.DB);
  const incidentConditions: (SQL | undefined)[] = [
    lte(incidents.openedAt, now),
    or(eq(incidents.status, "open"), gte(incidents.resolvedAt, now - req.lookback_minutes * 60_000)),
  ];
  const healthConditions: (SQL | undefined)[] = [
    ne(endpointHealth.health, "NORMAL"),
    gte(endpointHealth.evaluatedAt, range.beforeFrom),
  ];
  if (req.service !== undefined) {
    incidentConditions.push(eq(incidents.service, req.service));
    healthConditions.push(eq(endpointHealth.service, req.service));
  }
  const [before, after] = await env.DB.batch<PeriodRow>([
    period(range.beforeFrom, range.beforeTo),
    period(range.from, range.to + 1),
  ]);
  const [incidentRows, healthRows] = await d.batch([
    d
      .select({
        id: incidents.id,
        service: incidents.service,
        method: incidents.method,
        route: incidents.route,
        severity: incidents.severity,
        status: incidents.status,
        opened_at: incidents.openedAt,
        resolved_at: incidents.resolvedAt,
        explanation: incidents.explanation,
      })
      .from(incidents)
      .where(and(...incidentConditions))
      .limit(200),
    d
      .select({
        service: endpointHealth.service,
        method: endpointHealth.method,
        route: endpointHealth.route,
        health: endpointHealth.health,
        health_score: endpointHealth.healthScore,
      })
      .from(endpointHealth)
      .where(and(...healthConditions))
      .limit(500),
  ]);

  const { findings, severity, coverage } = analyse({
    before: (before?.results ?? []).map(toFigures),
    after: (after?.results ?? []).map(toFigures),
    beforeMinutes: (range.beforeTo - range.beforeFrom) / 60_000,
    afterMinutes: Math.max(1, (range.to - range.from) / 60_000),
    incidents: incidentRows,
    health: healthRows,
  });

  const prompt = analysisPrompt({ findings, severity, lookbackMinutes: req.lookback_minutes, focus: req.focus });
  const ai = await askJson(env, {
    ...prompt,
    schema: aiNarrativeSchema,
    jsonSchema: AI_NARRATIVE_JSON_SCHEMA,
    maxTokens: NARRATIVE_MAX_TOKENS,
    timeoutMs: opts.timeoutMs,
  });
  const narrative = ai.value;
  return {
    range: { from: range.from, to: range.to, before_from: range.beforeFrom, before_to: range.beforeTo },
    deploy,
    findings,
    narrative: narrative?.narrative ?? null,
    recommendations: narrative?.recommendations ?? deterministicRecommendations(findings),
    // The deterministic one; the model's reading never moves it.
    severity,
    // How much of the traffic could be compared; the narrative cannot be surer than its data.
    confidence: Math.round(Math.min(coverage, narrative?.confidence ?? 1) * 100) / 100,
    ai_status: ai.status,
    ai_model: ai.model,
    ai_error: ai.error,
  };
}

export const analysisApp = new Hono<AppEnv>();

defineRoute(
  analysisApp,
  {
    method: "POST",
    path: "/",
    key: "read",
    tag: "Incidents",
    summary: "Deterministic findings over a period, with an AI narrative when available",
    request: { body: { schema: analysisBody }, what: "analysis request" },
    responses: { 200: { description: "findings and recommendations", schema: analysisSchema } },
  },
  async (c, { body }) => c.json(await analyseRange(c.env, body)),
);
