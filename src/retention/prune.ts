/**
 * Retention: archive objects (R2) past `ARCHIVE_RETENTION_DAYS` (archive/retention.ts), raw logs past `RAW_RETENTION_DAYS` (or the control API's `older_than_hours`),
 * resolved incidents past `INCIDENT_RETENTION_DAYS` (by resolution time) and summaries past
 * `SUMMARY_RETENTION_DAYS` (by bucket start) are deleted in chunks of at most `PRUNE_CHUNK_ROWS`
 * rows per statement, so that no statement nears D1's limits and a run can stop between chunks
 * at its deadline. The cutoffs come from the clock, so the next run simply carries on. Each part
 * runs at least one chunk per run, so a spent budget still makes progress.
 *
 * Raw logs and the aggregation: an explicit `older_than_hours` never deletes raw rows the
 * aggregation has not summarised yet (it stops at `aggregatedUntil`, and says so in the detail),
 * and every raw cutoff applied raises the prune watermark (the job's cursor, see cron/jobs.ts)
 * before a row goes, so the aggregation never recomputes an hour from what is left of it. The
 * default retention cutoff is applied as is: hours that old are past what the aggregation redoes.
 *
 * With an R2 bucket bound as `ARCHIVE`, raw logs are archived before they are deleted
 * (archive-raw.ts); the chunked deletes themselves are prune-sql.ts.
 */
import { drizzle } from "drizzle-orm/d1";
import { raisePrunedBefore, type JobContext, type JobOutcome } from "../cron/jobs";
import { log } from "../lib/log";
import { config, retentionMs } from "../config";
import { aggregatedUntil } from "../summaries/aggregate";
import { pruneArchive } from "../archive/retention";
import { errorMessage } from "../lib/errors";
import { DAY_MS } from "../lib/time";
import { archiveThenDelete, noArchive, type RawReport } from "./archive-raw";
import {
  deleteEmptyServiceHours,
  deleteIncidentGroups,
  deleteIncidents,
  deleteInChunks,
  deleteLogHours,
  deleteRawLogs,
  deleteSummaries,
} from "./prune-sql";

export { PRUNE_CHUNK_ROWS, type PartReport } from "./prune-sql";
export type { RawReport } from "./archive-raw";

/** The bindings retention uses: the archive bucket is bound by default, but a deployment may drop it. */
export type PruneEnv = Omit<Env, "ARCHIVE"> & { ARCHIVE?: R2Bucket };

/** The retention job: prunes incidents, summaries and raw logs (archiving them first when R2 is bound). */
export async function prune(env: PruneEnv, ctx: JobContext & { olderThanMs?: number }): Promise<JobOutcome> {
  const db = drizzle(env.DB);
  const incidentCutoff = ctx.now - config(env).INCIDENT_RETENTION_DAYS * DAY_MS;
  const summaryCutoff = ctx.now - config(env).SUMMARY_RETENTION_DAYS * DAY_MS;
  const { cutoff: rawCutoff, clamped } = await rawLogCutoff(env, ctx);

  // The small tables first: one chunk each in the usual case, and never starved by a raw backlog.
  const incidentReport = await deleteInChunks(incidentCutoff, ctx.deadline, () => deleteIncidents(db, incidentCutoff));
  // A failure here must not stop the summaries' and raw logs' pruning below.
  await deleteIncidentGroups(env.DB, incidentCutoff).catch((err: unknown) =>
    log("error", "incident_groups_prune_failed", { message: errorMessage(err) }),
  );
  const summaryReport = await deleteInChunks(summaryCutoff, ctx.deadline, () => deleteSummaries(db, summaryCutoff));
  await raisePrunedBefore(env.DB, rawCutoff);
  const raw: RawReport = env.ARCHIVE
    ? await archiveThenDelete(db, env.ARCHIVE, rawCutoff, ctx.deadline)
    : { ...(await deleteInChunks(rawCutoff, ctx.deadline, () => deleteRawLogs(db, rawCutoff))), ...noArchive() };
  if (clamped) raw.clamped = clamped;
  if (raw.finished) await deleteLogHours(env.DB, rawCutoff);
  await deleteEmptyServiceHours(env.DB);
  // The archive's own retention, after the raw part so that this run's objects are judged too.
  const archiveCutoff = ctx.now - config(env).ARCHIVE_RETENTION_DAYS * DAY_MS;
  const archive = env.ARCHIVE ? await pruneArchive(env.ARCHIVE, archiveCutoff, ctx.now, ctx.deadline) : null;

  return {
    rows: incidentReport.deleted + summaryReport.deleted + raw.deleted,
    detail: {
      finished: incidentReport.finished && summaryReport.finished && raw.finished && (archive?.finished ?? true),
      raw_logs: raw,
      archive,
      incidents: incidentReport,
      summaries: summaryReport,
    },
  };
}

/**
 * The raw-log cutoff: the default retention's, or the explicit one moved back to the
 * aggregation's progress when it would go past it (but never short of the default retention).
 */
async function rawLogCutoff(
  env: PruneEnv,
  ctx: { now: number; olderThanMs?: number },
): Promise<{ cutoff: number; clamped?: RawReport["clamped"] }> {
  const retentionCutoff = ctx.now - retentionMs(env);
  if (ctx.olderThanMs === undefined) return { cutoff: retentionCutoff };
  const requested = ctx.now - ctx.olderThanMs;
  const until = await aggregatedUntil(env.DB);
  const limit = Math.max(until ?? retentionCutoff, retentionCutoff);
  if (requested <= limit) return { cutoff: requested };
  log("warn", "prune_clamped", { requested_cutoff: requested, aggregated_until: until });
  return { cutoff: limit, clamped: { requested_cutoff: requested, aggregated_until: until } };
}
