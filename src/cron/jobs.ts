/**
 * Background jobs (aggregation, retention, probes): one shape for the cron dispatch and the
 * control API, and one record of each job's last run in D1 (`job_runs`) for
 * `GET /v1/control/status`. Jobs are bounded by a deadline and idempotent, so that a run cut
 * short, a missed run or two runs at once (cron at-least-once) leave the same rows.
 */
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobRuns } from "../db/schema";
import { log } from "../http/log";

export type JobName = "aggregate" | "prune" | "probes";

export interface JobContext {
  /** Wall clock at the start of the run. */
  now: number;
  /** The job must stop starting new work after this time (epoch ms) and report what it did. */
  deadline: number;
  /** The job's own progress from its last run (`JobOutcome.cursor`), if any. */
  cursor: string | null;
}

export interface JobOutcome {
  /** Rows written, deleted or probes run: what the job affected. */
  rows: number;
  /** New progress to keep (undefined: keep the old one). */
  cursor?: string | null;
  /** Anything worth showing in the status (per-part counts, whether it finished). */
  detail?: Record<string, unknown>;
}

/** Time budgets: a cron invocation may run for minutes, but every job leaves a wide margin. */
export const JOB_BUDGET_MS: Record<JobName, number> = { aggregate: 60_000, prune: 60_000, probes: 30_000 };

export async function jobCursor(db: D1Database, job: JobName): Promise<string | null> {
  const row = await drizzle(db).select({ cursor: jobRuns.cursor }).from(jobRuns).where(eq(jobRuns.job, job)).get();
  return row?.cursor ?? null;
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
    const outcome = await fn({ now, deadline: now + JOB_BUDGET_MS[job], cursor });
    const finished = Date.now();
    await d
      .update(jobRuns)
      .set({
        lastFinishedAt: finished,
        lastDurationMs: finished - now,
        lastRows: outcome.rows,
        lastError: null,
        lastOkAt: finished,
        runs: sql`${jobRuns.runs} + 1`,
        ...(outcome.cursor !== undefined ? { cursor: outcome.cursor } : {}),
      })
      .where(eq(jobRuns.job, job));
    log("info", "job_done", { job, duration_ms: finished - now, rows: outcome.rows, ...outcome.detail });
    return { ...outcome, duration_ms: finished - now };
  } catch (err) {
    const finished = Date.now();
    const message = err instanceof Error ? err.message : String(err);
    log("error", "job_failed", { job, duration_ms: finished - now, message });
    await d
      .update(jobRuns)
      .set({ lastFinishedAt: finished, lastDurationMs: finished - now, lastError: message, runs: sql`${jobRuns.runs} + 1`, failures: sql`${jobRuns.failures} + 1` })
      .where(eq(jobRuns.job, job))
      .catch(() => undefined);
    throw err;
  }
}
