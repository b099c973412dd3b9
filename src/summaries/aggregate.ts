/**
 * Hourly and daily summaries of the raw logs: the aggregation cron (every 5 minutes) and
 * `POST /v1/control/aggregate`.
 *
 * SQLite does the grouping. One statement reads an hour's rows once, through the time index, and
 * groups them by endpoint and latency bucket (i = ceil(ln x / ln γ), the index LatencySketch
 * uses), then by endpoint: one row per endpoint comes back with its counts and its sketch buckets
 * as a JSON array, so a busy hour never crosses into the Worker row by row. A day is rolled up the
 * same way from its hourly rows (counts summed, buckets summed by index through `json_each`,
 * which is a sketch merge). Every write is an upsert of whole rows recomputed from their source,
 * so a rerun, a catch-up or two runs at once leave the same rows.
 *
 * The statements go to the D1 API directly: grouped sub-selects with math functions and
 * `json_group_array`, and INSERT ... SELECT over `json_each`, are not something the query builder
 * expresses. The columns follow `src/db/schema.ts`; the tests read the rows back.
 */
import { drizzle } from "drizzle-orm/d1";
import type { JobContext, JobOutcome } from "../cron/jobs";
import { detectionSettings as settingsTable } from "../db/schema";
import { DEFAULT_DETECTION, detectionSettings, resolveDetection, type DetectionSettings } from "../detect/config";
import { LatencySketch, MIN_VALUE } from "../detect/sketch";
import { ApiError } from "../http/errors";
import { log } from "../http/log";
import { apdexQueries, DAY_SQL, HOUR_SQL, upsertStatements, type ApdexRow, type Granularity, type GroupedRow, type SummaryRow } from "./sql";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Widest range one control call may aggregate. */
export const MAX_AGGREGATE_RANGE_MS = 31 * DAY_MS;
/** Closed hours recomputed on every cron run besides the open one, for records that arrive late. */
export const RECENT_CLOSED_HOURS = 2;
/**
 * Hours one run may do: two D1 round trips each, well under the 1,000 queries an invocation may
 * make; a longer backlog or range goes on in the next run (`complete: false`).
 */
export const MAX_HOURS_PER_RUN = 300;
/** An hour is recomputed only if it starts this far inside the raw-log retention (its rows may be being pruned otherwise). */
const RETENTION_MARGIN_MS = 10 * 60_000;

export const floorTo = (t: number, unit: number): number => Math.floor(t / unit) * unit;

/** The hours a cron run does: the open and recent closed hours first, then the catch-up after the cursor, oldest first. */
export function planCronHours(now: number, cursorHour: number | null, firstAllowed: number, oldestData: number | null): { hours: number[]; start: number } {
  const open = floorTo(now, HOUR_MS);
  const recent: number[] = [];
  for (let h = open - RECENT_CLOSED_HOURS * HOUR_MS; h <= open; h += HOUR_MS) if (h >= firstAllowed) recent.push(h);
  const start = Math.max(cursorHour !== null ? cursorHour + HOUR_MS : floorTo(oldestData ?? now, HOUR_MS), firstAllowed);
  const catchUp: number[] = [];
  for (let h = start; h < open; h += HOUR_MS) if (!recent.includes(h)) catchUp.push(h);
  return { hours: [...recent, ...catchUp], start };
}

/** Parses the job cursor (`{"hour": epoch ms}`, the last closed hour fully aggregated); null when absent or not ours. */
export function parseCursor(cursor: string | null): number | null {
  if (!cursor) return null;
  try {
    const hour = (JSON.parse(cursor) as { hour?: unknown }).hour;
    return typeof hour === "number" && Number.isInteger(hour) && hour % HOUR_MS === 0 ? hour : null;
  } catch {
    return null;
  }
}

/** The aggregation job: hours (cron schedule or the given range), then the UTC days they touch. */
export async function aggregate(env: Env, ctx: JobContext & { from?: number; to?: number }): Promise<JobOutcome> {
  const retentionDays = Number(env.RAW_RETENTION_DAYS);
  const retentionMs = (Number.isFinite(retentionDays) && retentionDays > 0 ? retentionDays : 7) * DAY_MS;
  const firstAllowed = Math.ceil((ctx.now - retentionMs + RETENTION_MARGIN_MS) / HOUR_MS) * HOUR_MS;
  const open = floorTo(ctx.now, HOUR_MS);
  const ranged = ctx.from !== undefined || ctx.to !== undefined;

  let hours: number[];
  let skipped = 0;
  let start = open;
  const cursorHour = parseCursor(ctx.cursor);
  if (ranged) {
    // Only `to`: the hour holding it. Only `from`: up to now.
    const to = ctx.to ?? ctx.now;
    const from = ctx.from ?? to;
    if (from > to) throw new ApiError(400, "invalid_request", "from must not be after to");
    if (to - from > MAX_AGGREGATE_RANGE_MS) throw new ApiError(400, "invalid_request", `the range may span at most ${MAX_AGGREGATE_RANGE_MS / DAY_MS} days`);
    hours = [];
    for (let h = floorTo(from, HOUR_MS); h <= Math.min(floorTo(to, HOUR_MS), open); h += HOUR_MS) {
      if (h >= firstAllowed) hours.push(h);
      else skipped++;
    }
  } else {
    const oldest =
      cursorHour === null
        ? ((await env.DB.prepare("SELECT min(timestamp) AS t FROM request_logs").first<{ t: number | null }>())?.t ?? null)
        : null;
    ({ hours, start } = planCronHours(ctx.now, cursorHour, firstAllowed, oldest));
  }

  const planned = hours;
  hours = hours.slice(0, MAX_HOURS_PER_RUN);
  const settings = await loadAllSettings(env.DB);
  const done = new Set<number>();
  let hourRows = 0;
  for (const hour of hours) {
    if (Date.now() >= ctx.deadline) break;
    hourRows += await aggregateHour(env.DB, hour, settings, ctx.now);
    done.add(hour);
  }
  // Days are rolled up even past the deadline: a day must agree with the hours just written.
  const days = [...new Set([...done].map((h) => floorTo(h, DAY_MS)))].sort((a, b) => a - b);
  let dayRows = 0;
  for (const day of days) dayRows += await rollUpDay(env.DB, day, settings, ctx.now);

  const detail: Record<string, unknown> = {
    mode: ranged ? "range" : "cron",
    hours: done.size,
    hours_planned: planned.length,
    days: days.length,
    hour_rows: hourRows,
    day_rows: dayRows,
    complete: done.size === planned.length,
  };
  const next = planned.find((h) => !done.has(h));
  if (ranged && next !== undefined) detail.next_hour = new Date(next).toISOString();
  if (skipped > 0) detail.hours_skipped_past_retention = skipped;
  if (ranged) return { rows: hourRows + dayRows, cursor: undefined, detail };

  // The cursor moves over closed hours done without a gap from where the catch-up started.
  let cursor = cursorHour ?? start - HOUR_MS;
  for (let h = Math.max(start, cursor + HOUR_MS); h < open && done.has(h); h += HOUR_MS) cursor = h;
  detail.cursor_hour = new Date(cursor).toISOString();
  return { rows: hourRows + dayRows, cursor: JSON.stringify({ hour: cursor }), detail };
}

/** Every service's detection settings (one small table), for Apdex T and the availability SLO. */
async function loadAllSettings(db: D1Database): Promise<Map<string, DetectionSettings>> {
  const out = new Map<string, DetectionSettings>();
  for (const row of await drizzle(db).select().from(settingsTable).all()) {
    const parsed = detectionSettings.safeParse(JSON.parse(row.config));
    if (parsed.success) out.set(row.service, parsed.data);
    else log("warn", "detection_settings_invalid", { service: row.service });
  }
  return out;
}

/** Recomputes one hour's rows of every endpoint from the raw logs; returns the rows written. */
async function aggregateHour(db: D1Database, hour: number, settings: Map<string, DetectionSettings>, now: number): Promise<number> {
  const t = DEFAULT_DETECTION.apdex_t_ms;
  const main = db.prepare(HOUR_SQL).bind(MIN_VALUE, LatencySketch.logGammaOf(), t, t, 4 * t, hour, hour + HOUR_MS);
  // Endpoints whose Apdex T is not the default are counted again with theirs, in the same
  // batch (one transaction): the counts agree with each other whatever arrives meanwhile.
  const extra = apdexQueries(db, settings, hour, hour + HOUR_MS);
  const [grouped, ...apdexResults] = await db.batch([main, ...extra.map((q) => q.statement)]);
  const apdex = new Map<string, { t: number; satisfied: number; tolerating: number }>();
  extra.forEach((q, i) => {
    for (const r of (apdexResults[i]?.results ?? []) as ApdexRow[]) {
      const key = `${r.service} ${r.method} ${r.route}`;
      // An endpoint's own query wins over its service's.
      if (q.scope === "endpoint" || !apdex.has(key)) apdex.set(key, { t: q.t, satisfied: r.satisfied, tolerating: r.tolerating });
    }
  });
  const rows = ((grouped?.results ?? []) as GroupedRow[]).map((r) => {
    const config = resolveDetection(settings.get(r.service) ?? null, r.method, r.route);
    const own = apdex.get(`${r.service} ${r.method} ${r.route}`);
    const counts = own && own.t === config.apdex_t_ms ? own : { t, satisfied: r.satisfied, tolerating: r.tolerating };
    return summaryRow("hour", hour, r, counts, config.slo.availability, now);
  });
  await writeRows(db, rows);
  return rows.length;
}

/**
 * Recomputes one UTC day's rows from its hourly rows (sketches merged by bucket); returns the rows
 * written. Its Apdex counts are its hours' sums, each counted with the T of its time; the T shown
 * (and the SLO of the error budget) is the current one.
 */
async function rollUpDay(db: D1Database, day: number, settings: Map<string, DetectionSettings>, now: number): Promise<number> {
  const { results } = await db.prepare(DAY_SQL).bind(day, day + DAY_MS).all<GroupedRow>();
  const rows = results.map((r) => {
    const config = resolveDetection(settings.get(r.service) ?? null, r.method, r.route);
    return summaryRow("day", day, r, { t: config.apdex_t_ms, satisfied: r.satisfied, tolerating: r.tolerating }, config.slo.availability, now);
  });
  await writeRows(db, rows);
  return rows.length;
}

function summaryRow(
  granularity: Granularity,
  bucketStart: number,
  r: GroupedRow,
  apdex: { t: number; satisfied: number; tolerating: number },
  availability: number,
  now: number,
): SummaryRow {
  const sketch = LatencySketch.fromBuckets(JSON.parse(r.buckets) as [number, number][], { zeroCount: r.zero, max: r.max_ms });
  const [p50, p90, p95, p99] = [0.5, 0.9, 0.95, 0.99].map((q) => sketch.quantile(q));
  return {
    granularity,
    service: r.service,
    method: r.method,
    route: r.route,
    bucket_start: bucketStart,
    count: r.count,
    status_2xx: r.s2,
    status_3xx: r.s3,
    status_4xx: r.s4,
    status_5xx: r.s5,
    silent_failures: r.silent,
    inconsistent: r.inconsistent,
    bytes: r.bytes,
    latency_sum: r.latency_sum,
    p50_ms: p50 ?? null,
    p90_ms: p90 ?? null,
    p95_ms: p95 ?? null,
    p99_ms: p99 ?? null,
    max_ms: r.max_ms,
    apdex_satisfied: apdex.satisfied,
    apdex_tolerating: apdex.tolerating,
    apdex_t_ms: apdex.t,
    // The share of the bucket's error budget the 5xx used: 1 means all of it.
    error_budget_consumed: r.count > 0 ? r.s5 / r.count / (1 - availability) : null,
    sketch: JSON.stringify(sketch.toJSON()),
    updated_at: now,
  };
}

/** Upserts rows in one batch (one transaction), as few statements as the bound-string limit allows. */
async function writeRows(db: D1Database, rows: SummaryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.batch(upsertStatements(db, rows));
}
