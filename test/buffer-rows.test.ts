/**
 * The endpoint object's buffer, measured by SQLite's own counts (`cursor.rowsWritten`, through
 * the object's cost meter): 100 hand-offs of 50 records, flushed to D1 and R2 and pruned after
 * the dedup window, write at most one buffer row per hand-off plus a few rows per flush.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { UPSERT_META } from "../src/monitor/buffer-sql";
import { describe, expect, it } from "vitest";
import { toLogRow } from "../src/db/log-writer";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import { DEDUP_WINDOW_MS, type EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { countLogs, endpointStub, inMonitor, record, runFlush, storeAllRawLogs } from "./helpers";

function records(service: string, n: number, from: number): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  return Array.from({ length: n }, (_, i) => {
    const result = normaliseRecord(
      record(service, { id: `${service}-${from + i}`, path: "/orders", timestamp: Date.now() - 120_000 + i }),
      ctx,
    );
    if (!result.ok) throw new Error(result.errors.join("; "));
    return result.record;
  });
}

/** Runs alarms until D1 and R2 took every buffered record (not the live endpoint's minute alarms after that). */
async function flushed(stub: DurableObjectStub<EndpointMonitor>): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const s = await stub.stats();
    if (s.backlog === 0 && !s.archive_backlog) return;
    await runDurableObjectAlarm(stub);
  }
  throw new Error("not flushed");
}

/** The object's SQLite rows written so far, as its meter reads them from the cursors. */
async function rowsWritten(stub: DurableObjectStub<EndpointMonitor>): Promise<number> {
  return (await stub.cost()).do_rows_written;
}

describe("endpoint buffer: Durable Object rows written", () => {
  it(
    "100 hand-offs of 50 records: at most one buffer row per hand-off, flush and prune included",
    { timeout: 120_000 },
    async () => {
      const service = "buf-rows";
      // Every record a D1 row, so that the count below checks the flush (sampling is another test's).
      await storeAllRawLogs(service);
      const stub = endpointStub(service, "GET", "/orders");
      // A first hand-off and flush so that one-off rows (identity, schema, first alarm) are out of the count.
      await stub.ingest(records(service, 1, 1_000_000));
      await flushed(stub);
      const start = await rowsWritten(stub);

      const handoffs = 100;
      const size = 50;
      for (let h = 0; h < handoffs; h++) await stub.ingest(records(service, size, h * size));
      const afterIngest = await rowsWritten(stub);
      await flushed(stub);
      const afterFlush = await rowsWritten(stub);
      // Chunks go once the persisted windows hold them (the alarm persists them at most once a minute).
      await runInDurableObject(stub, async (instance: EndpointMonitor) => {
        instance.jobs.checkpoint.persist(Date.now(), true);
        instance.jobs.checkpoint.pruneBuffer(Date.now() + DEDUP_WINDOW_MS + 1);
      });
      const afterPrune = await rowsWritten(stub);

      expect(await countLogs(service)).toBe(handoffs * size + 1);
      const total = afterPrune - start;
      const buffer = { ingest: afterIngest - start, flush: afterFlush - afterIngest, prune: afterPrune - afterFlush };
      console.log(
        JSON.stringify({
          event: "do_rows_written",
          records: handoffs * size,
          handoffs,
          ...buffer,
          total,
          per_record: total / (handoffs * size),
        }),
      );
      // Everything the object wrote (buffer, counters, windows, detection, alarms) per record:
      // 7.3 with a buffer row per record (inserted, marked, deleted; two indexes).
      expect(total / (handoffs * size)).toBeLessThan(0.25);
      // The buffer itself: one row per hand-off in, one out; the rest is the detection windows.
      expect(buffer.prune).toBeLessThan(handoffs + 40);
      expect(buffer.flush).toBeLessThan(handoffs);
      // Pruned chunks are spare rows (64 kept for reuse, the rest deleted): none is live.
      const tableRows = () =>
        runInDurableObject(
          stub,
          (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chunks").one().n,
        );
      expect(await tableRows()).toBe(64);
      expect((await stub.stats()).buffered_chunks).toBe(0);
      // The counts of the pruned chunks were folded into the counters, and their keys forgotten.
      const counted = {
        received: handoffs * size + 1,
        handoffs: handoffs + 1,
        flushed: handoffs * size + 1,
        backlog: 0,
        archive_backlog: 0,
      };
      expect(await stub.stats()).toMatchObject(counted);
      // A wake does not count the spares again, and a pruned record is no longer a duplicate.
      await evictDurableObject(stub);
      expect(await stub.stats()).toMatchObject(counted);
      const before = await rowsWritten(stub);
      expect(await stub.ingest(records(service, size, 0))).toMatchObject({ stored: size, duplicates: 0 });
      // The hand-off overwrote a spare: one row (plus its alarm), and the table did not grow.
      expect((await rowsWritten(stub)) - before).toBeLessThanOrEqual(2);
      expect(await tableRows()).toBe(64);
      expect((await stub.stats()).buffered_chunks).toBe(1);
      await flushed(stub);
      expect(await countLogs(service)).toBe(handoffs * size + 1 + size);
    },
  );

  it("migrates a version 2 `records` table on wake: unflushed rows become chunks to flush, flushed ones still count as duplicates", async () => {
    const service = "buf-migrate";
    const stub = endpointStub(service, "GET", "/orders");
    const recs = records(service, 30, 0);
    await runInDurableObject(stub, (_i, state) => {
      const sql = state.storage.sql;
      sql.exec(
        "CREATE TABLE records (record_key TEXT PRIMARY KEY, ts INTEGER NOT NULL, body TEXT NOT NULL, flushed_at INTEGER)",
      );
      sql.exec("CREATE INDEX records_pending ON records (ts) WHERE flushed_at IS NULL");
      recs.forEach((r, i) =>
        sql.exec(
          "INSERT INTO records VALUES (?, ?, ?, ?)",
          r.key,
          r.timestamp,
          JSON.stringify(toLogRow(r)),
          i < 10 ? Date.now() : null,
        ),
      );
    });
    await evictDurableObject(stub);
    const woken = endpointStub(service, "GET", "/orders");
    expect(await woken.ingest(recs)).toMatchObject({ stored: 0, duplicates: 30 });
    expect((await woken.stats()).backlog).toBe(20);
    await flushed(woken);
    expect(await countLogs(service)).toBe(20);
    const tables = await runInDurableObject(woken, (_i, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name LIKE 'records%'").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("keeps a chunk for the dedup window after D1 and R2 took it, not after it came (a late flush keeps it longer)", async () => {
    const service = "buf-window";
    const stub = endpointStub(service, "GET", "/orders");
    const batch = records(service, 5, 0);
    await stub.ingest(batch);
    // Not flushed yet: kept whatever the clock says.
    await runInDurableObject(stub, (instance: EndpointMonitor) =>
      instance.jobs.checkpoint.pruneBuffer(Date.now() + 2 * DEDUP_WINDOW_MS),
    );
    expect((await stub.stats()).buffered_chunks).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    const takenAfter = Date.now();
    await flushed(stub);
    // Taken just now: still there until the window passed since then.
    await runInDurableObject(stub, (instance: EndpointMonitor) =>
      instance.jobs.checkpoint.pruneBuffer(takenAfter + DEDUP_WINDOW_MS - 1000),
    );
    expect((await stub.stats()).buffered_chunks).toBe(1);
    expect(await stub.ingest(batch)).toMatchObject({ stored: 0, duplicates: 5 });
    await runFlush(stub); // moves both watermarks past the duplicates' empty chunk (R2 at a later clock: its pass waits a minute)
    await runInDurableObject(stub, async (instance: EndpointMonitor) => {
      instance.jobs.checkpoint.persist(Date.now(), true);
      instance.jobs.checkpoint.pruneBuffer(Date.now() + DEDUP_WINDOW_MS + 61_000);
    });
    expect((await stub.stats()).buffered_chunks).toBe(0);
    expect(await stub.stats()).toMatchObject({ received: 5, duplicates: 5, handoffs: 2 });
  });

  it(
    "a quiet endpoint (one record per hand-off, one flush by the alarm each) writes at most 2 rows per record (10 when it closes a minute); an unchanged meta value writes none",
    { timeout: 60_000 },
    async () => {
      const service = "buf-quiet";
      await storeAllRawLogs(service);
      const stub = endpointStub(service, "GET", "/orders");
      const minute = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
      const one = (n: number, at: number) => records(service, 1, n).map((r) => ({ ...r, timestamp: at }));
      // Three minutes of traffic first, so that detection has state to publish (the steady case).
      let n = 0;
      for (let m = 0; m < 3; m++) {
        await stub.ingest(one(n++, minute + m * 60_000));
        await runDurableObjectAlarm(stub);
      }
      const perRecord: number[] = [];
      for (let k = 1; k <= 5; k++) {
        const before = await rowsWritten(stub);
        await stub.ingest(one(n++, minute + 3 * 60_000 + k * 1000));
        await runDurableObjectAlarm(stub);
        perRecord.push((await rowsWritten(stub)) - before);
      }
      console.log(JSON.stringify({ event: "do_rows_per_single_record_handoff", rows: perRecord }));
      // Measured: 23 when every meta write was INSERT OR REPLACE (a delete and an insert when the
      // key exists), 14 with upserts (the chunk, the watermark, the minute and hour windows and the
      // alarm on ingest; the buffer's two marks, the flush time, the published state, the cost
      // meter and two counters on the flush), then 3: the chunk, the flush's alarm and the flush's
      // one row of marks and counts. Now 2: the flush's marks wait for the windows' persist (D1
      // ignores a re-sent row). The windows and the clock are persisted once a minute, the counters
      // published once a minute, R2 written through once a minute, one alarm set for the earliest of
      // them; the chunk's row is later a spare that another hand-off overwrites. The first of them
      // also closes a minute (its evaluation, state and publish: 6 more). With production's short
      // FLUSH_DELAY_MS a live endpoint flushes at once instead of asking for the alarm: 1 (below).
      expect(Math.max(...perRecord.slice(1))).toBeLessThanOrEqual(2);
      expect(perRecord[0]).toBeLessThanOrEqual(10);
      const unchanged = await runInDurableObject(stub, (_i, state) => {
        const sql = state.storage.sql;
        sql.exec(UPSERT_META, "probe", "a", "a");
        return [
          sql.exec(UPSERT_META, "probe", "a", "a").rowsWritten,
          sql.exec(UPSERT_META, "probe", "b", "b").rowsWritten,
        ];
      });
      expect(unchanged).toEqual([0, 1]);
    },
  );
});

describe("endpoint buffer: a live quiet endpoint's hand-offs flush at once", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Waits until D1 took every buffered record (the hand-off's own flush runs after it answered). */
  async function drained(stub: DurableObjectStub<EndpointMonitor>): Promise<void> {
    for (let i = 0; i < 250; i++) {
      if ((await stub.stats()).backlog === 0) return;
      await sleep(40);
    }
    throw new Error("the flush at once did not drain the buffer");
  }

  it(
    "one row per hand-off (the chunk): no alarm and no marks row of its own; an eviction before the marks are saved sends again, and D1 and the counts stay exact",
    { timeout: 60_000 },
    async () => {
      const service = "buf-at-once";
      await storeAllRawLogs(service);
      const stub = endpointStub(service, "GET", "/orders");
      // Production's FLUSH_DELAY_MS (250 ms) flushes at once; the suite's long one does not, unless raised here.
      await runInDurableObject(stub, (instance: EndpointMonitor) => {
        instance.flush.atOnceMaxDelayMs = Number.MAX_SAFE_INTEGER;
      });
      const one = (n: number) => records(service, 1, n).map((r) => ({ ...r, timestamp: Date.now() }));
      // The first hand-off has no alarm pending: it asks for one (a row), and the alarm keeps the minute's one.
      await stub.ingest(one(0));
      await runDurableObjectAlarm(stub);
      expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).not.toBeNull();
      // The pending minute alarm, held a minute off: it must not fire during the hand-offs (its
      // windows, publish and marks are measured by the other tests; and with the suite's long
      // FLUSH_DELAY_MS an alarm that found a backlog would move the next one 10 minutes away,
      // which ends the flush at once; a slow run crossed the minute boundary that way).
      await inMonitor(stub, (m) => m.jobs.alarm.setAt(Date.now() + 60_000));
      const perHandOff: number[] = [];
      for (let k = 1; k <= 5; k++) {
        const before = await rowsWritten(stub);
        await stub.ingest(one(k));
        await drained(stub);
        perHandOff.push((await rowsWritten(stub)) - before);
      }
      console.log(JSON.stringify({ event: "do_rows_per_live_single_record_handoff", rows: perHandOff }));
      expect(perHandOff).toEqual([1, 1, 1, 1, 1]);
      expect(await countLogs(service)).toBe(6);
      expect(await stub.stats()).toMatchObject({ received: 6, flushed: 6, backlog: 0 });

      // Evicted before the marks were saved: the wake sends the last flushes again (D1 ignores them).
      await evictDurableObject(stub);
      const woken = endpointStub(service, "GET", "/orders");
      expect((await woken.stats()).backlog).toBeGreaterThan(0);
      await flushed(woken);
      expect(await countLogs(service)).toBe(6);
      expect(await woken.stats()).toMatchObject({ received: 6, flushed: 6, backlog: 0 });
    },
  );
});

describe("endpoint buffer: flushes at once on a busy endpoint", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it(
    "hand-offs arriving during every round do not hold the alarm's flush off (each round is queued behind it)",
    { timeout: 60_000 },
    async () => {
      const service = "buf-busy";
      await storeAllRawLogs(service);
      const stub = endpointStub(service, "GET", "/orders");
      await stub.ingest(records(service, 1, 900_000));
      await runDurableObjectAlarm(stub);
      // D1 takes 150 ms per batch: a hand-off every 40 ms arrives during every round.
      await inMonitor(stub, (m) => {
        m.flush.atOnceMaxDelayMs = Number.MAX_SAFE_INTEGER;
        const db = m.logsDb;
        m.logsDb = new Proxy(db, {
          get(target, prop) {
            if (prop === "batch")
              return async (statements: D1PreparedStatement[]) => (await sleep(150), target.batch(statements));
            const value: unknown = Reflect.get(target, prop);
            return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      });
      // Keep an alarm pending soon, so that every hand-off flushes at once.
      await runInDurableObject(stub, (_i, state) => state.storage.setAlarm(Date.now() + 30_000));
      let streamEnded = 0;
      const stream = (async () => {
        for (let k = 0; k < 40; k++) {
          await stub.ingest(records(service, 1, k));
          await sleep(40);
        }
        streamEnded = Date.now();
      })();
      await sleep(200);
      const alarmFlush = inMonitor(stub, (m) => m.jobs.flush.flushDue()).then(() => Date.now());
      const [alarmDone] = await Promise.all([alarmFlush, stream]);
      // The alarm's flush ran between rounds, long before the stream of hand-offs ended.
      expect(streamEnded - alarmDone).toBeGreaterThan(500);
      // Every record reaches D1 (R2 waits for its minute: not checked here).
      for (let i = 0; i < 20 && (await stub.stats()).backlog > 0; i++)
        await runDurableObjectAlarm(stub).then(() => sleep(200));
      expect(await countLogs(service)).toBe(41);
    },
  );
});
