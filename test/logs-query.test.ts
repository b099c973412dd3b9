import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { beforeAll, describe, expect, it } from "vitest";
import { toLogRow, writeLogBatch } from "../src/db/log-writer";
import { normaliseRecord } from "../src/ingest/record";
import { buildLogsQuery, logFilters, serviceSpan, serviceSpanQueries, type LogFilters } from "../src/query/logs-query";
import { READ_KEY, call, flushAll, getJson, postLogs, record } from "./helpers";

type Log = {
  id: string;
  timestamp: number;
  status: number;
  route: string;
  method: string;
  latency_ms: number;
  error: string | null;
  consumer: string | null;
  region: string | null;
};
type Page = { logs: Log[]; next_cursor: string | null };

const base = Date.now() - 60 * 60_000;

beforeAll(async () => {
  const rows = Array.from({ length: 60 }, (_, i) =>
    record("q-svc", {
      id: `q-${i}`,
      timestamp: base + i * 30_000,
      method: i % 3 === 0 ? "POST" : "GET",
      path: i % 2 === 0 ? `/orders/${i}` : "/health",
      status: i % 10 === 0 ? 503 : i % 7 === 0 ? 404 : 200,
      latency_ms: i * 10,
      error: i % 10 === 0 ? `upstream TIMEOUT after ${i} ms` : undefined,
      consumer: i % 4 === 0 ? "acme" : i % 4 === 1 ? "beta" : undefined,
      region: i % 5 === 0 ? "FRA" : "AMS",
    }),
  );
  rows.push(record("q-other", { id: "other-1", timestamp: base }));
  const res = await postLogs(rows, { sync: true });
  expect(res.status).toBe(202);
  await flushAll();
});

describe("GET /v1/logs", () => {
  it("returns newest first with every filter applied", async () => {
    const all = await getJson<Page>("/v1/logs?service=q-svc&limit=1000");
    expect(all.status).toBe(200);
    expect(all.body.logs).toHaveLength(60);
    const times = all.body.logs.map((l) => l.timestamp);
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const cases: [string, (l: Log) => boolean][] = [
      ["method=post", (l) => l.method === "POST"],
      ["route=/orders/:id", (l) => l.route === "/orders/:id"],
      ["status=503", (l) => l.status === 503],
      ["status=4xx", (l) => l.status >= 400 && l.status < 500],
      ["status=2xx", (l) => l.status >= 200 && l.status < 300],
      [`from=${base + 20 * 30_000}`, (l) => l.timestamp >= base + 20 * 30_000],
      [`to=${new Date(base + 10 * 30_000).toISOString()}`, (l) => l.timestamp <= base + 10 * 30_000],
      ["min_latency_ms=400", (l) => l.latency_ms >= 400],
      ["q=timeout", (l) => (l.error ?? "").toLowerCase().includes("timeout")],
      ["method=GET&route=/health&status=2xx", (l) => l.method === "GET" && l.route === "/health" && l.status < 300],
      ["consumer=acme", (l) => l.consumer === "acme"],
      ["region=FRA", (l) => l.region === "FRA"],
      ["consumer=beta&region=AMS&status=2xx", (l) => l.consumer === "beta" && l.region === "AMS" && l.status < 300],
    ];
    for (const [query, predicate] of cases) {
      const { body } = await getJson<Page>(`/v1/logs?service=q-svc&limit=1000&${encodeURI(query)}`);
      const expected = all.body.logs.filter(predicate).map((l) => l.id);
      expect(expected.length, query).toBeGreaterThan(0);
      expect(
        body.logs.map((l) => l.id),
        query,
      ).toEqual(expected);
    }
  });

  it("pages with a keyset cursor without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const { body }: { body: Page } = await getJson<Page>(`/v1/logs?service=q-svc&limit=7${q}`);
      seen.push(...body.logs.map((l) => l.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(9);
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
  });

  it("filters by service and a `q` that contains LIKE wildcards literally", async () => {
    const { body } = await getJson<Page>("/v1/logs?service=q-other");
    expect(body.logs.map((l) => l.id)).toEqual(["other-1"]);
    const wild = await getJson<Page>("/v1/logs?service=q-svc&q=%25");
    expect(wild.body.logs).toHaveLength(0);
  });

  it("rejects bad filters with a 400 envelope", async () => {
    for (const query of [
      "limit=0",
      "limit=1001",
      "status=600",
      "status=5x",
      "from=yesterday",
      "min_latency_ms=-1",
      "cursor=nope",
    ]) {
      const res = await call(`/v1/logs?${query}`, { headers: { Authorization: `Bearer ${READ_KEY}` } });
      expect(res.status, query).toBe(400);
      const body = await res.json<{ error: { code: string; details: string[] } }>();
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.details.length).toBeGreaterThan(0);
    }
  });

  it("GET /v1/logs/live returns the newest N", async () => {
    const { status, body } = await getJson<Page>("/v1/logs/live?limit=3");
    expect(status).toBe(200);
    expect(body.logs).toHaveLength(3);
    const newest = await getJson<Page>("/v1/logs?limit=3");
    expect(body.logs.map((l) => l.id)).toEqual(newest.body.logs.map((l) => l.id));
  });
});

describe("query plans", () => {
  const FILTERS = {
    service: "q-svc",
    method: "GET",
    route: "/orders/:id",
    status: "503",
    from: String(base),
    to: String(base + 3_600_000),
    min_latency_ms: "100",
    q: "timeout",
    cursor: "MTc5NTQ1OTU1MDAwMDo0Mg",
  } as const;

  it("serves every filter combination in key order, never a sort; a time bound or cursor is never a full scan", async () => {
    const keys = Object.keys(FILTERS) as (keyof typeof FILTERS)[];
    const db = drizzle(env.DB);
    let checked = 0;
    for (let mask = 0; mask < 1 << keys.length; mask++) {
      for (const status of ["503", "5xx"]) {
        const query: Record<string, string> = { limit: "100" };
        keys.forEach((k, i) => {
          if (mask & (1 << i)) query[k] = k === "status" ? status : FILTERS[k];
        });
        const filters: LogFilters = logFilters.parse(query);
        const cursor = query.cursor ? { timestamp: base, key: "g:42" } : null;
        const { sql, params } = buildLogsQuery(db, filters, cursor).toSQL();
        const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .bind(...params)
          .all<{ detail: string }>();
        const details = plan.results.map((r) => r.detail);
        // Without a time bound a page reads the table newest first in key order and stops once
        // it is full; a service filter alone does the same (the table has no secondary index
        // since migration 0010: docs/operations.md "Raw logs in D1: sampling and the lean table" has
        // what that costs).
        const fullScan = details.find((d) => /^SCAN request_logs\b(?!.*USING)/.test(d));
        if (query.from || query.to || query.cursor) {
          expect(fullScan, `${JSON.stringify(query)}: ${details.join(" | ")}`).toBeUndefined();
        }
        // Pages are read in index order: no sort of every matching row.
        const sorts = details.find((d) => /TEMP B-TREE/.test(d));
        expect(sorts, `${JSON.stringify(query)}: ${details.join(" | ")}`).toBeUndefined();
        checked++;
      }
    }
    expect(checked).toBe(2 ** 10);
  });
});

describe("a service filter reads only the span of the service's hours", () => {
  const HOUR = 3_600_000;
  const now = Date.now();
  const BUSY = 3000;
  const old = now - 30 * HOUR;

  /** Rows written through the real log writer (which also records each service's hours). */
  async function write(records: Record<string, unknown>[]): Promise<void> {
    const ctx = { now, retentionMs: 7 * 24 * HOUR, newKey: () => crypto.randomUUID() };
    const rows = records.map((r) => {
      const result = normaliseRecord(r, ctx);
      if (!result.ok) throw new Error(result.errors.join("; "));
      return JSON.stringify(toLogRow(result.record));
    });
    for (let i = 0; i < rows.length; i += 1000) await writeLogBatch(env.DB, rows.slice(i, i + 1000), now);
  }

  /** D1's rows read by a drizzle query, run as the route runs it. */
  async function rowsRead(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<number> {
    const { sql, params } = query.toSQL();
    return (
      await env.DB.prepare(sql)
        .bind(...params)
        .all()
    ).meta.rows_read;
  }

  beforeAll(async () => {
    await write(
      Array.from({ length: BUSY }, (_, i) =>
        record("span-busy", { id: `busy-${i}`, timestamp: now - 3 * HOUR + i * 3000 }),
      ),
    );
    await write([0, 1, 2].map((i) => record("span-old", { id: `old-${i}`, timestamp: old + i * 60_000, status: 503 })));
  });

  it("answers an unknown service with an empty page without reading the raw table", async () => {
    const res = await getJson<Page & { sampled: boolean }>("/v1/logs?service=span-nobody");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ logs: [], next_cursor: null, sampled: false });
    const filters = logFilters.parse({ service: "span-nobody" });
    const db = drizzle(env.DB);
    expect(await serviceSpan(db, "span-nobody", filters, null)).toBeNull();
    // The two key lookups of log_service_hours are all it reads; the page query it no longer
    // runs read the whole table newest first (every row, the busy service's included).
    for (const q of serviceSpanQueries(db, "span-nobody", filters, null))
      expect(await rowsRead(q)).toBeLessThanOrEqual(1);
    expect(await rowsRead(buildLogsQuery(db, filters, null))).toBeGreaterThan(BUSY);
  });

  it("reads only the hours of a service's rows, and still returns every one of them, page by page", async () => {
    const filters = logFilters.parse({ service: "span-old" });
    const db = drizzle(env.DB);
    const span = await serviceSpan(db, "span-old", filters, null);
    expect(span).toEqual({ from: Math.floor(old / HOUR) * HOUR, to: (Math.floor((old + 120_000) / HOUR) + 1) * HOUR });
    // At most the rows of its own hours (here its three), where the page once read every newer row.
    expect(await rowsRead(buildLogsQuery(db, filters, null, span ?? undefined))).toBeLessThanOrEqual(4);
    expect(await rowsRead(buildLogsQuery(db, filters, null))).toBeGreaterThan(BUSY);

    const { body } = await getJson<Page>("/v1/logs?service=span-old");
    expect(body.logs.map((l) => l.id)).toEqual(["old-2", "old-1", "old-0"]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Page } = await getJson<Page>(
        `/v1/logs?service=span-old&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
      );
      seen.push(...page.body.logs.map((l) => l.id));
      cursor = page.body.next_cursor;
    } while (cursor && seen.length < 10);
    expect(seen).toEqual(["old-2", "old-1", "old-0"]);
    // A range outside its hours: empty, the raw table unread.
    const before = logFilters.parse({ service: "span-old", to: String(old - 2 * HOUR) });
    expect(await serviceSpan(db, "span-old", before, null)).toBeNull();
    expect((await getJson<Page>(`/v1/logs?service=span-old&to=${old - 2 * HOUR}`)).body.logs).toEqual([]);
  });

  it("answers a filter that matches nothing, and no filter at all, as before", async () => {
    expect((await getJson<Page>("/v1/logs?service=span-busy&status=418")).body.logs).toEqual([]);
    const { body } = await getJson<{ logs: { log_id: string }[] }>("/v1/logs?limit=5");
    const newest = await env.DB.prepare(
      "SELECT record_key FROM request_logs ORDER BY timestamp DESC, record_key DESC LIMIT 5",
    ).all<{ record_key: string }>();
    expect(body.logs.map((l) => l.log_id)).toEqual(newest.results.map((r) => r.record_key));
    const busy = await getJson<Page>("/v1/logs?service=span-busy&limit=1000");
    expect(busy.body.logs).toHaveLength(1000);
    expect(busy.body.logs[0]?.id).toBe(`busy-${BUSY - 1}`);
  });
});
