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
 * With an R2 bucket bound as `ARCHIVE`, raw logs are read in (timestamp, record_key) keyset order, written
 * per service and UTC hour (`archive.ts`), and only the rows whose object was written are then
 * deleted, by key. A failed put keeps its rows and is reported; the keyset moves past them, so the
 * run goes on with the other groups (one bad object must not stall retention) and the next run
 * retries them. When every put of a chunk failed, R2 is taken to be down and the raw part stops
 * rather than read chunk after chunk it cannot archive. A crash between a put and its delete
 * archives those rows twice (in two objects), never zero times.
 *
 * Since the archive write-through (monitor/archive-through.ts), the endpoint objects' flush puts
 * every record in R2 before retention sees it; the first such flush wrote a marker object with
 * its time. Rows received from then on are only deleted here; rows received before it (flushed
 * by an older version, so maybe never written through) are still archived first. Rows the
 * Worker wrote to D1 directly (the hand-off's fallback) are archived by the fallback itself.
 * Rows received just before the marker but flushed after it are archived twice (the reader
 * returns them twice; re-evaluation deduplicates by key), never zero times.
 */
import { and, asc, eq, gt, gte, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { incidents, requestLogs, summaries } from "../db/schema";
import { raisePrunedBefore, type JobContext, type JobOutcome } from "../cron/jobs";
import { log } from "../lib/log";
import { config, retentionMs } from "../config";
import { aggregatedUntil } from "../summaries/aggregate";
import { pruneArchive } from "../archive/retention";
import { groupByServiceHour, hourPrefix, writeGroup, type ArchiveGroup, type RawLog } from "./archive";
import { writeThroughSince } from "../monitor/archive-through";
import { errorMessage } from "../lib/errors";
import { DAY_MS } from "../lib/time";

/** Most rows one statement deletes (or one archive chunk reads). */
export const PRUNE_CHUNK_ROWS = 5_000;
/** Puts in flight at once (a Worker has 6 simultaneous connections). */
const ARCHIVE_CONCURRENCY = 6;
/** Archive objects per run, well under the per-invocation subrequest limit. */
const MAX_ARCHIVE_OBJECTS_PER_RUN = 2_000;
/** Summary granularities, listed so the delete uses the (granularity, bucket_start) index. */
const GRANULARITIES = ["hour", "day"];
const MAX_REPORTED_ERRORS = 10;

type Db = DrizzleD1Database<Record<string, never>>;

export interface PartReport {
  /** Rows older than this (epoch ms) are pruned. */
  cutoff: number;
  deleted: number;
  /** Nothing past the cutoff is left (false: stopped at the deadline, or rows kept after a failed archive). */
  finished: boolean;
}

export interface RawReport extends PartReport {
  archived: boolean;
  archived_rows: number;
  archive_objects: number;
  /** Rows kept because their archive write failed (retried by the next run). */
  archive_failed_rows: number;
  /** Rows deleted without archiving: the write-through archived them (received after `write_through_since`). */
  written_through_deleted: number;
  /** When the archive write-through began (null: never, or R2 could not say: every row is archived first). */
  write_through_since: number | null;
  errors: string[];
  /** Present when an explicit cutoff was moved back to the aggregation's progress. */
  clamped?: { requested_cutoff: number; aggregated_until: number | null };
}

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
  // The hours whose raw rows are gone leave the late-record table; the newest sequence number
  // stays whatever its hour, so that the next flush still numbers above every watermark.
  if (raw.finished) {
    await env.DB.prepare("DELETE FROM log_hours WHERE hour < ? AND seq < (SELECT max(seq) FROM log_hours)")
      .bind(Math.floor(rawCutoff / 3_600_000))
      .run();
  }
  // A service's hour leaves the search index once no raw row of any service is left in it (or
  // before it): whatever was pruned or archived, and whenever, a search never misses a row.
  await env.DB.prepare(
    `DELETE FROM log_service_hours WHERE hour < (SELECT coalesce(min(timestamp), ${Number.MAX_SAFE_INTEGER}) FROM request_logs) / 3600000`,
  ).run();
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

function noArchive(): Omit<RawReport, keyof PartReport> {
  return {
    archived: false,
    archived_rows: 0,
    archive_objects: 0,
    archive_failed_rows: 0,
    written_through_deleted: 0,
    write_through_since: null,
    errors: [],
  };
}

/** Runs a chunked delete until a chunk comes back short, or the deadline passed after the first chunk. */
async function deleteInChunks(cutoff: number, deadline: number, chunk: () => Promise<number>): Promise<PartReport> {
  let deleted = 0;
  for (let i = 0; ; i++) {
    if (i > 0 && Date.now() >= deadline) return { cutoff, deleted, finished: false };
    const n = await chunk();
    deleted += n;
    if (n < PRUNE_CHUNK_ROWS) return { cutoff, deleted, finished: true };
  }
}

async function deleteRawLogs(db: Db, cutoff: number, receivedFrom?: number): Promise<number> {
  // The oldest rows in primary-key order: a key range read, and each delete finds its row by key.
  const chunk = db
    .select({ timestamp: requestLogs.timestamp, key: requestLogs.recordKey })
    .from(requestLogs)
    .where(
      and(
        lt(requestLogs.timestamp, cutoff),
        receivedFrom === undefined ? undefined : gte(requestLogs.receivedAt, receivedFrom),
      ),
    )
    .orderBy(asc(requestLogs.timestamp), asc(requestLogs.recordKey))
    .limit(PRUNE_CHUNK_ROWS);
  const result = await db
    .delete(requestLogs)
    .where(sql`(${requestLogs.timestamp}, ${requestLogs.recordKey}) IN ${chunk}`);
  return result.meta.changes;
}

async function deleteIncidents(db: Db, cutoff: number): Promise<number> {
  const chunk = db
    .select({ id: incidents.id })
    .from(incidents)
    // An incident opens before it resolves: the opened_at bound lets the (status, opened_at) index
    // narrow the scan, resolved_at decides.
    .where(and(eq(incidents.status, "resolved"), lt(incidents.openedAt, cutoff), lt(incidents.resolvedAt, cutoff)))
    .limit(PRUNE_CHUNK_ROWS);
  const result = await db.delete(incidents).where(inArray(incidents.id, chunk));
  return result.meta.changes;
}

/** Resolved incident groups go with their incidents (same retention), member index included. */
async function deleteIncidentGroups(d1: D1Database, cutoff: number): Promise<void> {
  await d1.batch([
    d1
      .prepare(
        "DELETE FROM incident_group_members WHERE group_id IN (SELECT id FROM incident_groups WHERE status = 'resolved' AND resolved_at < ?)",
      )
      .bind(cutoff),
    d1.prepare("DELETE FROM incident_groups WHERE status = 'resolved' AND resolved_at < ?").bind(cutoff),
  ]);
}

async function deleteSummaries(db: Db, cutoff: number): Promise<number> {
  // Summaries have a composite key: the chunk is chosen by rowid.
  const chunk = db
    .select({ rowid: sql<number>`rowid` })
    .from(summaries)
    .where(and(inArray(summaries.granularity, GRANULARITIES), lt(summaries.bucketStart, cutoff)))
    .limit(PRUNE_CHUNK_ROWS);
  const result = await db.delete(summaries).where(sql`rowid IN ${chunk}`);
  return result.meta.changes;
}

type PutResult = { group: ArchiveGroup; key: string } | { group: ArchiveGroup; error: string };

/** Archives the rows past the cutoff received before the write-through began, then deletes those received after it. */
async function archiveThenDelete(db: Db, bucket: R2Bucket, cutoff: number, deadline: number): Promise<RawReport> {
  const since = await writeThroughSince(bucket).catch(() => null);
  const report = await archiveRawLogs(db, bucket, cutoff, deadline, since);
  report.write_through_since = since;
  if (since === null) return report;
  const through = await deleteInChunks(cutoff, deadline, () => deleteRawLogs(db, cutoff, since));
  report.written_through_deleted = through.deleted;
  report.deleted += through.deleted;
  report.finished = report.finished && through.finished;
  return report;
}

/** Archives raw logs past the cutoff (received before `receivedBefore`, if given) chunk by chunk, deleting exactly the rows whose object was written. */
async function archiveRawLogs(
  db: Db,
  bucket: R2Bucket,
  cutoff: number,
  deadline: number,
  receivedBefore: number | null,
): Promise<RawReport> {
  const report: RawReport = { cutoff, deleted: 0, finished: false, ...noArchive(), archived: true };
  let after: { timestamp: number; key: string } | null = null;
  let scanned = false;
  for (let i = 0; ; i++) {
    if (i > 0 && (Date.now() >= deadline || report.archive_objects >= MAX_ARCHIVE_OBJECTS_PER_RUN)) break;
    const keyset: SQL | undefined = after
      ? and(
          gte(requestLogs.timestamp, after.timestamp),
          or(gt(requestLogs.timestamp, after.timestamp), gt(requestLogs.recordKey, after.key)),
        )
      : undefined;
    const rows: RawLog[] = await db
      .select()
      .from(requestLogs)
      .where(
        and(
          lt(requestLogs.timestamp, cutoff),
          receivedBefore === null ? undefined : lt(requestLogs.receivedAt, receivedBefore),
          keyset,
        ),
      )
      .orderBy(asc(requestLogs.timestamp), asc(requestLogs.recordKey))
      .limit(PRUNE_CHUNK_ROWS);
    const last = rows.at(-1);
    if (!last) {
      scanned = true;
      break;
    }
    after = { timestamp: last.timestamp, key: last.recordKey };

    const results = await mapLimit(groupByServiceHour(rows), ARCHIVE_CONCURRENCY, async (group): Promise<PutResult> => {
      try {
        return { group, key: await writeGroup(bucket, group) };
      } catch (err) {
        return { group, error: errorMessage(err) };
      }
    });
    const keys: [number, string][] = [];
    for (const result of results) {
      if ("key" in result) {
        report.archive_objects++;
        for (const row of result.group.rows) keys.push([row.timestamp, row.recordKey]);
        continue;
      }
      const where = hourPrefix(result.group.service, result.group.hourStart);
      report.archive_failed_rows += result.group.rows.length;
      if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push(`${where}: ${result.error}`);
      log("error", "archive_write_failed", { object: where, rows: result.group.rows.length, message: result.error });
    }
    if (keys.length > 0) {
      const deleted = await db
        .delete(requestLogs)
        .where(
          sql`(${requestLogs.timestamp}, ${requestLogs.recordKey}) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${JSON.stringify(keys)}))`,
        );
      report.archived_rows += keys.length;
      report.deleted += deleted.meta.changes;
    } else {
      // Not one object of this chunk could be written: R2 is down, stop here.
      break;
    }
    if (rows.length < PRUNE_CHUNK_ROWS) {
      scanned = true;
      break;
    }
  }
  report.finished = scanned && report.archive_failed_rows === 0;
  return report;
}

/** Maps with at most `limit` calls in flight, keeping the order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  const entries = items.entries();
  const worker = async (): Promise<void> => {
    for (const [index, item] of entries) out[index] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
