/**
 * The endpoint Durable Object's own SQLite schema. Records are buffered here first: this is
 * the durability point of ingest (the Worker answers before D1 is touched), and the alarm
 * moves them to D1 later in large batches. Rows are only marked flushed after D1 committed,
 * and flushed keys stay a while so that a retried hand-off is recognised as a duplicate.
 */

export const SCHEMA_VERSION = 2;

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
  `CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS quarantine (
     record_key TEXT PRIMARY KEY,
     body TEXT NOT NULL,
     error TEXT NOT NULL,
     quarantined_at INTEGER NOT NULL
   )`,
];

export const MAX_COUNTER = `INSERT INTO counters (name, value) VALUES (?, ?)
  ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`;
