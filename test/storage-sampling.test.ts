/**
 * Issue 13, the D1 side: which records of a flush get a raw row (src/storage/policy.ts and
 * sampling.ts wired into the endpoint object's flush), how `GET /v1/logs` shows weights, that
 * summaries count the full traffic, and the D1 size guards.
 */
import { env } from "cloudflare:workers";
import {
  createExecutionContext,
  evictDurableObject,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { DEFAULT_D1_MAX_BYTES } from "../src/cost/d1-size";
import { aggregate } from "../src/summaries/aggregate";
import {
  ADMIN_KEY,
  BASE,
  call,
  countLogs,
  endpointStub,
  flushAll,
  getJson,
  postLogs,
  record,
  runFlush,
} from "./helpers";
import { HOUR_MS } from "../src/lib/time";

type Log = { log_id: string; status: number; weight: number; error: string | null };
type Page = { logs: Log[]; next_cursor: string | null; sampled: boolean; sampling: string };

const MINUTE = 60_000;
/** A minute start safely in the past and inside the retention. */
const minuteAgo = (k: number) => Math.floor(Date.now() / MINUTE) * MINUTE - k * MINUTE;

async function configure(service: string, rawLogs: unknown): Promise<Response> {
  return call(`/v1/services/${service}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ origin: "https://origin.example", raw_logs: rawLogs }),
  });
}

/** `plain` plain successes, `errors` 503s with error text and `notFound` 404s, all of one endpoint and one minute. */
function minuteOf(
  service: string,
  start: number,
  plain: number,
  errors: number,
  notFound: number,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const total = plain + errors + notFound;
  for (let i = 0; i < total; i++) {
    const status = i < plain ? 200 : i < plain + errors ? 503 : 404;
    out.push(
      record(service, {
        id: `${service}-${start}-${i}`,
        timestamp: start + Math.floor((i * 50_000) / total),
        path: "/items",
        status,
        latency_ms: 10 + (i % 7),
        error: status === 503 ? "upstream boom" : undefined,
      }),
    );
  }
  return out;
}

async function ingest(records: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    const res = await postLogs(records.slice(i, i + 1000), { sync: true });
    expect(res.status).toBe(202);
  }
  await flushAll();
}

async function weightSum(service: string): Promise<number> {
  const row = await env.DB.prepare("SELECT total(weight) AS w FROM request_logs WHERE service = ?")
    .bind(service)
    .first<{ w: number }>();
  return row?.w ?? 0;
}

describe("raw_logs setting", () => {
  it("is validated and returned by the services API, auto by default", async () => {
    const res = await configure("rl-config", { mode: "sampled", sample_size: 3 });
    expect(res.status).toBeLessThan(300);
    const got = await getJson<{ raw_logs: unknown }>("/v1/services/rl-config", ADMIN_KEY);
    expect(got.body.raw_logs).toEqual({ mode: "sampled", sample_size: 3 });
    const plain = await call("/v1/services/rl-default", {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ origin: "https://origin.example" }),
    });
    expect(plain.status).toBeLessThan(300);
    expect((await getJson<{ raw_logs: unknown }>("/v1/services/rl-default", ADMIN_KEY)).body.raw_logs).toEqual({
      mode: "auto",
      sample_size: 2,
    });
    for (const bad of [{ mode: "some" }, { sample_size: 0 }, { mode: "all", extra: 1 }]) {
      const r = await configure("rl-bad", bad);
      expect(r.status).toBe(400);
      expect((await r.json<{ error: { code: string } }>()).error.code).toBeTruthy();
    }
  });
});

describe("sampled raw rows", () => {
  it("keeps every error and a weighted sample of plain successes; the weights add up to the traffic", async () => {
    const service = "rl-sampled";
    expect((await configure(service, { mode: "sampled", sample_size: 2 })).status).toBeLessThan(300);
    await ingest(minuteOf(service, minuteAgo(3), 290, 5, 5));
    expect(await countLogs(service)).toBe(12);
    expect(await weightSum(service)).toBeCloseTo(300, 9);

    const page = await getJson<Page>(`/v1/logs?service=${service}&limit=1000`);
    expect(page.status).toBe(200);
    expect(page.body.sampled).toBe(true);
    expect(page.body.sampling).toMatch(/weight/);
    expect(page.body.logs.filter((l) => l.status === 200).map((l) => l.weight)).toEqual([145, 145]);
    // Evidence is never sampled out: an error filter returns every error, each standing for itself.
    const errors = await getJson<Page>(`/v1/logs?service=${service}&status=5xx`);
    expect(errors.body.logs).toHaveLength(5);
    expect(errors.body.logs.every((l) => l.weight === 1 && l.error === "upstream boom")).toBe(true);
    expect(errors.body.sampled).toBe(false);
    expect((await getJson<Page>(`/v1/logs?service=${service}&status=404`)).body.logs).toHaveLength(5);
    expect((await getJson<Page>(`/v1/logs?service=${service}&q=boom`)).body.logs).toHaveLength(5);
    // The live tail says the same about the rows it shows.
    const live = await getJson<Page>("/v1/logs/live?limit=1000");
    expect(live.body.logs.filter((l) => l.status === 200 && l.weight === 145)).toHaveLength(2);
    expect(live.body.sampled).toBe(true);
    expect(live.body.sampling).toMatch(/weight/);
  });

  it("keeps slow successes (over the latency objective) as evidence", async () => {
    const service = "rl-slow";
    expect((await configure(service, { mode: "sampled", sample_size: 1 })).status).toBeLessThan(300);
    const recs = minuteOf(service, minuteAgo(3), 100, 0, 0);
    for (const r of recs.slice(0, 3)) r.latency_ms = 60_000;
    await ingest(recs);
    const slow = await getJson<Page>(`/v1/logs?service=${service}&min_latency_ms=59000`);
    expect(slow.body.logs).toHaveLength(3);
    expect(await countLogs(service)).toBe(4);
    expect(await weightSum(service)).toBeCloseTo(100, 9);
  });

  it("stores every record in all mode, and in auto mode up to 60 plain successes per minute of a flush", async () => {
    expect((await configure("rl-all", { mode: "all" })).status).toBeLessThan(300);
    await ingest(minuteOf("rl-all", minuteAgo(3), 200, 1, 0));
    expect(await countLogs("rl-all")).toBe(201);
    const page = await getJson<Page>("/v1/logs?service=rl-all&limit=1000");
    expect(page.body.sampled).toBe(false);
    expect(page.body.logs.every((l) => l.weight === 1)).toBe(true);

    // Not configured: auto.
    await ingest(minuteOf("rl-auto-low", minuteAgo(3), 60, 0, 0));
    expect(await countLogs("rl-auto-low")).toBe(60);
    await ingest(minuteOf("rl-auto-high", minuteAgo(3), 61, 2, 0));
    expect(await countLogs("rl-auto-high")).toBe(4);
    expect(await weightSum("rl-auto-high")).toBeCloseTo(63, 9);
  });
});

describe("summaries of a sampled service", () => {
  it("count the full traffic: 10,000 records with 1% 5xx give the true hourly counts", async () => {
    const service = "rl-summary";
    expect((await configure(service, { mode: "sampled", sample_size: 2 })).status).toBeLessThan(300);
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 2 * HOUR_MS;
    const recs = Array.from({ length: 10_000 }, (_, i) =>
      record(service, {
        id: `sum-${i}`,
        timestamp: hour + i * 360,
        path: "/orders",
        status: i % 100 === 0 ? 503 : i % 50 === 1 ? 301 : 200,
        latency_ms: 5 + ((i * 7919) % 200),
        error: i % 100 === 0 ? "boom" : undefined,
      }),
    );
    await ingest(recs);
    const stored = await countLogs(service);
    expect(stored).toBeLessThan(1000);
    const now = Date.now();
    await aggregate(env, { now, deadline: now + 60_000, cursor: null, from: hour, to: hour });
    const row = await env.DB.prepare(
      "SELECT count, status_2xx, status_3xx, status_5xx, p50_ms FROM summaries WHERE granularity = 'hour' AND service = ? AND bucket_start = ?",
    )
      .bind(service, hour)
      .first<{ count: number; status_2xx: number; status_3xx: number; status_5xx: number; p50_ms: number }>();
    expect(row).toMatchObject({ count: 10_000, status_2xx: 9_700, status_3xx: 200, status_5xx: 100 });
    // The median of plain successes comes from the sample: near the true 105 ms.
    expect(row?.p50_ms).toBeGreaterThan(60);
    expect(row?.p50_ms).toBeLessThan(150);
  });
});

/** env.DB reporting itself `bytes` large in every result's meta (D1's size_after). */
function sizedD1(db: D1Database, bytes: number): D1Database {
  const sized = <T>(r: D1Result<T>): D1Result<T> => ({ ...r, meta: { ...r.meta, size_after: bytes } });
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) =>
          new Proxy(target.prepare(query), {
            get(st, p) {
              if (p === "run") return async () => sized(await st.run());
              const value: unknown = Reflect.get(st, p);
              return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(st) : value;
            },
          });
      }
      if (prop === "batch")
        return async (statements: D1PreparedStatement[]) => (await target.batch(statements)).map(sized);
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function logRecords(service: string, plain: number, errors: number): LogRecord[] {
  const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
  return minuteOf(service, minuteAgo(2), plain, errors, 0).map((input) => {
    const result = normaliseRecord({ ...input, path: "/orders" }, ctx);
    if (!result.ok) throw new Error(result.errors.join("; "));
    return result.record;
  });
}

/** Runs the object's alarm until its buffer is empty (a live endpoint keeps a minute alarm: bounded). */
async function flushed(stub: DurableObjectStub<EndpointMonitor>): Promise<void> {
  for (let i = 0; i < 10 && (await stub.stats()).backlog > 0; i++) await runFlush(stub);
}

async function healthAt(maxBytes: string): Promise<{ raw_logs: string; d1_size: { bytes: number; state: string } }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}/health`), { ...env, D1_MAX_BYTES: maxBytes }, ctx);
  await waitOnExecutionContext(ctx);
  return await res.json<{ raw_logs: string; d1_size: { bytes: number; state: string } }>();
}

describe("D1 size guards", () => {
  it("past 80% samples every service harder (one plain success per minute), without losing a count", async () => {
    const service = "rl-high";
    expect((await configure(service, { mode: "all" })).status).toBeLessThan(300);
    const stub = endpointStub(service, "GET", "/orders");
    await runInDurableObject(stub, (instance: EndpointMonitor) => {
      instance.logsDb = sizedD1(env.DB, 0.85 * DEFAULT_D1_MAX_BYTES);
    });
    await stub.ingest(logRecords(service, 300, 4));
    await flushed(stub);
    expect(await countLogs(service)).toBe(5);
    expect(await weightSum(service)).toBeCloseTo(304, 9);
    const stats = await stub.stats();
    expect(stats).toMatchObject({ received: 304, backlog: 0 });
    expect(stats.minutes.reduce((sum, m) => sum + m.count, 0)).toBe(304);
  });

  it("at the cap stores no raw row, the flush succeeds and every record is still counted", async () => {
    const service = "rl-full";
    const stub = endpointStub(service, "GET", "/orders");
    await runInDurableObject(stub, (instance: EndpointMonitor) => {
      instance.logsDb = sizedD1(env.DB, DEFAULT_D1_MAX_BYTES);
    });
    await stub.ingest(logRecords(service, 100, 3));
    await flushed(stub);
    expect(await countLogs(service)).toBe(0);
    const stats = await stub.stats();
    expect(stats).toMatchObject({ received: 103, backlog: 0, consecutive_flush_failures: 0 });
    expect(stats.minutes.reduce((sum, m) => sum + m.count, 0)).toBe(103);
  });

  it("at the cap the endpoint object writes the hour's summary from its windows: exact, and the cron's recount of fewer raw rows does not undo it", async () => {
    const service = "rl-cap-summary";
    expect((await configure(service, { mode: "all" })).status).toBeLessThan(300);
    const stub = endpointStub(service, "GET", "/orders");
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 2 * HOUR_MS;
    const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
    const recs = (from: number, n: number) =>
      Array.from({ length: n }, (_, k) => {
        const i = from + k;
        const out = normaliseRecord(
          record(service, {
            id: `cap-${i}`,
            path: "/orders",
            timestamp: hour + i * 15_000,
            status: i % 20 === 0 ? 503 : 200,
            latency_ms: 20 + (i % 50),
          }),
          ctx,
        );
        if (!out.ok) throw new Error(out.errors.join("; "));
        return out.record;
      });
    // Before the cap: 50 raw rows.
    await stub.ingest(recs(0, 50));
    await flushed(stub);
    expect(await countLogs(service)).toBe(50);
    // At the cap: 150 more in the same hour, no raw row (a new instance: no D1 size cached from before).
    await evictDurableObject(stub);
    await runInDurableObject(stub, (instance: EndpointMonitor) => {
      instance.logsDb = sizedD1(env.DB, DEFAULT_D1_MAX_BYTES);
    });
    await stub.ingest(recs(50, 150));
    await flushed(stub);
    expect(await countLogs(service)).toBe(50);
    const row = () =>
      env.DB.prepare(
        "SELECT count, status_5xx, p50_ms FROM summaries WHERE granularity = ? AND service = ? AND bucket_start = ?",
      )
        .bind("hour", service, hour)
        .first<{ count: number; status_5xx: number; p50_ms: number }>();
    expect(await row()).toMatchObject({ count: 200, status_5xx: 10 });
    // The cron recounts the hour from its 50 raw rows: the object's exact row stays, and the day adds it up.
    const now = Date.now();
    await aggregate(env, { now, deadline: now + 60_000, cursor: null, from: hour, to: hour });
    expect(await row()).toMatchObject({ count: 200, status_5xx: 10 });
    expect((await row())?.p50_ms).toBeGreaterThan(35);
    expect((await row())?.p50_ms).toBeLessThan(55);
    const day = Math.floor(hour / 86_400_000) * 86_400_000;
    const dayRow = await env.DB.prepare(
      "SELECT count FROM summaries WHERE granularity = 'day' AND service = ? AND bucket_start = ?",
    )
      .bind(service, day)
      .first<{ count: number }>();
    expect(dayRow?.count).toBe(200);

    // The cap lifts within the hour's life: later records of the same hour get raw rows, and the
    // object writes the hour again (the cron's recount of its 90 raw rows alone would keep 200).
    await evictDurableObject(stub);
    await stub.ingest(recs(200, 40));
    await flushed(stub);
    expect(await countLogs(service)).toBe(90);
    expect(await row()).toMatchObject({ count: 240, status_5xx: 12 });
    await aggregate(env, { now: Date.now(), deadline: Date.now() + 60_000, cursor: null, from: hour, to: hour });
    expect(await row()).toMatchObject({ count: 240, status_5xx: 12 });
  });

  it("/health and /v1/control/status say how raw rows are stored", async () => {
    const normal = await healthAt(String(DEFAULT_D1_MAX_BYTES));
    expect(normal.raw_logs).toBe("normal");
    const bytes = normal.d1_size.bytes;
    expect(bytes).toBeGreaterThan(0);
    expect((await healthAt(String(Math.ceil(bytes / 0.85)))).raw_logs).toBe("sampling_harder");
    expect((await healthAt(String(bytes))).raw_logs).toBe("stopped");
    const status = await getJson<{ raw_logs: string }>("/v1/control/status", ADMIN_KEY);
    expect(status.body.raw_logs).toBe("normal");
  });
});
