/**
 * Background jobs (aggregation, retention, probes): one shape for the cron dispatch and the
 * control API, and one record of each job's last run in D1 (`job_runs`) for
 * `GET /v1/control/status`. Jobs are bounded by a deadline and idempotent, so that a run cut
 * short, a missed run or two runs at once (cron at-least-once) leave the same rows.
 *
 * Aggregation and retention read each other's progress: retention never deletes raw rows the
 * aggregation has not summarised yet (`aggregatedUntil` in summaries/aggregate.ts), and the
 * aggregation never recomputes an hour whose raw rows retention may have deleted (the prune
 * watermark below), which would overwrite a good summary with one of what is left.
 */
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobRuns } from "../db/schema";
import { log } from "../lib/log";
import { CostMeter } from "../cost/counts";
import { errorMessage } from "../lib/errors";

export type JobName = "aggregate" | "prune" | "probes";

export interface JobContext {
  /** Wall clock at the start of the run. */
  now: number;
  /** The job must stop starting new work after this time (epoch ms) and report what it did. */
  deadline: number;
  /** The job's own progress from its last run (`JobOutcome.cursor`), if any. */
  cursor: string | null;
  /** Counts the run's D1 rows (runJob sets it): give the job `meteredEnv(env, ctx.meter)`; the totals go in its detail. */
  meter?: CostMeter;
}

export interface JobOutcome {
  /** Rows written, deleted or probes run: what the job affected. */
  rows: number;
  /** New progress to keep (undefined: keep the old one). */
  cursor?: string | null;
  /** Anything worth showing in the status (per-part counts, whether it finished). */
  detail?: Record<string, unknown>;
  /** Parts that failed in a run that still made progress (kept as the run's `last_error`). */
  errors?: string[];
}

/** Time budgets: a cron invocation may run for minutes, but every job leaves a wide margin. */
export const JOB_BUDGET_MS: Record<JobName, number> = { aggregate: 60_000, prune: 60_000, probes: 30_000 };

/** A job's saved progress (`job_runs.cursor`), null when it never saved any. */
export async function jobCursor(db: D1Database, job: JobName): Promise<string | null> {
  const row = await drizzle(db).select({ cursor: jobRuns.cursor }).from(jobRuns).where(eq(jobRuns.job, job)).get();
  return row?.cursor ?? null;
}

/**
 * The prune watermark: the newest raw-log cutoff retention ever applied (the prune job's cursor,
 * `{"pruned_before": epoch ms}`); an hour starting before it may have lost raw rows. Null when
 * nothing was ever pruned.
 */
export async function prunedBefore(db: D1Database): Promise<number | null> {
  const cursor = await jobCursor(db, "prune");
  if (!cursor) return null;
  try {
    const value = (JSON.parse(cursor) as { pruned_before?: unknown }).pruned_before;
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * Raises the prune watermark to `cutoff`, never lowering it, in one statement (two prunes at once
 * keep the newer). Called before any raw row is deleted, so a run that fails halfway is covered.
 */
export async function raisePrunedBefore(db: D1Database, cutoff: number): Promise<void> {
  const raised = sql`json_object('pruned_before', max(${cutoff}, coalesce(CASE WHEN json_valid(${jobRuns.cursor}) THEN ${jobRuns.cursor} ->> '$.pruned_before' END, ${cutoff})))`;
  await drizzle(db)
    .insert(jobRuns)
    .values({ job: "prune", cursor: JSON.stringify({ pruned_before: cutoff }) })
    .onConflictDoUpdate({ target: jobRuns.job, set: { cursor: raised } });
}

/** Runs a job, records its run (also when it fails) and returns its outcome; rethrows its error. */
export async function runJob(
  db: D1Database,
  job: JobName,
  fn: (ctx: JobContext) => Promise<JobOutcome>,
  now = Date.now(),
): Promise<JobOutcome & { duration_ms: number }> {
  const d = drizzle(db);
  const cursor = await jobCursor(db, job);
  await d
    .insert(jobRuns)
    .values({ job, lastStartedAt: now })
    .onConflictDoUpdate({ target: jobRuns.job, set: { lastStartedAt: now } });
  try {
    const meter = new CostMeter();
    const ran = await fn({ now, deadline: now + JOB_BUDGET_MS[job], cursor, meter });
    // D1's own count of the rows the run wrote and read (its meta), beside the job's own figures.
    const outcome = {
      ...ran,
      detail: {
        ...ran.detail,
        d1_rows_written: meter.counts.d1_rows_written,
        d1_rows_read: meter.counts.d1_rows_read,
        r2_class_a: meter.counts.r2_class_a,
        r2_class_b: meter.counts.r2_class_b,
      },
    };
    const finished = Date.now();
    await d
      .update(jobRuns)
      .set({
        lastFinishedAt: finished,
        lastDurationMs: finished - now,
        lastRows: outcome.rows,
        // A run that made progress despite failed parts is a run, not a failure; its errors show.
        lastError: outcome.errors?.length ? outcome.errors.join("; ") : null,
        lastOkAt: finished,
        runs: sql`${jobRuns.runs} + 1`,
        ...(outcome.cursor !== undefined ? { cursor: outcome.cursor } : {}),
      })
      .where(eq(jobRuns.job, job));
    log(outcome.errors?.length ? "warn" : "info", "job_done", {
      job,
      duration_ms: finished - now,
      rows: outcome.rows,
      errors: outcome.errors,
      ...outcome.detail,
    });
    return { ...outcome, duration_ms: finished - now };
  } catch (err) {
    const finished = Date.now();
    const message = errorMessage(err);
    log("error", "job_failed", { job, duration_ms: finished - now, message });
    await d
      .update(jobRuns)
      .set({
        lastFinishedAt: finished,
        lastDurationMs: finished - now,
        lastError: message,
        runs: sql`${jobRuns.runs} + 1`,
        failures: sql`${jobRuns.failures} + 1`,
      })
      .where(eq(jobRuns.job, job))
      .catch(() => undefined);
    throw err;
  }
}
