/**
 * Hourly summaries while D1 is at its cap (`D1_MAX_BYTES`): raw rows stop going to D1 there, so
 * the aggregation cron, which reads raw rows, would undercount those hours. The endpoint object
 * counts every record in its hour windows anyway, so it writes the hour's summary row itself, from
 * the window: exact counts, bytes and latency sum, percentiles from the window's sketch (as the
 * cron's are from its sketch of the rows). Apdex is estimated from the sketch: the share of the
 * hour's requests at or below T (and 4T), the 5xx taken out in proportion (the window does not
 * keep the latencies of the 5xx apart).
 *
 * The row wins over the cron's: the summaries upsert never replaces a row by one with a smaller
 * count (src/summaries/sql.ts), and an hour's count only grows. The hour is marked in `log_hours`
 * like a flush of raw rows would, so the cron rolls its day up again. Pure except the write.
 */
import type { DetectionConfig } from "../detect/config";
import type { Endpoint } from "../detect/incident";
import { toSummaryRow, upsertStatements } from "../summaries/rows";
import type { SummaryRow } from "../summaries/sql";
import { HOUR_MS } from "./minute-counts";
import type { HourWindow } from "./window-rows";

/** The `summaries` row of one hour window (granularity "hour"). */
export function hourSummaryRow(endpoint: Endpoint, w: HourWindow, cfg: DetectionConfig, now: number): SummaryRow {
  const t = cfg.apdex_t_ms;
  const good = w.count > 0 ? 1 - w.status_5xx / w.count : 0;
  const atT = w.sketch.countAtOrBelow(t);
  const at4T = w.sketch.countAtOrBelow(4 * t);
  const data = w.sketch.toJSON();
  return toSummaryRow(
    "hour",
    w.start,
    {
      ...endpoint,
      count: w.count,
      s2: w.status_2xx,
      s3: w.status_3xx,
      s4: w.status_4xx,
      s5: w.status_5xx,
      silent: w.silent_failures,
      inconsistent: w.inconsistent,
      bytes: w.bytes,
      latency_sum: w.latency_sum,
      max_ms: w.latency_max,
      satisfied: Math.round(atT * good),
      tolerating: Math.round((at4T - atT) * good),
      zero: data.z,
      buckets: JSON.stringify(data.b),
    },
    { t, satisfied: Math.round(atT * good), tolerating: Math.round((at4T - atT) * good) },
    cfg.slo.availability,
    now,
  );
}

// The hour (index: event time / 1 h) gets the next flush sequence number, as a flush of raw rows would mark it.
const MARK_HOUR = `INSERT INTO log_hours (hour, seq) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM log_hours))
  ON CONFLICT (hour) DO UPDATE SET seq = excluded.seq`;

/** Writes the rows and marks their hours, in one D1 batch; throws when D1 fails. */
export async function writeHourSummaries(db: D1Database, rows: readonly SummaryRow[]): Promise<void> {
  if (rows.length === 0) return;
  const marks = [...new Set(rows.map((r) => r.bucket_start / HOUR_MS))].map((hour) => db.prepare(MARK_HOUR).bind(hour));
  await db.batch([...upsertStatements(db, [...rows]), ...marks]);
}
