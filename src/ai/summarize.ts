/**
 * AI summaries of incidents: when an incident opens (the alert outbox asks, with a short wait)
 * and on demand (`POST /v1/incidents/:id/summarize`). The model reads the incident's evidence,
 * up to ten recent failing requests of its endpoint within the incident and the endpoint's
 * figures, and answers a summary, likely causes, suggested actions and a confidence. The answer
 * is written to the incident's `ai_*` columns and nowhere else: severity, status, signals and
 * the deterministic explanation are the endpoint object's, and the object's upserts never touch
 * the `ai_*` columns, so neither side can overwrite the other. Every outcome is stored (the
 * summary is the last attempt's, null unless it succeeded), so an incident says why it has none.
 */
import { and, desc, eq, gte, isNotNull, lte, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { endpointHealth, incidents, requestLogs } from "../db/schema";
import { ApiError } from "../http/errors";
import {
  AI_SUMMARY_JSON_SCHEMA,
  aiSummarySchema,
  incidentPrompt,
  type AiSummary,
  type IncidentEvidence,
} from "./prompt";
import { aiAvailable, askJson, type AiStatus } from "./run";

export type { AiSummary } from "./prompt";

const SAMPLE_ERRORS = 10;
const SUMMARY_MAX_TOKENS = 600;

export interface SummaryResult {
  status: AiStatus;
  summary: AiSummary | null;
  model: string | null;
}

const parse = (json: string): unknown => JSON.parse(json) as unknown;

/** The evidence of one incident, from D1: the row, its endpoint's failing requests within it, and its endpoint's state. */
async function loadEvidence(db: D1Database, row: typeof incidents.$inferSelect): Promise<IncidentEvidence> {
  const d = drizzle(db);
  const l = requestLogs;
  const until = row.resolvedAt ?? row.lastEventAt;
  const [samples, health] = await d.batch([
    d
      .select({ timestamp: l.timestamp, status: l.status, latency_ms: l.latencyMs, path: l.path, error: l.error })
      .from(l)
      .where(
        and(
          eq(l.service, row.service),
          eq(l.route, row.route),
          eq(l.method, row.method),
          gte(l.timestamp, row.openedAt),
          lte(l.timestamp, until),
          or(gte(l.status, 500), isNotNull(l.error)),
        ),
      )
      .orderBy(desc(l.timestamp))
      .limit(SAMPLE_ERRORS),
    d
      .select({ health: endpointHealth.health, figures: endpointHealth.figures, baselines: endpointHealth.baselines })
      .from(endpointHealth)
      .where(
        and(
          eq(endpointHealth.service, row.service),
          eq(endpointHealth.method, row.method),
          eq(endpointHealth.route, row.route),
        ),
      ),
  ]);
  const figures = parse(row.figures) as { at_open?: unknown; latest?: unknown };
  const state = health[0];
  return {
    incident: {
      service: row.service,
      method: row.method,
      route: row.route,
      severity: row.severity,
      status: row.status,
      opened_at: row.openedAt,
      resolved_at: row.resolvedAt,
      last_event_at: row.lastEventAt,
      signals: parse(row.signals),
      explanation: row.explanation,
      figures_at_open: figures.at_open ?? null,
      figures: figures.latest ?? null,
    },
    samples,
    endpoint: state ? { health: state.health, figures: parse(state.figures), baselines: parse(state.baselines) } : null,
  };
}

/**
 * Asks the model to explain incident `incidentId` and stores the outcome on it. Never throws for
 * the model's sake (unavailable, failed, timeout, invalid are outcomes); 404 when there is no
 * such incident.
 */
export async function summarizeIncident(
  env: Env,
  incidentId: string,
  opts: { timeoutMs?: number; now?: number } = {},
): Promise<SummaryResult> {
  const d = drizzle(env.DB);
  const row = await d.select().from(incidents).where(eq(incidents.id, incidentId)).get();
  if (!row) throw new ApiError(404, "incident_not_found", `no incident ${incidentId.slice(0, 60)}`);

  let result: SummaryResult & { error: string | null };
  if (!aiAvailable(env)) {
    result = {
      status: "unavailable",
      summary: null,
      model: null,
      error: "no AI binding: the deterministic explanation stands",
    };
  } else {
    const prompt = incidentPrompt(await loadEvidence(env.DB, row));
    const outcome = await askJson(env, {
      ...prompt,
      schema: aiSummarySchema,
      jsonSchema: AI_SUMMARY_JSON_SCHEMA,
      maxTokens: SUMMARY_MAX_TOKENS,
      timeoutMs: opts.timeoutMs,
    });
    result = { status: outcome.status, summary: outcome.value, model: outcome.model, error: outcome.error };
  }

  // Only the AI columns: whatever the model said, the incident's own fields stay as detected. A
  // failed attempt records its status and error but keeps the last good summary and its model.
  await d
    .update(incidents)
    .set({
      ...(result.summary === null ? {} : { aiSummary: JSON.stringify(result.summary), aiModel: result.model }),
      aiStatus: result.status,
      aiError: result.error,
      aiUpdatedAt: opts.now ?? Date.now(),
    })
    .where(eq(incidents.id, incidentId));
  return { status: result.status, summary: result.summary, model: result.model };
}
