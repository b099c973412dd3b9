/**
 * The archive write-through with the real local R2: the endpoint object's flush writes every
 * record to the archive, read back end to end through `GET /v1/archive/logs` (counts per hour
 * equal the endpoint's own counters); an eviction after the R2 puts and before the watermark
 * leaves neither a loss nor a duplicate in R2 or D1; and R2 failing holds the chunks (never
 * pruned before R2 took them) without holding D1 back.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import { writeLogBatch, type LogRow } from "../src/db/log-writer";
import { WRITE_THROUGH_MARKER, writeThroughSince } from "../src/monitor/archive-through";
import { prune, type RawReport } from "../src/retention/prune";
import { DEDUP_WINDOW_MS, type EndpointMonitor } from "../src/monitor/endpoint-monitor";
import worker from "../src/index";
import {
  ADMIN_KEY,
  BASE,
  call,
  countLogs,
  endpointStub,
  eventually,
  INGEST_KEY,
  inMonitor,
  READ_KEY,
  record,
  runFlush,
} from "./helpers";
import { createExecutionContext } from "cloudflare:test";

const HOUR = 3_600_000;

function records(service: string, n: number, first: number, timestamp: (i: number) => number): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  return Array.from({ length: n }, (_, k) => {
    const i = first + k;
    const fields = {
      id: `${service}-${i}`,
      path: "/orders",
      timestamp: timestamp(i),
      status: i % 25 === 0 ? 503 : 200,
      error: i % 25 === 0 ? "upstream down" : undefined,
    };
    const result = normaliseRecord(record(service, fields), ctx);
    if (!result.ok) throw new Error(result.errors.join("; "));
    return result.record;
  });
}

type Line = Record<string, unknown>;

/** Every archived record of a service in [from, to], following cursors. */
async function readArchive(service: string, from: number, to: number): Promise<Line[]> {
  const out: Line[] = [];
  let cursor: string | null = null;
  for (let calls = 0; calls < 100; calls++) {
    const q = `service=${service}&from=${from}&to=${to}&limit=10000${cursor ? `&cursor=${cursor}` : ""}`;
    const res = await call(`/v1/archive/logs?${q}`, { headers: { Authorization: `Bearer ${READ_KEY}` } });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Line);
    const summary = lines.pop() as { next_cursor: string | null };
    out.push(...lines);
    cursor = summary.next_cursor;
    if (cursor === null) return out;
  }
  throw new Error("too many calls");
}

/** Runs alarms until D1 and R2 took every buffered record. */
/** The archive backlog the endpoint object last published in D1 (`endpoint_health.metrics`). */
async function publishedArchiveBacklog(service: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT metrics ->> '$.archive_backlog' AS n FROM endpoint_health WHERE service = ?")
    .bind(service)
    .first<{ n: number | null }>();
  return row?.n ?? null;
}

async function drain(stub: DurableObjectStub<EndpointMonitor>, ms = 10_000): Promise<void> {
  await eventually(async () => {
    const s = await stub.stats();
    if (s.backlog === 0 && s.archive_backlog === 0) return true;
    await runFlush(stub);
    return false;
  }, ms);
}

/** Runs `before` ahead of every R2 put of the endpoint object (it may throw: a failing put). */
async function wrapPut(stub: DurableObjectStub<EndpointMonitor>, before: () => void): Promise<void> {
  await runInDurableObject(stub, (instance: EndpointMonitor) => {
    const bucket = instance.archive;
    if (!bucket) throw new Error("ARCHIVE not bound");
    instance.archive = new Proxy(bucket, {
      get(target, prop) {
        if (prop === "put") {
          return async (...args: Parameters<R2Bucket["put"]>) => {
            before();
            return target.put(...args);
          };
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  });
}

function perHour(lines: readonly Line[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const l of lines) {
    const hour = Math.floor(Number(l.timestamp) / HOUR) * HOUR;
    out[hour] = (out[hour] ?? 0) + 1;
  }
  return out;
}

async function distinctLogs(service: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(DISTINCT record_key) AS n FROM request_logs WHERE service = ?")
    .bind(service)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("archive write-through", () => {
  it("writes every record to R2 by the flush; GET /v1/archive/logs reads them back, per hour as the endpoint counted", async () => {
    const service = "wt-e2e";
    const stub = endpointStub(service, "GET", "/orders");
    const start = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR + 60_000;
    const span = 3 * HOUR - 5 * 60_000;
    const n = 600;
    // Six hand-offs in event order, spread over three or four hours.
    for (let h = 0; h < 6; h++)
      await stub.ingest(records(service, n / 6, (h * n) / 6, (i) => start + Math.floor((i / n) * span)));
    await drain(stub);

    const lines = await readArchive(service, start - HOUR, Date.now());
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.log_id)).size).toBe(n);
    const errors = lines.filter((l) => l.status === 503);
    expect(errors).toHaveLength(n / 25);
    expect(errors[0]).toMatchObject({ service, method: "GET", route: "/orders", error: "upstream down" });

    // Per hour, the archive holds what the endpoint object counted in its hour windows.
    const detail = await stub.detail();
    const counted = Object.fromEntries(detail.series.hours.filter((p) => p.count > 0).map((p) => [p.start, p.count]));
    expect(perHour(lines)).toEqual(counted);
    const stats = await stub.stats();
    expect(stats).toMatchObject({ received: n, archived: n, flushed: n, archive_backlog: 0, archive_failures: 0 });
    expect(await countLogs(service)).toBe(n);

    // One object per hour per pass (an incident that opens mid-way asks for an alarm at once, whose
    // pass takes the chunks so far), named by the endpoint object and the pass's first chunk.
    const listed = await env.ARCHIVE.list({ prefix: `raw/${service}/` });
    const id = await runInDurableObject(stub, (_i, state) => state.id.toString());
    expect(listed.objects.length).toBeGreaterThanOrEqual(Object.keys(counted).length);
    expect(listed.objects.length).toBeLessThanOrEqual(2 * Object.keys(counted).length);
    for (const o of listed.objects)
      expect(o.key).toMatch(new RegExp(`^raw/${service}/\\d{4}/\\d{2}/\\d{2}/\\d{2}\\.\\d+\\.${id}\\.ndjson\\.gz$`));
    expect(await env.ARCHIVE.head(WRITE_THROUGH_MARKER)).not.toBeNull();
    // The object counted its R2 puts.
    const cost = await stub.cost();
    expect(cost.r2_class_a).toBeGreaterThanOrEqual(listed.objects.length);
    expect(cost.r2_bytes_written).toBeGreaterThan(0);
  });

  it(
    "an eviction after the R2 puts and before the watermark: the retried pass overwrites, nothing is lost or doubled",
    { timeout: 60_000 },
    async () => {
      const service = "wt-evict";
      const stub = endpointStub(service, "GET", "/orders");
      const base = Date.now() - 2 * HOUR;
      await stub.ingest(records(service, 120, 0, (i) => base + i * 40_000)); // two or three hours

      // The puts reach R2, then the object is aborted (as an eviction or a crash would): the
      // watermark is never moved.
      let puts = 0;
      await runInDurableObject(stub, (instance: EndpointMonitor, state) => {
        const bucket = instance.archive;
        if (!bucket) throw new Error("ARCHIVE not bound");
        instance.archive = new Proxy(bucket, {
          get(target, prop) {
            if (prop === "put") {
              return async (...args: Parameters<R2Bucket["put"]>) => {
                const written = await target.put(...args);
                if (!args[0].startsWith("raw/")) return written; // the write-through marker
                puts++;
                // Every put of the pass done (2 or 3 hours), then the object dies before marking.
                await new Promise((r) => setTimeout(r, 100));
                state.abort("evicted mid-flush");
                return written;
              };
            }
            const value: unknown = Reflect.get(target, prop);
            return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      });
      // (120 records in a minute: `auto` flushes once a minute; the flush at a clock past it.)
      await inMonitor(stub, (m) => m.flush.flushDue(Date.now() + 2 * 60_000)).catch(() => false);
      expect(puts).toBeGreaterThanOrEqual(2);
      const before = await env.ARCHIVE.list({ prefix: `raw/${service}/` });
      expect(before.objects.length).toBe(puts);

      // A new instance (a stub that saw the abort is broken). More hand-offs before the retry: the
      // retried pass reads a superset of the first one's chunks.
      const stub2 = endpointStub(service, "GET", "/orders");
      await stub2.ingest(records(service, 60, 120, (i) => base + i * 40_000));
      expect((await stub2.stats()).archive_backlog).toBe(180);
      await drain(stub2);

      const lines = await readArchive(service, base - HOUR, Date.now());
      expect(lines).toHaveLength(180);
      expect(new Set(lines.map((l) => l.log_id)).size).toBe(180);
      const after = await env.ARCHIVE.list({ prefix: `raw/${service}/` });
      for (const o of before.objects) expect(after.objects.map((a) => a.key)).toContain(o.key);
      expect(await countLogs(service)).toBe(180);
      expect(await distinctLogs(service)).toBe(180);
      const detail = await stub2.detail();
      expect(perHour(lines)).toEqual(
        Object.fromEntries(detail.series.hours.filter((p) => p.count > 0).map((p) => [p.start, p.count])),
      );
    },
  );

  it(
    "a retried pass reads exactly the chunks of the first try (saved before its puts), even after an eviction and with smaller limits",
    { timeout: 60_000 },
    async () => {
      const service = "wt-range";
      const stub = endpointStub(service, "GET", "/orders");
      const base = Date.now() - 3 * HOUR;
      // Three hand-offs, three chunks, each of its own hour.
      for (let h = 0; h < 3; h++) await stub.ingest(records(service, 10, h * 10, (i) => base + h * HOUR + i * 1000));
      const first = await runInDurableObject(stub, (instance: EndpointMonitor) => {
        const pass = instance.buffer.nextArchiveBatch(4 * 1024 * 1024, 2000);
        // The puts fail (or the object dies): no mark. A retry with a policy that now waits for the
        // minute (an earlier `beforeSeq`) or smaller limits must still read the whole range, else an
        // object of the first try holding the later chunks' rows would be written again under another key.
        const retry = instance.buffer.nextArchiveBatch(1, 1, pass.from + 1);
        return {
          pass: { from: pass.from, next: pass.next, rows: pass.rows.length },
          retry: { from: retry.from, next: retry.next, rows: retry.rows.length },
        };
      });
      expect(first.pass.rows).toBe(30);
      expect(first.pass.next - first.pass.from).toBe(3);
      expect(first.retry).toEqual(first.pass);
      await stub.ingest(records(service, 10, 30, (i) => base + 3 * HOUR + i * 1000));
      await evictDurableObject(stub);
      const woken = endpointStub(service, "GET", "/orders");
      const again = await runInDurableObject(woken, (instance: EndpointMonitor) => {
        const retry = instance.buffer.nextArchiveBatch(1, 1, 0);
        // R2 took it: the next pass starts after it, with the limits it is given.
        instance.buffer.markArchived(retry.next, retry.rows.length);
        const next = instance.buffer.nextArchiveBatch(4 * 1024 * 1024, 2000);
        return {
          retry: { from: retry.from, next: retry.next, rows: retry.rows.length },
          next: { from: next.from, next: next.next, rows: next.rows.length },
        };
      });
      expect(again.retry).toEqual(first.pass);
      expect(again.next).toEqual({ from: first.pass.next, next: first.pass.next + 1, rows: 10 });
    },
  );

  it(
    "R2 failing: D1 still takes every record, the chunks wait (not pruned), and a later pass archives them",
    { timeout: 60_000 },
    async () => {
      const service = "wt-r2-down";
      const stub = endpointStub(service, "GET", "/orders");
      const down = { on: true };
      await wrapPut(stub, () => {
        if (down.on) throw new Error("R2 unavailable");
      });
      // Four minutes of event time: minutes close and are evaluated, so the object has a state to publish.
      await stub.ingest(records(service, 80, 0, (i) => Date.now() - 600_000 + i * 3000));
      await runFlush(stub);
      expect(await countLogs(service)).toBe(80);
      let stats = await stub.stats();
      expect(stats).toMatchObject({ backlog: 0, archive_backlog: 80, archived: 0, consecutive_archive_failures: 1 });
      expect(stats.archive_failures).toBeGreaterThanOrEqual(1);
      // The object publishes what waits for R2, and the control status adds it up.
      expect(await publishedArchiveBacklog(service)).toBe(80);
      const status = await (
        await call("/v1/control/status", { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })
      ).json<{ archive_backlog: { records: number; endpoints: number } }>();
      expect(status.archive_backlog.records).toBeGreaterThanOrEqual(80);
      expect(status.archive_backlog.endpoints).toBeGreaterThanOrEqual(1);
      // Past the dedup window the chunk is still kept: R2 has not taken it.
      await runInDurableObject(stub, (instance: EndpointMonitor) =>
        instance.jobs.checkpoint.pruneBuffer(Date.now() + DEDUP_WINDOW_MS + 1),
      );
      expect((await stub.stats()).buffered_chunks).toBe(1);
      // A retried hand-off is still a duplicate.
      expect((await stub.ingest(records(service, 80, 0, (i) => Date.now() - 600_000 + i * 3000))).duplicates).toBe(80);

      down.on = false;
      await drain(stub);
      stats = await stub.stats();
      expect(stats).toMatchObject({ archived: 80, archive_backlog: 0, consecutive_archive_failures: 0 });
      await runFlush(stub);
      expect(await publishedArchiveBacklog(service)).toBe(0);
      expect(await readArchive(service, Date.now() - 2 * HOUR, Date.now())).toHaveLength(80);
      // Pruned once the persisted windows hold the chunk too (the alarm persists them within a minute).
      await runInDurableObject(stub, async (instance: EndpointMonitor) => {
        instance.jobs.checkpoint.persist(Date.now(), true);
        instance.jobs.checkpoint.pruneBuffer(Date.now() + DEDUP_WINDOW_MS + 1);
      });
      expect((await stub.stats()).buffered_chunks).toBe(0);
      expect(await countLogs(service)).toBe(80);
    },
  );

  it("writes through to R2 at most once a minute: a flush within the minute sends D1 its rows and R2 nothing; a later clock puts them", async () => {
    const service = "wt-cadence";
    const stub = endpointStub(service, "GET", "/orders");
    const puts = { n: 0 };
    await wrapPut(stub, () => {
      puts.n++;
    });
    const at = (i: number) => Date.now() - 300_000 + i * 1000;
    await stub.ingest(records(service, 5, 0, at));
    await runDurableObjectAlarm(stub); // the first pass since the object woke goes at once
    expect((await stub.stats()).archive_backlog).toBe(0);
    const first = puts.n; // the hour's object (and the write-through marker, the first time)
    for (let k = 1; k <= 3; k++) {
      await stub.ingest(records(service, 5, k * 5, at));
      await runDurableObjectAlarm(stub);
    }
    // Three more flushes: D1 has every row, R2 no new object yet.
    expect(await countLogs(service)).toBe(20);
    expect(puts.n).toBe(first);
    expect((await stub.stats()).archive_backlog).toBe(15);
    // The alarm is set for the pass's minute, not sooner.
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now() + 30_000);
    await inMonitor(stub, (m) => m.flush.flushDue(Date.now() + 61_000));
    expect(puts.n).toBe(first + 1);
    expect((await stub.stats()).archive_backlog).toBe(0);
    expect(await readArchive(service, Date.now() - HOUR, Date.now())).toHaveLength(20);
  });

  it("retention archives only the D1 rows received before the write-through began, and just deletes the rest", async () => {
    const service = "wt-retention";
    // The marker the first flush wrote (an earlier test here flushed), or one written now.
    if ((await writeThroughSince(env.ARCHIVE)) === null)
      await env.ARCHIVE.put(WRITE_THROUGH_MARKER, String(Date.now()));
    const since = (await writeThroughSince(env.ARCHIVE)) ?? 0;
    const old = Date.now() - 8 * 24 * HOUR; // past RAW_RETENTION_DAYS
    const row = (i: number, receivedAt: number): LogRow => [
      `wt-ret-${i}`,
      old + i * 1000,
      receivedAt,
      service,
      "GET",
      "/orders",
      "/orders",
      200,
      12,
      null,
      null,
      null,
      null,
      0,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      "ingest",
      0,
    ];
    const before = [0, 1, 2].map((i) => row(i, since - 60_000));
    const after = [3, 4, 5, 6].map((i) => row(i, since + 60_000));
    await writeLogBatch(
      env.DB,
      [...before, ...after].map((r) => JSON.stringify(r)),
      Date.now(),
    );
    const out = await prune(env, { now: Date.now(), deadline: Date.now() + 30_000, cursor: null });
    const raw = (out.detail as { raw_logs: RawReport }).raw_logs;
    expect(raw).toMatchObject({
      write_through_since: since,
      archived_rows: 3,
      written_through_deleted: 4,
      finished: true,
    });
    expect(await countLogs(service)).toBe(0);
    const lines = await readArchive(service, old - HOUR, old + HOUR);
    expect(lines.map((l) => l.log_id).sort()).toEqual(["wt-ret-0", "wt-ret-1", "wt-ret-2"]);
  });

  it("the hand-off's D1 fallback archives its records itself (retention will not)", { timeout: 30_000 }, async () => {
    const service = "wt-fallback";
    const unreachable = new Proxy(env.ENDPOINT_MONITOR, {
      get(target, prop) {
        if (prop === "get" || prop === "getByName")
          return () => ({ ingest: () => Promise.reject(new Error("Durable Object is overloaded")) });
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const body = Array.from({ length: 7 }, (_, i) => record(service, { id: `${service}-${i}` }));
    const post = () =>
      worker.fetch(
        new Request(`${BASE}/v1/logs?sync=1`, {
          method: "POST",
          headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        }),
        { ...env, ENDPOINT_MONITOR: unreachable },
        createExecutionContext(),
      );
    expect(await (await post()).json()).toMatchObject({ stored_directly_in_d1: 7 });
    // The same request again (a client retry) falls back again: the same object, overwritten.
    await post();
    expect(await countLogs(service)).toBe(7);
    const lines = await readArchive(service, Date.now() - HOUR, Date.now());
    expect(lines.map((l) => l.log_id).sort()).toEqual(
      body.map((_, i) => `c:${service}:GET:/items/:id#${service}-${i}`).sort(),
    );
  });
});
