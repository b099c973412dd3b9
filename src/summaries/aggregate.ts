/**
 * Hourly and daily summaries of the raw logs: the aggregation cron (every 5 minutes) and
 * `POST /v1/control/aggregate`.
 *
 * SQLite does the grouping. One statement reads an hour's rows once, through the time index, and
 * groups them by endpoint and latency bucket (i = ceil(ln x / ln γ), the index LatencySketch
 * uses), then by endpoint: one row per endpoint comes back with its counts (Apdex with the
 * endpoint's own T, looked up in the same pass) and its sketch buckets as a JSON array, so a busy
 * hour never crosses into the Worker row by row. A day is rolled up the
 * same way from its hourly rows (counts summed, buckets summed by index through `json_each`,
 * which is a sketch merge). Every write is an upsert of whole rows recomputed from their source,
 * so a rerun, a catch-up or two runs at once leave the same rows.
 *
 * A cron run recomputes the open hour and the two before it, every hour holding records stored
 * since the last run whatever their timestamps (found by flush sequence number in `log_hours`:
 * records reach D1 hours late after an outage, and ingest accepts week-old ones), and the closed hours after its cursor (catch-up).
 * Never an hour whose raw rows retention may have deleted (before the prune watermark, or near
 * the end of the raw retention): that hour keeps the summary written from its complete rows. The
 * cursor (`{"hour", "seq"}`: the last closed hour done without a gap, the flush sequence number
 * up to which late records were taken in) is returned with whatever was done, also when some hours failed, so a
 * failure mid-run loses no progress.
 *
 * Counts are sums of the stored rows' weights: a row sampled by the service's `raw_logs` setting
 * stands for `weight` records (src/storage/sampling.ts), so counts are of the full traffic and
 * percentiles of plain successes come from the sample. Probe results are left out (they are synthetic checks, not
 * traffic, as in the detector). A service whose proxied traffic is sampled
 * (`recording.sample_rate` N) stores one request in N: its counts, bytes and error budget are of
 * those records, about 1/N of the requests, while ratios and percentiles estimate the traffic's.
 *
 * The statements go to the D1 API directly: grouped sub-selects with math functions and
 * `json_group_array`, and INSERT ... SELECT over `json_each`, are not something the query builder
 * expresses. The columns follow `src/db/schema/`; the tests read the rows back.
 */
import { jobCursor, prunedBefore, type JobContext, type JobOutcome } from "../cron/jobs";
import { ApiError } from "../http/errors";
import { log } from "../lib/log";
import { retentionMs } from "../config";
import { LATE_HOURS_SQL, START_SQL, UNSEEN_SQL, type LateHourRow } from "./sql";
import { aggregateHour, loadAllSettings, rollUpDay } from "./steps";
import { errorMessage } from "../lib/errors";
import { DAY_MS, HOUR_MS } from "../lib/time";

/** Widest range one control call may aggregate. */
export const MAX_AGGREGATE_RANGE_MS = 31 * DAY_MS;
/** Closed hours recomputed on every cron run besides the open one. */
export const RECENT_CLOSED_HOURS = 2;
/** Hours one run may do; a longer backlog or range goes on in the next run (`complete: false`). */
export const MAX_HOURS_PER_RUN = 120;
/**
 * D1 statements one run may issue (an invocation may make 1,000; runJob adds 3). An hour costs its
 * grouped read and its upserts, a day its read and upserts; the
 * run stops before the next hour and the days to roll up would pass this.
 */
export const MAX_STATEMENTS_PER_RUN = 450;
/** Distinct hours of late records one run takes on; the others wait for the next run. */
export const MAX_LATE_HOURS_PER_RUN = 24;
/** Skipped endpoints named in a run's detail and errors (all are counted and logged). */
const MAX_SKIPPED_SHOWN = 20;
/** Failed hours after which a run stops (D1 is likely down). */
const MAX_ERRORS = 3;
/** An hour is recomputed only if it starts this far inside the raw-log retention (its rows may be being pruned otherwise). */
const RETENTION_MARGIN_MS = 10 * 60_000;

export const floorTo = (t: number, unit: number): number => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number): number => Math.ceil(t / unit) * unit;
const iso = (t: number): string => new Date(t).toISOString();

/** The aggregation job's cursor: the last closed hour fully aggregated, and the late-record watermark. */
export interface AggregateCursor {
  hour: number;
  /** Hours written by a flush with a higher sequence number have not been looked at (absent in cursors from before the watermark existed). */
  seq?: number;
}

/**
 * The hours a cron run does, in order: the open and recent closed hours, the hours of late
 * records, then the catch-up after the cursor, oldest first; none before `firstAllowed`.
 */
export function planCronHours(
  now: number,
  cursorHour: number | null,
  firstAllowed: number,
  oldestData: number | null,
  lateHours: readonly number[] = [],
): { hours: number[]; start: number } {
  const open = floorTo(now, HOUR_MS);
  const hours = new Set<number>();
  for (let h = open - RECENT_CLOSED_HOURS * HOUR_MS; h <= open; h += HOUR_MS) if (h >= firstAllowed) hours.add(h);
  for (const h of lateHours) if (h >= firstAllowed && h <= open) hours.add(h);
  const start = Math.max(
    cursorHour !== null ? cursorHour + HOUR_MS : floorTo(oldestData ?? now, HOUR_MS),
    firstAllowed,
  );
  for (let h = start; h < open; h += HOUR_MS) hours.add(h);
  return { hours: [...hours], start };
}

/** Parses the job cursor (`{"hour": epoch ms, "seq": n}`); null when absent or not ours. */
export function parseCursor(cursor: string | null): AggregateCursor | null {
  if (!cursor) return null;
  try {
    const { hour, seq } = JSON.parse(cursor) as { hour?: unknown; seq?: unknown };
    if (typeof hour !== "number" || !Number.isInteger(hour) || hour % HOUR_MS !== 0) return null;
    return typeof seq === "number" && Number.isInteger(seq) ? { hour, seq } : { hour };
  } catch {
    return null;
  }
}

/**
 * Where the aggregation's progress ends (epoch ms): the end of its last closed hour done, or the
 * start of the earliest hour holding records it has not looked at yet if that is earlier. Null
 * when it never ran. Retention deletes no raw row past this.
 */
export async function aggregatedUntil(db: D1Database): Promise<number | null> {
  const cursor = parseCursor(await jobCursor(db, "aggregate"));
  if (!cursor) return null;
  const end = cursor.hour + HOUR_MS;
  if (cursor.seq === undefined) return end;
  const unseen = await db.prepare(UNSEEN_SQL).bind(cursor.seq).first<{ t: number | null }>();
  return typeof unseen?.t === "number" ? Math.min(end, floorTo(unseen.t, HOUR_MS)) : end;
}

/**
 * The hours holding records stored after `seq`, at most MAX_LATE_HOURS_PER_RUN of them, and the
 * watermark to keep once they are recomputed: past every record of those hours, short of the
 * first record of an hour left for the next run.
 */
async function lateHours(db: D1Database, seq: number): Promise<{ hours: number[]; next: number }> {
  const { results } = await db
    .prepare(LATE_HOURS_SQL)
    .bind(seq, MAX_LATE_HOURS_PER_RUN + 1)
    .all<LateHourRow>();
  const taken = results.slice(0, MAX_LATE_HOURS_PER_RUN);
  const left = results[MAX_LATE_HOURS_PER_RUN];
  const next = left ? left.first - 1 : taken.reduce((m, r) => Math.max(m, r.last), seq);
  return { hours: taken.map((r) => r.hour * HOUR_MS).sort((a, b) => a - b), next };
}

/** The aggregation job: hours (cron schedule or the given range), then the UTC days they touch. */
export async function aggregate(env: Env, ctx: JobContext & { from?: number; to?: number }): Promise<JobOutcome> {
  const db = env.DB;
  const open = floorTo(ctx.now, HOUR_MS);
  const ranged = ctx.from !== undefined || ctx.to !== undefined;
  const [settings, pruned] = await Promise.all([loadAllSettings(db), prunedBefore(db)]);
  let statements = 2;
  // Hours whose raw rows may be gone: past the retention, or before the newest prune cutoff.
  const pastRetention = ceilTo(ctx.now - retentionMs(env) + RETENTION_MARGIN_MS, HOUR_MS);
  const pastPrune = pruned === null ? -Infinity : ceilTo(pruned, HOUR_MS);
  const firstAllowed = Math.max(pastRetention, pastPrune);
  const detail: Record<string, unknown> = { mode: ranged ? "range" : "cron" };

  let plan: number[] = [];
  let start = open;
  const cursor = parseCursor(ctx.cursor);
  let late: { hours: number[]; next: number } | null = null;
  let firstSeq = 0;
  let oldest: number | null = null;
  if (ranged) {
    // Only `to`: the hour holding it. Only `from`: up to now.
    const to = ctx.to ?? ctx.now;
    const from = ctx.from ?? to;
    if (from > to) throw new ApiError(400, "invalid_request", "from must not be after to");
    if (to - from > MAX_AGGREGATE_RANGE_MS)
      throw new ApiError(400, "invalid_request", `the range may span at most ${MAX_AGGREGATE_RANGE_MS / DAY_MS} days`);
    let pastRetentionSkipped = 0;
    let prunedSkipped = 0;
    for (let h = floorTo(from, HOUR_MS); h <= Math.min(floorTo(to, HOUR_MS), open); h += HOUR_MS) {
      if (h < pastRetention) pastRetentionSkipped++;
      else if (h < pastPrune) prunedSkipped++;
      else plan.push(h);
    }
    if (pastRetentionSkipped > 0) detail.hours_skipped_past_retention = pastRetentionSkipped;
    if (prunedSkipped > 0) detail.hours_skipped_pruned = prunedSkipped;
  } else {
    if (cursor?.seq !== undefined) {
      late = await lateHours(db, cursor.seq);
    } else {
      // A first run: the watermark starts at the newest record, the catch-up at the oldest.
      const row = await db.prepare(START_SQL).first<{ seq: number | null; oldest: number | null }>();
      firstSeq = row?.seq ?? 0;
      oldest = row?.oldest ?? null;
    }
    statements++;
    ({ hours: plan, start } = planCronHours(ctx.now, cursor?.hour ?? null, firstAllowed, oldest, late?.hours));
  }

  // Hours, while the time, the hour cap and the statement budget allow; a failed hour is
  // reported and the others go on, up to MAX_ERRORS.
  const done = new Set<number>();
  const errors: string[] = [];
  // Endpoint-hours and -days whose stored figures could not make a row: skipped, reported, and
  // not failures of the run (they do not count towards MAX_ERRORS nor hold the cursor back).
  const skipped: string[] = [];
  let clamped = 0;
  let firstError: unknown;
  let hourRows = 0;
  let hourCost = 2;
  let upserts = 1;
  const daysReserved = new Set<number>();
  for (const hour of plan) {
    if (done.size >= MAX_HOURS_PER_RUN || errors.length >= MAX_ERRORS || Date.now() >= ctx.deadline) break;
    const day = floorTo(hour, DAY_MS);
    const days = daysReserved.size + (daysReserved.has(day) ? 0 : 1);
    if (statements + hourCost + days * (1 + upserts) > MAX_STATEMENTS_PER_RUN) break;
    daysReserved.add(day);
    try {
      const r = await aggregateHour(db, hour, settings, ctx.now);
      done.add(hour);
      hourRows += r.rows;
      skipped.push(...r.skipped);
      clamped += r.clamped;
      statements += r.statements;
      hourCost = Math.max(hourCost, r.statements);
      upserts = Math.max(upserts, r.upserts);
    } catch (err) {
      statements += hourCost;
      firstError ??= err;
      errors.push(`hour ${iso(hour)}: ${errorMessage(err)}`);
    }
  }
  // Days are rolled up even past the deadline: a day must agree with the hours just written.
  const rolled = new Set<number>();
  let dayRows = 0;
  for (const day of [...new Set([...done].map((h) => floorTo(h, DAY_MS)))].sort((a, b) => a - b)) {
    try {
      const r = await rollUpDay(db, day, settings, ctx.now);
      rolled.add(day);
      dayRows += r.rows;
      skipped.push(...r.skipped);
      statements += r.statements;
    } catch (err) {
      firstError ??= err;
      errors.push(`day ${iso(day)}: ${errorMessage(err)}`);
    }
  }
  if (done.size === 0 && errors.length > 0) throw firstError;
  const complete = (h: number) => done.has(h) && rolled.has(floorTo(h, DAY_MS));

  Object.assign(detail, {
    hours: done.size,
    hours_planned: plan.length,
    days: rolled.size,
    hour_rows: hourRows,
    day_rows: dayRows,
    statements,
    complete: errors.length === 0 && plan.every(complete),
  });
  if (errors.length > 0) {
    detail.errors = errors;
    log("error", "aggregate_partial", { errors });
  }
  if (clamped > 0) detail.rows_clamped = clamped;
  if (skipped.length > 0) {
    detail.endpoints_skipped = skipped.length;
    detail.skipped = skipped.slice(0, MAX_SKIPPED_SHOWN);
  }
  // Skipped endpoints show as the run's errors (job_runs.last_error, /v1/control/status) too.
  const reported = [...errors, ...skipped.slice(0, MAX_SKIPPED_SHOWN)];
  const outcome: JobOutcome = {
    rows: hourRows + dayRows,
    detail,
    ...(reported.length > 0 ? { errors: reported } : {}),
  };
  const next = plan.find((h) => !complete(h));
  if (ranged) {
    if (next !== undefined) detail.next_hour = iso(next);
    return { ...outcome, cursor: undefined };
  }

  // The cursor moves over closed hours done without a gap from where the catch-up started (hours
  // before it cannot be aggregated any more); the watermark past the late records only once all
  // their hours are done.
  let hour = start - HOUR_MS;
  for (let h = start; h < open && complete(h); h += HOUR_MS) hour = h;
  let seq = firstSeq;
  if (late && cursor?.seq !== undefined) {
    seq = late.hours.every((h) => h < firstAllowed || h > open || complete(h)) ? late.next : cursor.seq;
    if (late.hours.length > 0) detail.late_hours = late.hours.length;
  }
  detail.cursor_hour = iso(hour);
  return { ...outcome, cursor: JSON.stringify({ hour, seq } satisfies AggregateCursor) };
}
