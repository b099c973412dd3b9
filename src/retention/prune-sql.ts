/**
 * The deletes of retention, in chunks of at most `PRUNE_CHUNK_ROWS` rows per statement so that
 * no statement nears D1's limits and a run can stop between chunks at its deadline (prune.ts
 * says what is pruned when). Each chunk is chosen by key, so each delete finds its rows by key.
 */
import { and, asc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { incidents, requestLogs, summaries } from "../db/schema";

/** Most rows one statement deletes (or one archive chunk reads). */
export const PRUNE_CHUNK_ROWS = 5_000;
/** Summary granularities, listed so the delete uses the (granularity, bucket_start) index. */
const GRANULARITIES = ["hour", "day"];

/** The D1 database as drizzle queries it. */
export type Db = DrizzleD1Database<Record<string, never>>;

/** What one part of a retention run did. */
export interface PartReport {
  /** Rows older than this (epoch ms) are pruned. */
  cutoff: number;
  deleted: number;
  /** Nothing past the cutoff is left (false: stopped at the deadline, or rows kept after a failed archive). */
  finished: boolean;
}

/** Runs a chunked delete until a chunk comes back short, or the deadline passed after the first chunk. */
export async function deleteInChunks(
  cutoff: number,
  deadline: number,
  chunk: () => Promise<number>,
): Promise<PartReport> {
  let deleted = 0;
  for (let i = 0; ; i++) {
    if (i > 0 && Date.now() >= deadline) return { cutoff, deleted, finished: false };
    const n = await chunk();
    deleted += n;
    if (n < PRUNE_CHUNK_ROWS) return { cutoff, deleted, finished: true };
  }
}

/** Deletes one chunk of raw logs past the cutoff (received at or after `receivedFrom`, if given); returns how many went. */
export async function deleteRawLogs(db: Db, cutoff: number, receivedFrom?: number): Promise<number> {
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

/** Deletes one chunk of incidents resolved before the cutoff; returns how many went. */
export async function deleteIncidents(db: Db, cutoff: number): Promise<number> {
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
export async function deleteIncidentGroups(d1: D1Database, cutoff: number): Promise<void> {
  await d1.batch([
    d1
      .prepare(
        "DELETE FROM incident_group_members WHERE group_id IN (SELECT id FROM incident_groups WHERE status = 'resolved' AND resolved_at < ?)",
      )
      .bind(cutoff),
    d1.prepare("DELETE FROM incident_groups WHERE status = 'resolved' AND resolved_at < ?").bind(cutoff),
  ]);
}

/** Deletes one chunk of summaries whose bucket starts before the cutoff; returns how many went. */
export async function deleteSummaries(db: Db, cutoff: number): Promise<number> {
  // Summaries have a composite key: the chunk is chosen by rowid.
  const chunk = db
    .select({ rowid: sql<number>`rowid` })
    .from(summaries)
    .where(and(inArray(summaries.granularity, GRANULARITIES), lt(summaries.bucketStart, cutoff)))
    .limit(PRUNE_CHUNK_ROWS);
  const result = await db.delete(summaries).where(sql`rowid IN ${chunk}`);
  return result.meta.changes;
}

/**
 * The hours whose raw rows are gone leave the late-record table; the newest sequence number
 * stays whatever its hour, so that the next flush still numbers above every watermark.
 */
export async function deleteLogHours(d1: D1Database, rawCutoff: number): Promise<void> {
  await d1
    .prepare("DELETE FROM log_hours WHERE hour < ? AND seq < (SELECT max(seq) FROM log_hours)")
    .bind(Math.floor(rawCutoff / 3_600_000))
    .run();
}

/**
 * A service's hour leaves the search index once no raw row of any service is left in it (or
 * before it): whatever was pruned or archived, and whenever, a search never misses a row.
 */
export async function deleteEmptyServiceHours(d1: D1Database): Promise<void> {
  await d1
    .prepare(
      `DELETE FROM log_service_hours WHERE hour < (SELECT coalesce(min(timestamp), ${Number.MAX_SAFE_INTEGER}) FROM request_logs) / 3600000`,
    )
    .run();
}
