/**
 * Writes normalised records to D1 in one statement per batch: the records travel as one bound
 * JSON array read with `json_each`, so a batch of hundreds of records needs two bound
 * parameters, far below D1's limit of 100. `INSERT OR IGNORE` on the unique record key makes a
 * re-sent batch (a retry after a crash or a failed delete) store each record once.
 * This hot-path statement is written against the D1 API directly: it is one INSERT ... SELECT
 * over `json_each`, which the query builder cannot express, and the columns follow
 * `src/db/schema.ts` (the insert test reads every column back through drizzle).
 */

/** Largest JSON payload sent to D1 in one statement (D1 caps a bound string at 2 MB). */
export const MAX_BATCH_BYTES = 768 * 1024;
export const MAX_BATCH_RECORDS = 500;

const LOG_COLUMNS =
  "record_key, timestamp, received_at, service, method, route, path, status, latency_ms, ttfb_ms, " +
    "request_bytes, response_bytes, error, response_empty, client_id, request_id, client_ip, user_agent, " +
    "consumer, region, attributes, source";
const LOG_VALUES =
  "value ->> '$.key', value ->> '$.timestamp', value ->> '$.received_at', value ->> '$.service', " +
    "value ->> '$.method', value ->> '$.route', value ->> '$.path', value ->> '$.status', " +
    "value ->> '$.latency_ms', value ->> '$.ttfb_ms', value ->> '$.request_bytes', value ->> '$.response_bytes', " +
    "value ->> '$.error', coalesce(value ->> '$.response_empty', 0), value ->> '$.id', value ->> '$.request_id', " +
    "value ->> '$.client_ip', value ->> '$.user_agent', value ->> '$.consumer', value ->> '$.region', " +
    "CASE WHEN json_type(value, '$.attributes') = 'object' THEN value -> '$.attributes' END, value ->> '$.source'";

/**
 * Inserts records (each already a JSON string of a `LogRecord`) and their services in one D1
 * batch, which D1 runs as a transaction: either every row is committed or none.
 */
export async function writeLogBatch(db: D1Database, recordJson: readonly string[], now: number): Promise<void> {
  if (recordJson.length === 0) return;
  const payload = `[${recordJson.join(",")}]`;
  await db.batch([
    db
      .prepare("INSERT OR IGNORE INTO services (name, first_seen_at) SELECT DISTINCT value ->> '$.service', ?2 FROM json_each(?1)")
      .bind(payload, now),
    db.prepare(`INSERT OR IGNORE INTO request_logs (${LOG_COLUMNS}) SELECT ${LOG_VALUES} FROM json_each(?1)`).bind(payload),
  ]);
}
