import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { countLogs, endpointStub, record, storeAllRawLogs } from "./helpers";

function records(service: string, n: number, overrides: Record<string, unknown> = {}): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  return Array.from({ length: n }, (_, i) => {
    const result = normaliseRecord(record(service, { id: `${service}-${i}`, path: "/orders", ...overrides }), ctx);
    if (!result.ok) throw new Error(result.errors.join("; "));
    return result.record;
  });
}

/**
 * A D1 binding with injected faults: `down` makes every write and the liveness probe fail;
 * `commitThenFail` commits the next N batches and then throws (the acknowledgement is lost);
 * rows whose JSON holds `poison-pill` are refused, as D1 refuses a row that breaks a constraint.
 */
function faultyD1(db: D1Database) {
  const state = { down: false, commitThenFail: 0, batches: 0 };
  const poisoned = new WeakSet<object>();
  const wrapper = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          if (query === "SELECT 1" && state.down) {
            return { first: () => Promise.reject(new Error("D1_ERROR: network connection lost")) };
          }
          return new Proxy(statement, {
            get(st, p) {
              if (p === "bind") {
                return (...args: unknown[]) => {
                  const bound = st.bind(...args);
                  if (args.some((a) => typeof a === "string" && a.includes("poison-pill"))) poisoned.add(bound);
                  return bound;
                };
              }
              const v: unknown = Reflect.get(st, p);
              return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(st) : v;
            },
          });
        };
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          state.batches++;
          if (state.down) throw new Error("D1_ERROR: network connection lost");
          if (statements.some((st) => poisoned.has(st))) throw new Error("D1_ERROR: NOT NULL constraint failed");
          if (state.commitThenFail > 0) {
            state.commitThenFail--;
            await target.batch(statements);
            throw new Error("D1_ERROR: connection reset after commit");
          }
          return target.batch(statements);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: wrapper, state };
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
    expect(result).toEqual({ stored: 3, duplicates: 0, storage: undefined });
    await runInDurableObject(stub, async (instance: EndpointMonitor, state) => {
      // One chunk row for the hand-off, holding its three records.
      const chunks = state.storage.sql.exec<{ n: number }>("SELECT n FROM chunks").toArray();
      expect(chunks).toEqual([{ n: 3 }]);
      expect(instance.buffer.backlog()).toBe(3);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    expect(await countLogs("do-basic")).toBe(0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await countLogs("do-basic")).toBe(3);
    const stats = await stub.stats();
    expect(stats).toMatchObject({
      received: 3,
      flushed: 3,
      backlog: 0,
      service: "do-basic",
      method: "GET",
      route: "/orders",
    });
    expect(stats.minutes.reduce((sum, m) => sum + m.count, 0)).toBe(3);
  });

  it("keeps records through a D1 outage, quarantines nothing, and lands every one exactly once", async () => {
    await storeAllRawLogs("do-fault");
    const stub = endpointStub("do-fault", "GET", "/orders");
    const fault = faultyD1(env.DB);
    fault.state.down = true;
    await runInDurableObject(stub, (instance) => {
      instance.logsDb = fault.db;
    });
    await stub.ingest(records("do-fault", 1200)); // three batches of 500, 500 and 200
    let stats = await stub.stats();
    expect(stats.backlog).toBe(1200);

    // Past the point where a failing batch is tried row by row: D1 is down, so nothing is quarantined.
    for (let i = 0; i < 5; i++) {
      await runDurableObjectAlarm(stub);
      stats = await stub.stats();
      expect(stats.backlog).toBe(1200);
      expect(await countLogs("do-fault")).toBe(0);
    }
    expect(stats.flush_failures).toBeGreaterThanOrEqual(5);
    expect(stats.consecutive_flush_failures).toBeGreaterThanOrEqual(5);
    expect(stats.quarantined).toBe(0);

    // A hand-off during the outage leaves the backoff alarm where it is (no retry per hand-off).
    const backoffAt = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(backoffAt).toBeGreaterThan(Date.now() + 5_000);
    await stub.ingest(records("do-fault", 1, { id: "during-outage" }));
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(backoffAt);

    fault.state.down = false;
    await runAlarmUntilIdle(stub);
    stats = await stub.stats();
    expect(stats.backlog).toBe(0);
    expect(stats.flushed).toBe(1201);
    expect(stats.consecutive_flush_failures).toBe(0);
    const distinct = await env.DB.prepare("SELECT count(DISTINCT record_key) AS n FROM request_logs WHERE service = ?")
      .bind("do-fault")
      .first<{ n: number }>();
    expect(await countLogs("do-fault")).toBe(1201);
    expect(distinct?.n).toBe(1201);
  });

  it("re-sends a batch whose D1 commit was not acknowledged, and D1 keeps one copy", async () => {
    const stub = endpointStub("do-crash", "GET", "/orders");
    const fault = faultyD1(env.DB);
    fault.state.commitThenFail = 1;
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

  it("quarantines a row D1 keeps refusing, so the rest of the backlog still flows", async () => {
    const stub = endpointStub("do-poison", "GET", "/orders");
    const fault = faultyD1(env.DB);
    await runInDurableObject(stub, (instance) => {
      instance.logsDb = fault.db;
    });
    await stub.ingest([...records("do-poison", 20), ...records("do-poison", 1, { id: "poison-pill" })]);
    await runAlarmUntilIdle(stub);
    const stats = await stub.stats();
    expect(stats).toMatchObject({ backlog: 0, flushed: 20, quarantined: 1 });
    expect(await countLogs("do-poison")).toBe(20);
    await runInDurableObject(stub, (_instance, state) => {
      const rows = state.storage.sql
        .exec<{ record_key: string; error: string }>("SELECT record_key, error FROM quarantine")
        .toArray();
      expect(rows).toEqual([
        { record_key: "c:do-poison:GET:/orders#poison-pill", error: expect.stringContaining("NOT NULL") },
      ]);
    });
  });

  it("flushes a buffer whose alarm was lost, on the next hand-off even of duplicates only", async () => {
    const stub = endpointStub("do-lost-alarm", "GET", "/orders");
    const batch = records("do-lost-alarm", 3);
    await stub.ingest(batch);
    await runInDurableObject(stub, async (_instance, state) => {
      await state.storage.deleteAlarm();
    });
    await evictDurableObject(stub);
    expect(await stub.ingest(batch)).toEqual({ stored: 0, duplicates: 3, storage: undefined });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await countLogs("do-lost-alarm")).toBe(3);
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
    // A fresh object has not flushed yet: it cannot vouch that D1 takes writes (storage absent).
    expect(await stub.ingest(batch)).toEqual({ stored: 10, duplicates: 0, storage: undefined });
    expect(await stub.ingest(batch)).toEqual({ stored: 0, duplicates: 10, storage: undefined });
    await runAlarmUntilIdle(stub);
    expect(await stub.ingest(batch)).toEqual({ stored: 0, duplicates: 10, storage: "ok" });
    const stats = await stub.stats();
    expect(stats.received).toBe(10);
    expect(stats.duplicates).toBe(20);
    expect(await countLogs("do-dup")).toBe(10);
  });

  it("stores late records but counts them as late instead of in the windows; older than 6 h only in hour buckets", async () => {
    const stub = endpointStub("do-late", "GET", "/orders");
    await stub.ingest([
      ...records("do-late", 2),
      // Older than the minute windows (6 h): only its hour bucket counts it.
      ...records("do-late", 1, { id: "hours-old", timestamp: Date.now() - 7 * 3_600_000 }),
      // Older than the hour windows (3 days behind the newest record): late.
      ...records("do-late", 1, { id: "days-old", timestamp: Date.now() - 4 * 24 * 3_600_000 }),
    ]);
    const stats = await stub.stats();
    expect(stats.late).toBe(1);
    expect(stats.received).toBe(4);
    expect(stats.minutes.reduce((sum, m) => sum + m.count, 0)).toBe(2);
    const detail = await stub.detail();
    expect(detail.series.hours.reduce((sum, h) => sum + h.count, 0)).toBe(3);
    await runAlarmUntilIdle(stub);
    expect(await countLogs("do-late")).toBe(4);
  });
});
