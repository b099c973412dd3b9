/**
 * The endpoint object's buffer of raw records on their way to D1: deduplicated on insert, read
 * in batches for the flush, marked flushed (or quarantined) only after D1 answered, and kept a
 * while after that so that a retried hand-off is recognised. Runs on the object's SQLite; call
 * the writing methods inside a transaction.
 */
import { MAX_BATCH_BYTES, MAX_BATCH_RECORDS, ROW_KEY, ROW_TIMESTAMP, toLogRow, utf8Bytes } from "../db/log-writer";
import type { LogRecord } from "../ingest/record";
import type { Batch } from "./flush";

/** How long flushed keys are remembered to recognise a retried hand-off. */
export const DEDUP_WINDOW_MS = 15 * 60 * 1000;

export class RecordBuffer {
  constructor(private readonly sql: SqlStorage) {}

  /** Stores the records not seen before (sampled-out ones are not stored raw) and returns those fresh ones. */
  insert(records: readonly LogRecord[]): LogRecord[] {
    const rows = JSON.stringify(records.filter((r) => !r.sampled_out).map(toLogRow));
    // One statement for the whole hand-off; keys seen before (or twice in it) are duplicates.
    const seen = new Set(
      this.sql
        .exec<{ record_key: string }>(`SELECT record_key FROM records WHERE record_key IN (SELECT value ->> ${ROW_KEY} FROM json_each(?))`, rows)
        .toArray()
        .map((r) => r.record_key),
    );
    const fresh: LogRecord[] = [];
    for (const r of records) {
      if (seen.has(r.key)) continue;
      seen.add(r.key);
      fresh.push(r);
    }
    this.sql.exec(
      `INSERT OR IGNORE INTO records (record_key, ts, body)
       SELECT value ->> ${ROW_KEY}, value ->> ${ROW_TIMESTAMP}, value FROM json_each(?)`,
      rows,
    );
    return fresh;
  }

  backlog(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM records WHERE flushed_at IS NULL").one().n;
  }

  /** The oldest unflushed records, within D1's batch limits. */
  nextBatch(): Batch {
    const keys: string[] = [];
    const bodies: string[] = [];
    let bytes = 0;
    const rows = this.sql.exec<{ record_key: string; body: string }>(
      "SELECT record_key, body FROM records WHERE flushed_at IS NULL ORDER BY ts LIMIT ?",
      MAX_BATCH_RECORDS,
    );
    for (const row of rows) {
      const size = utf8Bytes(row.body) + 1;
      if (keys.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      keys.push(row.record_key);
      bodies.push(row.body);
      bytes += size;
    }
    return { keys, bodies };
  }

  markFlushed(written: readonly string[], poisoned: readonly { key: string; body: string; error: string }[], at: number): void {
    this.sql.exec("UPDATE records SET flushed_at = ? WHERE record_key IN (SELECT value FROM json_each(?))", at, JSON.stringify(written));
    for (const p of poisoned) {
      this.sql.exec("INSERT OR REPLACE INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, ?, ?)", p.key, p.body, p.error, at);
      this.sql.exec("DELETE FROM records WHERE record_key = ?", p.key);
    }
  }

  prune(now: number): void {
    this.sql.exec("DELETE FROM records WHERE flushed_at IS NOT NULL AND flushed_at < ?", now - DEDUP_WINDOW_MS);
  }
}
