/**
 * The endpoint Durable Object's own SQLite schema. Records are buffered here first: this is
 * the durability point of ingest (the Worker answers before D1 is touched), and the alarm
 * moves them to D1 later in large batches. Rows are only marked flushed after D1 committed,
 * and flushed keys stay a while so that a retried hand-off is recognised as a duplicate.
 */

export const SCHEMA_VERSION = 1;

export const SCHEMA_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS records (
     record_key TEXT PRIMARY KEY,
     ts INTEGER NOT NULL,
     body TEXT NOT NULL,
     flushed_at INTEGER
   )`,
  `CREATE INDEX IF NOT EXISTS records_pending ON records (ts) WHERE flushed_at IS NULL`,
  `CREATE INDEX IF NOT EXISTS records_flushed ON records (flushed_at) WHERE flushed_at IS NOT NULL`,
  `CREATE TABLE IF NOT EXISTS minute_buckets (
     minute INTEGER PRIMARY KEY,
     count INTEGER NOT NULL,
     status_2xx INTEGER NOT NULL,
     status_3xx INTEGER NOT NULL,
     status_4xx INTEGER NOT NULL,
     status_5xx INTEGER NOT NULL,
     silent_failures INTEGER NOT NULL,
     latency_sum REAL NOT NULL,
     latency_max REAL NOT NULL,
     bytes INTEGER NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS quarantine (
     record_key TEXT PRIMARY KEY,
     body TEXT NOT NULL,
     error TEXT NOT NULL,
     quarantined_at INTEGER NOT NULL
   )`,
];

export const UPSERT_BUCKET = `INSERT INTO minute_buckets
  (minute, count, status_2xx, status_3xx, status_4xx, status_5xx, silent_failures, latency_sum, latency_max, bytes)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (minute) DO UPDATE SET
    count = count + excluded.count,
    status_2xx = status_2xx + excluded.status_2xx,
    status_3xx = status_3xx + excluded.status_3xx,
    status_4xx = status_4xx + excluded.status_4xx,
    status_5xx = status_5xx + excluded.status_5xx,
    silent_failures = silent_failures + excluded.silent_failures,
    latency_sum = latency_sum + excluded.latency_sum,
    latency_max = max(latency_max, excluded.latency_max),
    bytes = bytes + excluded.bytes`;

export const MAX_COUNTER = `INSERT INTO counters (name, value) VALUES (?, ?)
  ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`;
