/**
 * The cost meter against D1's and SQLite's own counts: rows written through the real log
 * writer and the endpoint object's flush, the D1 size in /health and /v1/control/status, and
 * the cost section of GET /v1/stats.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CostMeter } from "../src/cost/counts";
import { meteredD1 } from "../src/cost/d1";
import { currentD1Size } from "../src/cost/d1-size";
import { toLogRow, writeLogBatch, type LogRow } from "../src/db/log-writer";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { ADMIN_KEY, call, countLogs, endpointStub, getJson, record } from "./helpers";

function records(service: string, n: number, start = Date.now() - 60_000, idPrefix = service): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  return Array.from({ length: n }, (_, i) => {
    const result = normaliseRecord(
      record(service, {
        id: `${idPrefix}-${i}`,
        path: "/orders",
        timestamp: start + i,
        status: i % 10 === 0 ? 503 : 200,
      }),
      ctx,
    );
    if (!result.ok) throw new Error(result.errors.join("; "));
    return result.record;
  });
}

/** Rows D1 writes for one new request_logs row: the table row (its primary key) and one per secondary index. */
async function rowsPerLogRow(): Promise<number> {
  const idx = await env.DB.prepare(
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = 'request_logs'",
  ).first<{ n: number }>();
  return 1 + (idx?.n ?? 0);
}

describe("cost meter: D1", () => {
  it("counts the rows the real log writer writes as D1 reports them: one per row (no secondary index), one per hour touched, one per hour new to the service", async () => {
    const meter = new CostMeter();
    const service = "meter-writer";
    // The service row first, so that only request_logs rows remain to count.
    const firstAt = Date.now();
    await writeLogBatch(
      env.DB,
      [JSON.stringify(toLogRow(records(service, 1, firstAt, "first")[0] as LogRecord))],
      Date.now(),
    );
    const n = 120;
    const rows = records(service, n, Date.now() - 3_600_000).map((r) => JSON.stringify(toLogRow(r)));
    await writeLogBatch(meteredD1(env.DB, meter), rows, Date.now());
    expect(await countLogs(service)).toBe(n + 1);
    const perRow = await rowsPerLogRow();
    // The lean table: its row only, no secondary index since migration 0010 (issue 13: at most 3 per stored row).
    expect(perRow).toBe(1);
    const hours = new Set(rows.map((r) => Math.floor((JSON.parse(r) as LogRow)[1] / 3_600_000)));
    // log_hours: one row per hour touched; log_service_hours: one per hour the service had no row in yet.
    const firstHour = Math.floor(firstAt / 3_600_000);
    const newServiceHours = [...hours].filter((h) => h !== firstHour).length;
    expect(meter.counts.d1_rows_written).toBe(n * perRow + hours.size + newServiceHours);
    expect(meter.counts.d1_statements_metered).toBe(4);
    expect(meter.d1SizeBytes).toBeGreaterThan(0);

    // A re-sent batch stores nothing and writes nothing.
    const again = new CostMeter();
    await writeLogBatch(meteredD1(env.DB, again), rows, Date.now());
    expect(again.counts.d1_rows_written).toBe(0);
  });

  it("counts a DELETE as one row written per deleted row, and first()/raw() as unmetered", async () => {
    const meter = new CostMeter();
    const db = meteredD1(env.DB, meter);
    const service = "meter-delete";
    await writeLogBatch(
      env.DB,
      records(service, 30).map((r) => JSON.stringify(toLogRow(r))),
      Date.now(),
    );
    const result = await db.prepare("DELETE FROM request_logs WHERE service = ?").bind(service).run();
    expect(meter.counts.d1_rows_written).toBe(result.meta.rows_written);
    expect(meter.counts.d1_rows_written).toBeGreaterThanOrEqual(30);
    await db.prepare("SELECT 1").first();
    await db.prepare("SELECT 1").raw();
    expect(meter.counts.d1_statements_unmetered).toBe(2);
  });
});

describe("cost meter: endpoint object", () => {
  it("counts its flush's D1 rows, its own SQLite rows and its requests", async () => {
    const service = "meter-object";
    const stub = endpointStub(service, "GET", "/orders");
    const n = 50;
    await stub.ingest(records(service, n));
    await runDurableObjectAlarm(stub);
    expect(await countLogs(service)).toBe(n);
    const cost = await stub.cost();
    const perRow = await rowsPerLogRow();
    // The flush wrote n log rows (and their index rows) plus the service row; publishing may add more.
    expect(cost.d1_rows_written).toBeGreaterThanOrEqual(n * perRow);
    expect(cost.do_rows_written).toBeGreaterThan(0);
    expect(cost.do_requests).toBeGreaterThanOrEqual(2);
    // A second hand-off and flush: one chunk row and the alarm (the flush's marks wait for the
    // windows' persist: D1 ignores a re-sent row), not rows per record (a row per record, marked
    // and deleted, was 7 per record).
    await stub.ingest(records(service, n, Date.now() - 30_000, `${service}-2`));
    await runDurableObjectAlarm(stub);
    const second = (await stub.cost()).do_rows_written - cost.do_rows_written;
    expect(second).toBeGreaterThanOrEqual(2);
    expect(second).toBeLessThan(n / 2);
    const sqliteSays = await runInDurableObject(stub, (_i: EndpointMonitor, state) =>
      state.storage.sql.exec("SELECT count(*) AS n, total(n) AS records FROM chunks").one(),
    );
    expect(sqliteSays).toEqual({ n: 2, records: 2 * n });
  });
});

describe("D1 size", () => {
  it("is reported by /health and /v1/control/status against D1_MAX_BYTES", async () => {
    const health = await (
      await call("/health")
    ).json<{ d1_size: { bytes: number; max_bytes: number; share: number; state: string } }>();
    expect(health.d1_size.bytes).toBeGreaterThan(0);
    expect(health.d1_size.max_bytes).toBe(9e9);
    expect(health.d1_size.state).toBe("ok");
    expect(health.d1_size.share).toBeCloseTo(health.d1_size.bytes / 9e9, 4);
    const status = await getJson<{ d1_size: { bytes: number; max_bytes: number; state: string } }>(
      "/v1/control/status",
      ADMIN_KEY,
    );
    expect(status.status).toBe(200);
    expect(status.body.d1_size.bytes).toBeGreaterThan(0);
    expect(status.body.d1_size.max_bytes).toBe(9e9);
  });

  it("is high from 80% of the budget and full at it, measured on the real database", async () => {
    const bytes = (await currentD1Size(env.DB, new CostMeter(), undefined)).bytes ?? 0;
    expect(bytes).toBeGreaterThan(0);
    expect((await currentD1Size(env.DB, new CostMeter(), String(bytes))).state).toBe("full");
    expect((await currentD1Size(env.DB, new CostMeter(), String(Math.ceil(bytes / 0.85)))).state).toBe("high");
    expect((await currentD1Size(env.DB, new CostMeter(), String(bytes * 2))).state).toBe("ok");
  });
});

describe("GET /v1/stats cost", () => {
  it("reports counts per million records ingested and their price", async () => {
    const res = await getJson<{
      cost: {
        records: number;
        counts: { worker_requests: number; d1_rows_written: number };
        lines: Record<string, { per_million_records: number; usd_per_million_records: number }>;
        usd_per_million_records: number | null;
        prices: { taken_on: string; d1_rows_written_per_million: number };
        d1_size: { bytes: number };
      };
    }>("/v1/stats");
    expect(res.status).toBe(200);
    const cost = res.body.cost;
    expect(cost.prices.taken_on).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(cost.prices.d1_rows_written_per_million).toBe(1);
    expect(cost.counts.worker_requests).toBeGreaterThan(0);
    expect(cost.d1_size.bytes).toBeGreaterThan(0);
    if (cost.records > 0) {
      expect(cost.lines.d1_rows_written?.per_million_records).toBeCloseTo(
        (cost.counts.d1_rows_written / cost.records) * 1e6,
        0,
      );
    }
  });
});
