/**
 * Re-evaluation of one endpoint from its logs in D1 or in the R2 archive: the windows, baselines
 * and incident state are rebuilt by replaying the logs in event-time order through the same code
 * as live traffic. Both sources yield pages of records in (timestamp, seq) order to one replay.
 * Incidents get the same ids when the same traffic yields them, so the rows in D1 are updated,
 * not duplicated; an incident that was open before and that the replay does not reproduce is
 * resolved.
 */
import { and, asc, eq, gte, lte, max, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { requestLogs } from "../db/schema";
import type { DetectionConfig } from "../detect/config";
import type { Endpoint, Incident } from "../detect/incident";
import { explain } from "../detect/explain";
import type { DetectionRunner } from "./detection-runner";
import { MINUTE_MS, type WindowRecord } from "./minute-counts";
import { archivePages } from "./reevaluate-archive";
import { FUTURE_TOLERANCE_MS } from "../ingest/record";

export const MAX_LOOKBACK_MINUTES = 3 * 24 * 60;
/** Rows read per page, and at most this many rows in one re-evaluation. */
const PAGE_ROWS = 5000;
const MAX_ROWS = 300_000;

export interface ReevaluateResult {
  records: number;
  minutes_evaluated: number;
  /** Incidents opened by the replay (ids). */
  incidents: string[];
  open_incident_id: string | null;
  /** True when MAX_ROWS was reached before the end. */
  truncated: boolean;
}

/**
 * The endpoint's newest raw row within the longest look-back (the raw table has no service index:
 * without the time bound an endpoint with no rows would read the whole table).
 */
async function newestLog(db: D1Database, e: Endpoint, now: number): Promise<number | null> {
  const t = requestLogs;
  const row = await drizzle(db)
    .select({ at: max(t.timestamp) })
    .from(t)
    .where(
      and(
        gte(t.timestamp, now - MAX_LOOKBACK_MINUTES * MINUTE_MS),
        eq(t.service, e.service),
        eq(t.route, e.route),
        eq(t.method, e.method),
      ),
    )
    .get();
  return row?.at ?? null;
}

/** Where a re-evaluation reads the endpoint's records: D1's raw rows, or the R2 archive's hour objects. */
export type ReplaySource = "d1" | "archive";

/**
 * The endpoint's records from D1 from `from` on, in (timestamp, record_key) order, page by page.
 * A sampled row (weight w) is replayed as the records it stands for: w copies, the fractions
 * carried from row to row so that a page replays as many records as its weights add up to.
 */
async function* d1Pages(
  db: D1Database,
  endpoint: Endpoint,
  from: number,
  until: number,
): AsyncGenerator<WindowRecord[]> {
  const d = drizzle(db);
  const t = requestLogs;
  let cursor = { timestamp: from - 1, key: "\u{10FFFF}" };
  let carried = 0;
  for (;;) {
    const rows = await d
      .select({
        key: t.recordKey,
        weight: t.weight,
        timestamp: t.timestamp,
        status: t.status,
        latency_ms: t.latencyMs,
        response_empty: t.responseEmpty,
        inconsistent: t.inconsistent,
        request_bytes: t.requestBytes,
        response_bytes: t.responseBytes,
        source: t.source,
        error: t.error,
        consumer: t.consumer,
        region: t.region,
      })
      .from(t)
      .where(
        and(
          eq(t.service, endpoint.service),
          eq(t.route, endpoint.route),
          eq(t.method, endpoint.method),
          gte(t.timestamp, from),
          // An upper bound, so that the last page does not read every newer row of other endpoints.
          lte(t.timestamp, until),
          sql`(${t.timestamp}, ${t.recordKey}) > (${cursor.timestamp}, ${cursor.key})`,
        ),
      )
      .orderBy(asc(t.timestamp), asc(t.recordKey))
      .limit(PAGE_ROWS)
      .all();
    const last = rows[rows.length - 1];
    if (!last) return;
    cursor = { timestamp: last.timestamp, key: last.key };
    const page: WindowRecord[] = [];
    for (const { key: _key, weight, ...r } of rows) {
      const record = { ...r, source: r.source === "probe" ? ("probe" as const) : undefined };
      const copies = Math.floor(carried + weight);
      carried += weight - copies;
      for (let i = 0; i < copies; i++) page.push(record);
    }
    yield page;
    if (rows.length < PAGE_ROWS) return;
  }
}

/**
 * Re-evaluates one endpoint over the last `lookbackMinutes` of event time, ending at the object's
 * watermark (else the newest row in D1, else now), from D1 or from the archive.
 */
export async function reevaluateEndpoint(
  storage: DurableObjectStorage,
  bindings: { db: D1Database; archive: R2Bucket | undefined },
  source: ReplaySource,
  detection: DetectionRunner,
  endpoint: Endpoint,
  cfg: DetectionConfig,
  lookbackMinutes: number,
  /** Persists the write-behind windows inside the replay's transactions (see windows-checkpoint.ts). */
  persistWindows: () => void = () => undefined,
): Promise<ReevaluateResult> {
  const { archive } = bindings;
  if (source === "archive" && !archive) throw new Error("no ARCHIVE bucket is bound");
  const before = detection.engineState().machine.open;
  const watermark = detection.watermark();
  const now = Date.now();
  const end = watermark ?? (source === "d1" ? await newestLog(bindings.db, endpoint, now) : null) ?? now;
  const from = end - Math.min(lookbackMinutes, MAX_LOOKBACK_MINUTES) * MINUTE_MS;
  const pages =
    archive && source === "archive"
      ? archivePages(archive, endpoint, from, end)
      : d1Pages(bindings.db, endpoint, from, Math.max(end, now) + FUTURE_TOLERANCE_MS);
  // The windows are write-behind: each transaction persists them with the state it moved, so an
  // eviction mid-replay leaves windows that match `last_evaluated` (not emptied ones).
  storage.transactionSync(() => {
    detection.reset();
    persistWindows();
  });
  let records = 0;
  let minutes = 0;
  const opened: string[] = [];
  let truncated = false;
  for await (const page of pages) {
    records += page.length;
    const { evaluations } = storage.transactionSync(() => {
      const out = detection.absorb(page, null, endpoint, cfg);
      persistWindows();
      return out;
    });
    minutes += evaluations.length;
    for (const ev of evaluations) if (ev.change === "opened" && ev.incident) opened.push(ev.incident.id);
    if (records >= MAX_ROWS) {
      truncated = true;
      break;
    }
  }
  const open = detection.engineState().machine.open;
  if (before && before.id !== open?.id && !opened.includes(before.id)) {
    const closed: Incident = { ...before, status: "resolved", resolved_at: detection.watermark() ?? end };
    closed.explanation = `${explain(closed)} Closed by re-evaluation: the logs no longer show it.`;
    storage.transactionSync(() => detection.closeIncident(closed));
  }
  return { records, minutes_evaluated: minutes, incidents: opened, open_incident_id: open?.id ?? null, truncated };
}
