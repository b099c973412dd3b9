/**
 * Retention of raw logs with an R2 bucket bound as `ARCHIVE`: archived first, then deleted.
 *
 * Raw logs are read in (timestamp, record_key) keyset order, written per service and UTC hour
 * (`archive.ts`), and only the rows whose object was written are then deleted, by key. A failed
 * put keeps its rows and is reported; the keyset moves past them, so the run goes on with the
 * other groups (one bad object must not stall retention) and the next run retries them. When every
 * put of a chunk failed, R2 is taken to be down and the raw part stops rather than read chunk
 * after chunk it cannot archive. A crash between a put and its delete archives those rows twice
 * (in two objects), never zero times.
 *
 * Since the archive write-through (monitor/archive-through.ts), the endpoint objects' flush puts
 * every record in R2 before retention sees it; the first such flush wrote a marker object with
 * its time. Rows received from then on are only deleted here; rows received before it (flushed
 * by an older version, so maybe never written through) are still archived first. Rows the
 * Worker wrote to D1 directly (the hand-off's fallback) are archived by the fallback itself.
 * Rows received just before the marker but flushed after it are archived twice (the reader
 * returns them twice; re-evaluation deduplicates by key), never zero times.
 */
import { and, asc, gt, gte, lt, or, sql, type SQL } from "drizzle-orm";
import { requestLogs } from "../db/schema";
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import { writeThroughSince } from "../monitor/archive-through";
import { groupByServiceHour, hourPrefix, writeGroup, type ArchiveGroup, type RawLog } from "./archive";
import { PRUNE_CHUNK_ROWS, deleteInChunks, deleteRawLogs, type Db, type PartReport } from "./prune-sql";

/** Puts in flight at once (a Worker has 6 simultaneous connections). */
const ARCHIVE_CONCURRENCY = 6;
/** Archive objects per run, well under the per-invocation subrequest limit. */
const MAX_ARCHIVE_OBJECTS_PER_RUN = 2_000;
/** Archive write errors a report lists (the rest are logged only). */
const MAX_REPORTED_ERRORS = 10;

/** What the raw-log part of a retention run did. */
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

/** The archive fields of a raw report where nothing was archived. */
export function noArchive(): Omit<RawReport, keyof PartReport> {
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

type PutResult = { group: ArchiveGroup; key: string } | { group: ArchiveGroup; error: string };

/** Archives the rows past the cutoff received before the write-through began, then deletes those received after it. */
export async function archiveThenDelete(
  db: Db,
  bucket: R2Bucket,
  cutoff: number,
  deadline: number,
): Promise<RawReport> {
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
