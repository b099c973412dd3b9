/**
 * The endpoint Durable Object's own SQLite schema. Records are buffered here first: this is
 * the durability point of ingest (the Worker answers before D1 is touched), and the alarm
 * moves them to D1 and to the R2 archive later in large batches. A hand-off is one row of
 * `chunks` (see record-buffer.ts); how far D1 and R2 took the chunks is kept as watermarks in
 * `meta`, and chunks stay a while after both took them so that a retried hand-off is recognised
 * as a duplicate.
 */

export const SCHEMA_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // One row per hand-off: `rows` the JSON array of its fresh rows (each a positional LogRow),
  // `n` their number, `skipped` the keys of fresh records not stored raw (sampled out), `counts`
  // the hand-off's counter increments (folded into `counters` when the chunk is deleted).
  `CREATE TABLE IF NOT EXISTS chunks (
     seq INTEGER PRIMARY KEY,
     rows TEXT NOT NULL,
     n INTEGER NOT NULL,
     added_at INTEGER NOT NULL,
     skipped TEXT,
     counts TEXT
   )`,
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

/**
 * A `meta` value written as an upsert (binds: key, value, value): one SQLite row written, and none
 * when the value is unchanged. `INSERT OR REPLACE` of an existing key is a delete and an insert,
 * two rows billed.
 */
export const UPSERT_META =
  "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value IS NOT ?";
