import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { countLogs, endpointStub, record } from "./helpers";

function records(service: string, n: number, overrides: Record<string, unknown> = {}): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  return Array.from({ length: n }, (_, i) => {
    const result = normaliseRecord(record(service, { id: `${service}-${i}`, path: "/orders", ...overrides }), ctx);
    if (!result.ok) throw new Error(result.errors.join("; "));
    return result.record;
  });
}

/** A D1 binding whose `batch` fails for the first `failures` calls (or commits and then fails). */
function faultyD1(db: D1Database, failures: number, mode: "fail" | "commit-then-fail" = "fail") {
  let calls = 0;
  const wrapper = new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          calls++;
          if (calls <= failures) {
            if (mode === "commit-then-fail") await target.batch(statements);
            throw new Error("D1_ERROR: injected failure");
          }
          return target.batch(statements);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: wrapper, calls: () => calls };
}

async function runAlarmUntilIdle(stub: DurableObjectStub<EndpointMonitor>, max = 20): Promise<number> {
  let runs = 0;
  while (runs < max && (await runDurableObjectAlarm(stub))) runs++;
  return runs;
}

describe("EndpointMonitor", () => {
  it("commits a hand-off to its own SQLite in one transaction and schedules a flush", async () => {
    const stub = endpointStub("do-basic", "GET", "/orders");
    const result = await stub.ingest(records("do-basic", 3));
    expect(result).toEqual({ stored: 3, duplicates: 0 });
    await runInDurableObject(stub, async (_instance, state) => {
      const n = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM records WHERE flushed_at IS NULL").one().n;
      expect(n).toBe(3);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    expect(await countLogs("do-basic")).toBe(0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await countLogs("do-basic")).toBe(3);
    const stats = await stub.stats();
    expect(stats).toMatchObject({ received: 3, flushed: 3, backlog: 0, service: "do-basic", method: "GET", route: "/orders" });
    expect(stats.minutes.reduce((sum, m) => sum + m.count, 0)).toBe(3);
  });

  it("keeps records through D1 failures and lands every one exactly once", async () => {
    const stub = endpointStub("do-fault", "GET", "/orders");
    const fault = faultyD1(env.DB, 3);
    await runInDurableObject(stub, (instance) => {
      instance.logsDb = fault.db;
    });
    await stub.ingest(records("do-fault", 1200)); // three batches of 500, 500 and 200
    let stats = await stub.stats();
    expect(stats.backlog).toBe(1200);

    for (let i = 0; i < 3; i++) {
      await runDurableObjectAlarm(stub);
      stats = await stub.stats();
      expect(stats.backlog).toBe(1200);
      expect(await countLogs("do-fault")).toBe(0);
    }
    expect(stats.flush_failures).toBeGreaterThanOrEqual(3);
    expect(stats.consecutive_flush_failures).toBeGreaterThanOrEqual(3);

    await runAlarmUntilIdle(stub);
    stats = await stub.stats();
    expect(stats.backlog).toBe(0);
    expect(stats.flushed).toBe(1200);
    expect(stats.consecutive_flush_failures).toBe(0);
    const distinct = await env.DB.prepare("SELECT count(DISTINCT record_key) AS n FROM request_logs WHERE service = ?")
      .bind("do-fault")
      .first<{ n: number }>();
    expect(await countLogs("do-fault")).toBe(1200);
    expect(distinct?.n).toBe(1200);
  });

  it("re-sends a batch whose D1 commit was not acknowledged, and D1 keeps one copy", async () => {
    const stub = endpointStub("do-crash", "GET", "/orders");
    const fault = faultyD1(env.DB, 1, "commit-then-fail");
    await runInDurableObject(stub, (instance) => {
      instance.logsDb = fault.db;
    });
    await stub.ingest(records("do-crash", 50));
    await runDurableObjectAlarm(stub);
    expect(await countLogs("do-crash")).toBe(50); // committed in D1 ...
    expect((await stub.stats()).backlog).toBe(50); // ... but not acknowledged: still buffered
    await runAlarmUntilIdle(stub);
    expect((await stub.stats()).backlog).toBe(0);
    expect(await countLogs("do-crash")).toBe(50);
  });

  it("loses nothing when evicted before or during a flush", async () => {
    const stub = endpointStub("do-evict", "GET", "/orders");
    await stub.ingest(records("do-evict", 40));
    await evictDurableObject(stub);
    // A fresh instance (no in-memory state) finds the buffer on disk and flushes it.
    const stats = await stub.stats();
    expect(stats.backlog).toBe(40);
    expect(stats.received).toBe(40);

    // Evicted mid-flush: D1 hangs until the object is gone.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await runInDurableObject(stub, (instance) => {
      const db = instance.logsDb;
      instance.logsDb = new Proxy(db, {
        get(target, prop) {
          if (prop === "batch") return async () => gate.then(() => Promise.reject(new Error("connection reset")));
          const value: unknown = Reflect.get(target, prop);
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    });
    const flushing = runDurableObjectAlarm(stub).catch(() => false);
    await new Promise((r) => setTimeout(r, 50));
    const eviction = evictDurableObject(stub).catch(() => undefined);
    release();
    await Promise.all([flushing, eviction]);

    await runAlarmUntilIdle(stub);
    const after = await stub.stats();
    expect(after.backlog).toBe(0);
    expect(await countLogs("do-evict")).toBe(40);
  });

  it("recognises a retried hand-off as duplicates, before and after the flush", async () => {
    const stub = endpointStub("do-dup", "GET", "/orders");
    const batch = records("do-dup", 10);
    expect(await stub.ingest(batch)).toEqual({ stored: 10, duplicates: 0 });
    expect(await stub.ingest(batch)).toEqual({ stored: 0, duplicates: 10 });
    await runAlarmUntilIdle(stub);
    expect(await stub.ingest(batch)).toEqual({ stored: 0, duplicates: 10 });
    const stats = await stub.stats();
    expect(stats.received).toBe(10);
    expect(stats.duplicates).toBe(20);
    expect(await countLogs("do-dup")).toBe(10);
  });

  it("stores late records but counts them as late instead of in the minute buckets", async () => {
    const stub = endpointStub("do-late", "GET", "/orders");
    await stub.ingest([...records("do-late", 2), ...records("do-late", 1, { id: "old", timestamp: Date.now() - 5 * 3_600_000 })]);
    const stats = await stub.stats();
    expect(stats.late).toBe(1);
    expect(stats.received).toBe(3);
    expect(stats.minutes.reduce((sum, m) => sum + m.count, 0)).toBe(2);
    await runAlarmUntilIdle(stub);
    expect(await countLogs("do-late")).toBe(3);
  });
});
