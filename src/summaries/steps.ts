/**
 * One step of the aggregation (see aggregate.ts): an hour's rows recomputed from the raw logs,
 * or a day's rolled up from its hours, each endpoint on its own so a bad one never blocks the rest.
 */
import { drizzle } from "drizzle-orm/d1";
import { detectionSettings as settingsTable } from "../db/schema";
import { detectionSettings, resolveDetection, type DetectionSettings } from "../detect/config";
import { errorMessage } from "../lib/errors";
import { log } from "../lib/log";
import { DAY_MS, HOUR_MS } from "../lib/time";
import { toSummaryRow, upsertStatements } from "./rows";
import { DAY_SQL, hourStatement, type Granularity, type GroupedRow, type SummaryRow } from "./sql";

const iso = (t: number): string => new Date(t).toISOString();

/** Every service's detection settings (one small table), for Apdex T and the availability SLO. */
export async function loadAllSettings(db: D1Database): Promise<Map<string, DetectionSettings>> {
  const out = new Map<string, DetectionSettings>();
  for (const row of await drizzle(db).select().from(settingsTable).all()) {
    const parsed = detectionSettings.safeParse(JSON.parse(row.config));
    if (parsed.success) out.set(row.service, parsed.data);
    else log("warn", "detection_settings_invalid", { service: row.service });
  }
  return out;
}

/**
 * What one hour or day cost: summary rows written, D1 statements issued, of which upserts; and
 * the endpoints whose stored figures could not make a row (skipped, each with its reason), and
 * the raw rows counted at the ingest bounds.
 */
export interface StepCost {
  rows: number;
  statements: number;
  upserts: number;
  skipped: string[];
  clamped: number;
}

/**
 * Summary rows of grouped figures, one endpoint at a time: an endpoint whose figures cannot make
 * a row (a RangeError from toSummaryRow) is left out and named in `skipped`, so it never blocks
 * the other endpoints of its hour or day.
 */
function buildRows(
  granularity: Granularity,
  bucket: number,
  grouped: GroupedRow[],
  build: (r: GroupedRow) => SummaryRow,
): { rows: SummaryRow[]; skipped: string[] } {
  const rows: SummaryRow[] = [];
  const skipped: string[] = [];
  for (const r of grouped) {
    try {
      rows.push(build(r));
    } catch (err) {
      const reason = errorMessage(err);
      skipped.push(`${granularity} ${iso(bucket)} ${r.service} ${r.method} ${r.route}: ${reason}`);
      log("warn", "aggregate_endpoint_skipped", {
        granularity,
        bucket_start: bucket,
        service: r.service,
        method: r.method,
        route: r.route,
        reason,
      });
    }
  }
  return { rows, skipped };
}

/** Recomputes one hour's rows of every endpoint from the raw logs, in one read of the hour. */
export async function aggregateHour(
  db: D1Database,
  hour: number,
  settings: Map<string, DetectionSettings>,
  now: number,
): Promise<StepCost> {
  const { results } = await hourStatement(db, settings, hour, hour + HOUR_MS).all<GroupedRow>();
  const { rows, skipped } = buildRows("hour", hour, results, (r) => {
    const config = resolveDetection(settings.get(r.service) ?? null, r.method, r.route);
    const t = r.apdex_t_ms ?? config.apdex_t_ms;
    return toSummaryRow(
      "hour",
      hour,
      r,
      { t, satisfied: r.satisfied, tolerating: r.tolerating },
      config.slo.availability,
      now,
    );
  });
  const clamped = results.filter((r) => (r.clamped ?? 0) > 0);
  if (clamped.length > 0) {
    log("warn", "aggregate_values_clamped", {
      hour: iso(hour),
      endpoints: clamped
        .slice(0, 20)
        .map((r) => ({ service: r.service, method: r.method, route: r.route, rows: r.clamped })),
    });
  }
  const upserts = await writeRows(db, rows);
  return {
    rows: rows.length,
    statements: 1 + upserts,
    upserts,
    skipped,
    clamped: clamped.reduce((n, r) => n + (r.clamped ?? 0), 0),
  };
}

/**
 * Recomputes one UTC day's rows from its hourly rows (sketches merged by bucket). Its Apdex counts are its hours' sums, each counted with the T of its time; the T shown
 * (and the SLO of the error budget) is the current one.
 */
export async function rollUpDay(
  db: D1Database,
  day: number,
  settings: Map<string, DetectionSettings>,
  now: number,
): Promise<StepCost> {
  const { results } = await db
    .prepare(DAY_SQL)
    .bind(day, day + DAY_MS)
    .all<GroupedRow>();
  const { rows, skipped } = buildRows("day", day, results, (r) => {
    const config = resolveDetection(settings.get(r.service) ?? null, r.method, r.route);
    return toSummaryRow(
      "day",
      day,
      r,
      { t: config.apdex_t_ms, satisfied: r.satisfied, tolerating: r.tolerating },
      config.slo.availability,
      now,
    );
  });
  const upserts = await writeRows(db, rows);
  return { rows: rows.length, statements: 1 + upserts, upserts, skipped, clamped: 0 };
}

/** Upserts rows in one batch (one transaction), as few statements as the bound-string limit allows; returns how many. */
async function writeRows(db: D1Database, rows: SummaryRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const statements = upsertStatements(db, rows);
  await db.batch(statements);
  return statements.length;
}
