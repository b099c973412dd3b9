/**
 * The endpoint object's windows are write-behind (src/monitor/windows.ts): a hand-off changes them
 * in memory, the alarm persists them at most once a minute with a mark of the buffer chunks they
 * hold, and a wake adds the newer chunks again. These tests evict the object at the awkward
 * moments and compare the windows with what the records say, bucket by bucket.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { endpointStub, publishAt, record, runFlush, storeAllRawLogs } from "./helpers";

const MIN = 60_000;

/** `n` records a few seconds apart from `from` (event time), every 7th a 503, latencies 10..400 ms. */
function records(service: string, n: number, from: number, first = 0): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  return Array.from({ length: n }, (_, k) => {
    const i = first + k;
    const raw = record(service, {
      id: `${service}-${i}`,
      path: "/orders",
      timestamp: from + i * 3_000,
      latency_ms: 10 + ((i * 37) % 390),
      status: i % 7 === 0 ? 503 : 200,
      consumer: `c${i % 3}`,
    });
    const out = normaliseRecord(raw, ctx);
    if (!out.ok) throw new Error(out.errors.join("; "));
    return out.record;
  });
}

/** Per minute: count, 5xx and the latency sum, from the records themselves. */
function expected(list: readonly LogRecord[]): Map<number, { count: number; status_5xx: number; latency: number }> {
  const out = new Map<number, { count: number; status_5xx: number; latency: number }>();
  for (const r of list) {
    const m = Math.floor(r.timestamp / MIN) * MIN;
    const e = out.get(m) ?? { count: 0, status_5xx: 0, latency: 0 };
    e.count++;
    if (r.status >= 500) e.status_5xx++;
    e.latency += r.latency_ms;
    out.set(m, e);
  }
  return out;
}

/** The object's minute windows as the same per-minute figures. */
async function windowsOf(
  stub: DurableObjectStub<EndpointMonitor>,
): Promise<Map<number, { count: number; status_5xx: number; latency: number }>> {
  const detail = await stub.detail();
  return new Map(
    detail.series.minutes.map((p) => [
      p.start,
      { count: p.count, status_5xx: p.status_5xx, latency: Math.round(p.latency_avg_ms * p.count) },
    ]),
  );
}

const rounded = (m: Map<number, { count: number; status_5xx: number; latency: number }>) =>
  new Map([...m].map(([k, v]) => [k, { ...v, latency: Math.round(v.latency) }]));

/** Rows of the object's persisted windows. */
async function persistedRows(stub: DurableObjectStub<EndpointMonitor>): Promise<number> {
  return runInDurableObject(
    stub,
    (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM windows").one().n,
  );
}

describe("write-behind windows", () => {
  it("a hand-off writes no window row; an eviction before the persist loses nothing (sampled-out records included)", async () => {
    const service = "wb-evict";
    await storeAllRawLogs(service);
    const stub = endpointStub(service, "GET", "/orders");
    const start = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;
    const first = records(service, 40, start);
    // The proxy samples some records out of D1: the windows still count them.
    const second = records(service, 40, start, 40).map((r, i) =>
      i % 2 === 0 && r.status < 500 ? { ...r, sampled_out: true } : r,
    );
    await stub.ingest(first);
    await runDurableObjectAlarm(stub); // flushes and persists (the first persist since the object woke)
    expect(await persistedRows(stub)).toBeGreaterThan(0);
    const rowsBefore = await persistedRows(stub);
    await stub.ingest(second);
    // Nothing persisted for the second hand-off: the persisted rows are those of the first.
    const persistedSecond = await runInDurableObject(
      stub,
      (_i, state) =>
        state.storage.sql
          .exec<{ n: number }>("SELECT coalesce(sum(count), 0) AS n FROM windows WHERE grain = ?", MIN)
          .one().n,
    );
    expect(persistedSecond).toBe(40);
    expect(await persistedRows(stub)).toBe(rowsBefore);
    const all = [...first, ...second];
    expect(rounded(await windowsOf(stub))).toEqual(expected(all));
    await evictDurableObject(stub);
    // The wake replays the chunk the persisted windows lacked: every bucket as the records say, once.
    expect(rounded(await windowsOf(stub))).toEqual(expected(all));
    expect((await stub.stats()).received).toBe(80);
  });

  it("an eviction after a persist replays only the newer chunks (no record counted twice), and a retried hand-off stays a duplicate", async () => {
    const service = "wb-twice";
    const stub = endpointStub(service, "GET", "/orders");
    const start = Math.floor(Date.now() / MIN) * MIN - 20 * MIN;
    const a = records(service, 30, start);
    const b = records(service, 30, start, 30);
    const c = records(service, 30, start, 60);
    await stub.ingest(a);
    await stub.ingest(b);
    await runInDurableObject(stub, (instance: EndpointMonitor) => instance.jobs.checkpoint.persist(Date.now(), true));
    await stub.ingest(c);
    await evictDurableObject(stub);
    expect(rounded(await windowsOf(stub))).toEqual(expected([...a, ...b, ...c]));
    expect(await stub.ingest(c)).toMatchObject({ stored: 0, duplicates: 30 });
    // A second eviction without a persist in between: the same answer again.
    await evictDurableObject(stub);
    expect(rounded(await windowsOf(stub))).toEqual(expected([...a, ...b, ...c]));
  });

  it("a chunk the persisted windows lack is not pruned, whatever the clock", async () => {
    const service = "wb-prune";
    const stub = endpointStub(service, "GET", "/orders");
    const start = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
    await stub.ingest(records(service, 20, start));
    await runDurableObjectAlarm(stub); // persists (first since wake) and flushes
    const recent = records(service, 20, start, 20);
    await stub.ingest(recent);
    await runDurableObjectAlarm(stub); // flushes; the persist waits for its minute
    await runInDurableObject(stub, (instance: EndpointMonitor) =>
      instance.jobs.checkpoint.pruneBuffer(Date.now() + 3_600_000),
    );
    expect((await stub.stats()).buffered_chunks).toBe(1);
    await evictDurableObject(stub);
    expect(rounded(await windowsOf(stub))).toEqual(expected([...records(service, 20, start), ...recent]));
  });
});

describe("429s in the windows", () => {
  it("are counted per bucket through the write-behind and the replay on wake (stored rows and sampled-out tuples)", async () => {
    const service = "wb-429";
    const stub = endpointStub(service, "GET", "/orders");
    const start = Math.floor(Date.now() / MIN) * MIN - 20 * MIN;
    // Every 5th record a 429 (a 503 where both fall), half of the second hand-off sampled out of D1.
    const with429 = (list: LogRecord[]) => list.map((r, i) => (i % 5 === 1 ? { ...r, status: 429 } : r));
    const first = with429(records(service, 40, start));
    const second = with429(records(service, 40, start, 40)).map((r, i) =>
      i % 2 === 1 && r.status < 500 ? { ...r, sampled_out: true } : r,
    );
    await stub.ingest(first);
    await runInDurableObject(stub, (instance: EndpointMonitor) => instance.jobs.checkpoint.persist(Date.now(), true));
    await stub.ingest(second);
    // Evicted before the second hand-off's windows were persisted: the wake replays its chunk.
    await evictDurableObject(stub);
    expect((await stub.stats()).received).toBe(80);
    await runInDurableObject(stub, (instance: EndpointMonitor) => instance.jobs.checkpoint.persist(Date.now(), true));
    const stored = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql
        .exec<{ start: number; n: number; all4xx: number }>(
          "SELECT start, status_429 AS n, status_4xx AS all4xx FROM windows WHERE grain = ? ORDER BY start",
          MIN,
        )
        .toArray(),
    );
    const want = new Map<number, number>();
    for (const r of [...first, ...second])
      if (r.status === 429)
        want.set(Math.floor(r.timestamp / MIN) * MIN, (want.get(Math.floor(r.timestamp / MIN) * MIN) ?? 0) + 1);
    expect([...want.values()].reduce((a, b) => a + b, 0)).toBe(16);
    expect(new Map(stored.filter((r) => r.n > 0).map((r) => [r.start, r.n]))).toEqual(want);
    expect(stored.every((r) => r.all4xx >= r.n)).toBe(true);
  });
});

describe("chunks that change no window", () => {
  it("probe-only hand-offs still move the mark, so their chunks are pruned (they were kept forever)", async () => {
    const service = "wb-probes";
    const stub = endpointStub(service, "GET", "/health");
    const start = Date.now() - 5 * MIN;
    await stub.ingest(records(service, 1, start));
    await runFlush(stub);
    // Probes are judged on their own, never added to the windows.
    for (let k = 1; k <= 5; k++) {
      await stub.ingest(records(service, 1, start, k).map((r) => ({ ...r, source: "probe" as const })));
      await runFlush(stub);
    }
    expect((await stub.stats()).buffered_chunks).toBe(6);
    // The alarm's persist a minute later (not forced) moves the mark past the probes' chunks.
    await runInDurableObject(stub, (instance: EndpointMonitor) =>
      instance.jobs.checkpoint.persist(Date.now() + 61_000),
    );
    await runInDurableObject(stub, (instance: EndpointMonitor) =>
      instance.jobs.checkpoint.pruneBuffer(Date.now() + 30 * MIN),
    );
    expect((await stub.stats()).buffered_chunks).toBe(0);
    expect((await stub.stats()).received).toBe(6);
  });
});

describe("publishing counters", () => {
  it("counters alone are published at most once a minute; a later clock publishes them", async () => {
    const service = "wb-publish";
    const stub = endpointStub(service, "GET", "/orders");
    const start = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
    // Three minutes: the first closes and is evaluated, so the object has a state to publish.
    await stub.ingest(records(service, 60, start));
    await runDurableObjectAlarm(stub);
    const published = async () =>
      runInDurableObject(
        stub,
        (_i, state) =>
          JSON.parse(
            String(
              state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'published'").one().value,
            ),
          ) as { metrics: string },
      );
    const first = JSON.parse((await published()).metrics) as { requests: Record<string, number> };
    // More records in the same (newest) minute: no minute closes, only the counters change.
    const newest = start + 59 * 3_000;
    await stub.ingest(records(service, 3, newest - 120 * 3_000, 120).map((r) => ({ ...r, timestamp: newest })));
    await runDurableObjectAlarm(stub);
    expect((await published()).metrics).toBe(JSON.stringify(first));
    expect(await publishAt(stub, Date.now() + 60_000)).toBe(true);
    expect((await published()).metrics).not.toBe(JSON.stringify(first));
  });
});
