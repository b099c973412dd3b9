/**
 * The stored form of a record, and the D1 write of a batch of them.
 *
 * A record travels as a positional JSON array (`toLogRow`, columns in `LOG_COLUMNS` order): the
 * endpoint Durable Object buffers that text as is, and the flush sends a whole batch to D1 as
 * one bound JSON array read with `json_each`. Two bound parameters whatever the batch size (D1
 * allows 100), and no re-serialisation between buffer and D1. Positional extraction is cheaper
 * than `->> '$.name'`, which re-parses the object for every column. `ON CONFLICT DO NOTHING` on the
 * primary key (timestamp, record key) makes a re-sent batch (a retry after a crash or a failed mark) store each
 * record once.
 *
 * This hot-path statement is written against the D1 API directly: an INSERT ... SELECT over
 * `json_each` is not something the query builder expresses. The columns follow
 * `src/db/schema/`; the ingest tests read every column back through drizzle.
 */
import type { LogRecord } from "../records/log-record";

/** Largest JSON payload, in UTF-8 bytes, sent to D1 in one statement (D1 caps a bound string at 2 MB). */
export const MAX_BATCH_BYTES = 768 * 1024;
export const MAX_BATCH_RECORDS = 500;

/** D1 columns, in the order of a log row. */
export const LOG_COLUMNS = [
  "record_key",
  "timestamp",
  "received_at",
  "service",
  "method",
  "route",
  "path",
  "status",
  "latency_ms",
  "ttfb_ms",
  "request_bytes",
  "response_bytes",
  "error",
  "response_empty",
  "client_id",
  "request_id",
  "client_ip",
  "user_agent",
  "consumer",
  "region",
  "attributes",
  "source",
  // Columns are only ever appended: rows buffered by an older version stay readable.
  "inconsistent",
  // How many records the row stands for (src/storage/sampling.ts); appended by the flush.
  "weight",
] as const;

export type LogRow = [
  string,
  number,
  number,
  string,
  string,
  string,
  string,
  number,
  number,
  number | null,
  number | null,
  number | null,
  string | null,
  0 | 1,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string,
  0 | 1,
  number?,
];

/** Positions of the row fields the Durable Object reads back. */
export const ROW_KEY = 0;
export const ROW_TIMESTAMP = 1;

/** A normalised record as a positional row. */
export function toLogRow(r: LogRecord): LogRow {
  return [
    r.key,
    r.timestamp,
    r.received_at,
    r.service,
    r.method,
    r.route,
    r.path,
    r.status,
    r.latency_ms,
    r.ttfb_ms,
    r.request_bytes,
    r.response_bytes,
    r.error,
    r.response_empty ? 1 : 0,
    r.id,
    r.request_id,
    r.client_ip,
    r.user_agent,
    r.consumer,
    r.region,
    r.attributes ? JSON.stringify(r.attributes) : null,
    r.source,
    r.inconsistent ? 1 : 0,
  ];
}

// Columns a row of an older layout lacks read as NULL: give them their defaults.
const ROW_DEFAULTS: Partial<Record<(typeof LOG_COLUMNS)[number], string>> = { inconsistent: "0", weight: "1" };
// ON CONFLICT on the record key only: a duplicate is skipped, any other constraint failure is an
// error (OR IGNORE would skip it silently and the batch would be marked flushed).
const INSERT_LOGS = `INSERT INTO request_logs (${LOG_COLUMNS.join(", ")})
  SELECT ${LOG_COLUMNS.map((c, i) => (ROW_DEFAULTS[c] ? `coalesce(value ->> ${i}, ${ROW_DEFAULTS[c]})` : `value ->> ${i}`)).join(", ")}
  FROM json_each(?1) WHERE true
  ON CONFLICT (timestamp, record_key) DO NOTHING`;
// One row per hour of event time the batch touches, each stamped with a new sequence number
// (one up per hour written, in hour order): the summaries find the hours that received rows since
// their last run from this small table. Nothing when the insert before it in the batch stored no
// row (changes(): a re-sent batch).
const MARK_HOURS = `INSERT INTO log_hours (hour, seq)
  SELECT hour, (SELECT coalesce(max(seq), 0) FROM log_hours) + row_number() OVER (ORDER BY hour)
  FROM (SELECT DISTINCT CAST(value ->> ${LOG_COLUMNS.indexOf("timestamp")} AS INTEGER) / 3600000 AS hour FROM json_each(?1) WHERE changes() > 0)
  WHERE true
  ON CONFLICT (hour) DO UPDATE SET seq = excluded.seq`;
// One row per service and hour of event time with raw rows (GET /v1/logs?service= reads only
// the span of a service's hours): written once, the first time the hour gets a row of the service.
const MARK_SERVICE_HOURS = `INSERT INTO log_service_hours (service, hour)
  SELECT DISTINCT value ->> ${LOG_COLUMNS.indexOf("service")}, CAST(value ->> ${LOG_COLUMNS.indexOf("timestamp")} AS INTEGER) / 3600000 FROM json_each(?1) WHERE true
  ON CONFLICT DO NOTHING`;
const INSERT_SERVICES = `INSERT OR IGNORE INTO services (name, first_seen_at)
  SELECT DISTINCT value ->> ${LOG_COLUMNS.indexOf("service")}, ?2 FROM json_each(?1)`;

/** UTF-8 size of a string, without encoding it when it is ASCII. */
export function utf8Bytes(text: string): number {
  // eslint-disable-next-line no-control-regex -- ASCII is 0x00-0x7f, control characters included
  return /^[\x00-\x7f]*$/.test(text) ? text.length : new TextEncoder().encode(text).byteLength;
}

/**
 * Inserts rows (each the JSON text of a `LogRow`), their services and the hours they touch (and
 * each service's hours) in one D1 batch, which D1 runs as a transaction: either every row is
 * committed or none. MARK_HOURS reads the insert's changes(): it stays right after it.
 */
export async function writeLogBatch(db: D1Database, rowJson: readonly string[], now: number): Promise<void> {
  if (rowJson.length === 0) return;
  const payload = `[${rowJson.join(",")}]`;
  await db.batch([
    db.prepare(INSERT_SERVICES).bind(payload, now),
    db.prepare(INSERT_LOGS).bind(payload),
    db.prepare(MARK_HOURS).bind(payload),
    db.prepare(MARK_SERVICE_HOURS).bind(payload),
  ]);
}
