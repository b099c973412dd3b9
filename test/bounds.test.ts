/**
 * Bounded inputs, isolated failures (issue 12, item 3): numeric fields past their bound are
 * per-record errors at ingest, and rows with extreme values already in D1 (from before the bounds,
 * or written straight into it) neither stop the aggregation nor keep another service's hour from
 * its summary, and stats and analysis over them still answer. Storage is shared within this file:
 * every test uses its own services.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CRONS } from "../src/cron/scheduled";
import { MAX_BYTES, MAX_LATENCY_MS } from "../src/ingest/bounds";
import worker from "../src/index";
import { aggregate, floorTo } from "../src/summaries/aggregate";
import { ADMIN_KEY, BASE, INGEST_KEY, READ_KEY, call, flushAll, postLogs, record } from "./helpers";
import { DAY_MS, HOUR_MS } from "../src/lib/time";

const NOW = Date.now();
const OPEN = floorTo(NOW, HOUR_MS);

type IngestBody = { accepted: number; rejected: { index: number; errors: string[] }[] };
type Summary = {
  service: string;
  bucket_start: number;
  count: number;
  bytes: number;
  latency_sum: number;
  max_ms: number;
  p99_ms: number;
};

/**
 * Writes `n` raw rows of one endpoint straight into D1 (no validation), spread over the hour,
 * with the given SQL expressions for latency and byte counts (`i` is the row number).
 */
async function insertRaw(
  service: string,
  hour: number,
  n: number,
  o: { latency?: string; requestBytes?: string; responseBytes?: string } = {},
): Promise<void> {
  await env.DB.prepare(
    `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ${n - 1})
     INSERT INTO request_logs (record_key, timestamp, received_at, service, method, route, path, status, latency_ms, request_bytes, response_bytes, response_empty, inconsistent, source)
     SELECT 'raw:' || ?1 || ':' || ?2 || ':' || i, ?2 + i * 1000, ?2, ?1, 'GET', '/x', '/x', 200,
       ${o.latency ?? "10 + i"}, ${o.requestBytes ?? "100"}, ${o.responseBytes ?? "1000"}, 0, 0, 'ingest' FROM c`,
  )
    .bind(service, hour)
    .run();
}

async function hourRows(service: string, granularity = "hour"): Promise<Summary[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM summaries WHERE service = ? AND granularity = ? ORDER BY bucket_start",
  )
    .bind(service, granularity)
    .all<Summary>();
  return results;
}

const admin = (path: string) => call(path, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_KEY}` } });

describe("bounds on ingested numbers", () => {
  it("rejects, per record, the overflow records of the finding and every field past its bound; keeps the valid ones", async () => {
    const overflow = Array.from({ length: 600 }, (_, i) =>
      record("bound-api", { request_bytes: 2 ** 53 - 1, id: `of-${i}` }),
    );
    const past = [
      record("bound-api", { latency_ms: 1.79e308 }),
      record("bound-api", { latency_ms: MAX_LATENCY_MS + 1 }),
      record("bound-api", { ttfb_ms: MAX_LATENCY_MS * 2 }),
      record("bound-api", { response_bytes: MAX_BYTES + 1 }),
      record("bound-api", { attributes: { huge: 1e300 } }),
      record("bound-api", { timestamp: 1e300 }),
    ];
    const atBounds = record("bound-api", {
      latency_ms: MAX_LATENCY_MS,
      ttfb_ms: MAX_LATENCY_MS,
      request_bytes: MAX_BYTES,
      response_bytes: MAX_BYTES,
      attributes: { n: Number.MAX_SAFE_INTEGER },
    });
    const res = await postLogs([atBounds, ...overflow.slice(0, 399)], { sync: true });
    expect(res.status).toBe(202);
    const body = await res.json<IngestBody>();
    expect(body.accepted).toBe(1);
    expect(body.rejected).toHaveLength(399);
    expect(body.rejected.every((r) => r.errors.some((e) => /^request_bytes: .*1 TiB/.test(e)))).toBe(true);

    const second = await postLogs([record("bound-api"), ...overflow.slice(399), ...past], { sync: true });
    const b2 = await second.json<IngestBody>();
    expect(b2.accepted).toBe(1);
    expect(b2.rejected.map((r) => r.index)).toEqual(Array.from({ length: 201 + past.length }, (_, i) => i + 1));
    const reasons = b2.rejected.slice(201).map((r) => r.errors.join(" "));
    expect(reasons[0]).toMatch(/^latency_ms: .*1 day/);
    expect(reasons[1]).toMatch(/^latency_ms: /);
    expect(reasons[2]).toMatch(/^ttfb_ms: /);
    expect(reasons[3]).toMatch(/^response_bytes: /);
    expect(reasons[4]).toMatch(/attributes/);
    expect(reasons[5]).toMatch(/timestamp/);

    await flushAll();
    const stored = await env.DB.prepare(
      "SELECT count(*) AS n, max(request_bytes) AS b FROM request_logs WHERE service = 'bound-api'",
    ).first<{ n: number; b: number }>();
    expect(stored).toEqual({ n: 2, b: MAX_BYTES });
  });

  it("refuses an OTLP span that lasted more than a day, per span", async () => {
    const start = BigInt(NOW - 2000) * 1_000_000n;
    const span = (spanId: string, durationMs: number) => ({
      traceId: "5b8efff798038103d269b633813fc60c",
      spanId,
      kind: 2,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + BigInt(durationMs) * 1_000_000n).toString(),
      attributes: [
        { key: "http.request.method", value: { stringValue: "GET" } },
        { key: "url.path", value: { stringValue: "/o" } },
        { key: "http.response.status_code", value: { intValue: "200" } },
      ],
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/v1/otlp/v1/traces`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          resourceSpans: [
            {
              resource: { attributes: [{ key: "service.name", value: { stringValue: "bound-otlp" } }] },
              scopeSpans: [{ spans: [span("0000000000000001", 40), span("0000000000000002", 2 * 86_400_000)] }],
            },
          ],
        }),
      }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const body = await res.json<{ partialSuccess?: { rejectedSpans: number; errorMessage: string } }>();
    expect(body.partialSuccess?.rejectedSpans).toBe(1);
    expect(body.partialSuccess?.errorMessage).toMatch(/latency_ms/);
  });
});

describe("aggregation over extreme values already in D1", () => {
  it("a cron run goes through three poisoned hours and every other hour and service gets its summary", async () => {
    const poisoned = [8, 7, 6].map((k) => OPEN - k * HOUR_MS);
    const clean = OPEN - 5 * HOUR_MS;
    for (const [i, hour] of poisoned.entries()) {
      // The finding: 600 rows of 2^53 - 1 bytes overflow an integer SUM; 2 of 1.79e308 ms sum to infinity.
      await insertRaw(`bound-poison-${i}`, hour, 600, { requestBytes: String(2 ** 53 - 1) });
      await insertRaw(`bound-poison-${i}`, hour + 700_000, 2, { latency: "1.79e308" });
      await insertRaw("bound-neighbour", hour, 10);
    }
    await insertRaw("bound-neighbour", clean, 10);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: CRONS.aggregate, scheduledTime: NOW }), env, ctx);
    await waitOnExecutionContext(ctx);

    const job = await env.DB.prepare(
      "SELECT cursor, failures, last_error FROM job_runs WHERE job = 'aggregate'",
    ).first<{ cursor: string; failures: number; last_error: string | null }>();
    expect(job?.failures).toBe(0);
    expect(job?.last_error).toBeNull();
    expect(JSON.parse(job?.cursor ?? "{}")).toMatchObject({ hour: OPEN - HOUR_MS });
    const neighbour = await hourRows("bound-neighbour");
    expect(neighbour.map((r) => [r.bucket_start, r.count, r.bytes])).toEqual(
      [...poisoned, clean].map((h) => [h, 10, 11_000]),
    );
    expect(neighbour[0]?.latency_sum).toBe(10 * 10 + 45);
    for (let i = 0; i < 3; i++) {
      const [row] = await hourRows(`bound-poison-${i}`);
      // Counted, with the extreme values at their bounds.
      expect(row?.count).toBe(602);
      expect(row?.bytes).toBe(600 * (MAX_BYTES + 1000) + 2 * 1100);
      expect(row?.max_ms).toBe(MAX_LATENCY_MS);
      expect(Number.isFinite(row?.latency_sum)).toBe(true);
    }
  });

  it("POST /v1/control/aggregate answers 200 over infinite, negative and non-numeric stored values, and reports the rows counted at the bounds", async () => {
    const hour = OPEN - 20 * HOUR_MS;
    await insertRaw("bound-weird", hour, 3, { latency: "1e999" });
    // Text sorts after every number in SQLite: it counts at the bound.
    await insertRaw("bound-weird", hour + 10_000, 2, {
      latency: "-1e999",
      requestBytes: "'lots'",
      responseBytes: "-5",
    });
    await insertRaw("bound-weird", hour + 20_000, 2, { requestBytes: String(2 ** 62), responseBytes: String(2 ** 62) });
    await insertRaw("bound-calm", hour, 5);
    const res = await admin(`/v1/control/aggregate?from=${hour}&to=${hour}`);
    expect(res.status).toBe(200);
    const body = await res.json<{
      rows: number;
      errors?: string[];
      detail: { hours: number; complete: boolean; rows_clamped?: number };
    }>();
    expect(body.errors).toBeUndefined();
    expect(body.detail).toMatchObject({ hours: 1, complete: true, rows_clamped: 7 });
    expect((await hourRows("bound-calm")).map((r) => [r.count, r.bytes, r.latency_sum])).toEqual([[5, 5500, 60]]);
    const [weird] = await hourRows("bound-weird");
    expect(weird).toMatchObject({
      count: 7,
      max_ms: MAX_LATENCY_MS,
      latency_sum: 3 * MAX_LATENCY_MS + 10 + 11,
      bytes: 3 * 1100 + 6 * MAX_BYTES,
    });
  });

  it("skips and reports a day's endpoint whose stored hours cannot make a row; the day's other services are rolled up", async () => {
    const day = floorTo(NOW - 2 * DAY_MS, DAY_MS);
    const hour = day + 5 * HOUR_MS;
    const insertSummary = (service: string, count: string, latencySum: string, sketch: string) =>
      env.DB.prepare(
        `INSERT INTO summaries (granularity, service, method, route, bucket_start, count, status_2xx, status_3xx, status_4xx, status_5xx,
           silent_failures, inconsistent, bytes, latency_sum, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, apdex_satisfied, apdex_tolerating,
           apdex_t_ms, error_budget_consumed, sketch, updated_at)
         VALUES ('hour', ?, 'GET', '/x', ?, ${count}, 0, 0, 0, 0, 0, 0, 0, ${latencySum}, 1, 1, 1, 1, 1, 0, 0, 500, 0, ?, 0)`,
      )
        .bind(service, day + HOUR_MS, sketch)
        .run();
    await insertSummary("bound-infinite", "1", "1e999", '{"a":0.01,"z":0,"b":[[1,1]]}');
    await insertSummary("bound-badsketch", "4", "40", "not json");
    await insertSummary("bound-badpairs", "3", "30", '{"a":0.01,"z":"x","b":["abc",[1,2],7]}');
    await insertRaw("bound-daymate", hour, 4);

    const outcome = await aggregate(env, {
      now: NOW,
      deadline: Date.now() + 60_000,
      cursor: null,
      from: hour,
      to: hour,
    });
    expect(outcome.detail).toMatchObject({ hours: 1, days: 1, endpoints_skipped: 1 });
    expect(outcome.detail?.skipped).toEqual([
      expect.stringMatching(/^day .* bound-infinite GET \/x: not a finite number: latency_sum$/),
    ]);
    expect(outcome.errors).toEqual(outcome.detail?.skipped);
    expect((await hourRows("bound-daymate", "day")).map((r) => r.count)).toEqual([4]);
    expect((await hourRows("bound-badsketch", "day")).map((r) => r.count)).toEqual([4]);
    expect((await hourRows("bound-badpairs", "day")).map((r) => r.count)).toEqual([3]);
    expect(await hourRows("bound-infinite", "day")).toEqual([]);
  });
});

describe("stats and analysis over extreme stored summaries", () => {
  it("GET /v1/stats and POST /v1/analysis answer 200 when the stored counts would overflow an integer sum", async () => {
    const day = floorTo(NOW - DAY_MS, DAY_MS);
    for (const [i, granularity, bucket] of [
      [0, "day", day],
      [1, "day", day],
      [0, "hour", OPEN - HOUR_MS],
      [1, "hour", OPEN - HOUR_MS],
    ] as const) {
      await env.DB.prepare(
        `INSERT INTO summaries (granularity, service, method, route, bucket_start, count, status_2xx, status_3xx, status_4xx, status_5xx,
           silent_failures, inconsistent, bytes, latency_sum, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, apdex_satisfied, apdex_tolerating,
           apdex_t_ms, error_budget_consumed, sketch, updated_at)
         VALUES (?, 'bound-stats', 'GET', ?, ?, ${2 ** 62}, ${2 ** 62}, 0, 0, ${2 ** 62}, ${2 ** 62}, ${2 ** 62}, 0, 0, 1, 1, 1, 1, 1, 0, 0, 500, 0, ?, 0)`,
      )
        .bind(granularity, `/s${i}`, bucket, i === 0 ? "{broken" : '{"a":0.01,"z":1e300,"b":[[100,1e300],["x",1]]}')
        .run();
    }
    const stats = await call("/v1/stats", { headers: { Authorization: `Bearer ${READ_KEY}` } });
    expect(stats.status).toBe(200);
    const s = await stats.json<{ services: { service: string; events: number }[] }>();
    expect(s.services.find((r) => r.service === "bound-stats")?.events).toBe(2 ** 63);

    const analysis = await call("/v1/analysis", {
      method: "POST",
      headers: { Authorization: `Bearer ${READ_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ lookback_minutes: 180, service: "bound-stats" }),
    });
    expect(analysis.status).toBe(200);
    expect((await analysis.json<{ severity: string }>()).severity).toEqual(expect.any(String));
  });

  it("GET /v1/timeseries answers 200 from summary hours whose sketch is not a sketch, reading the others", async () => {
    const start = floorTo(NOW - 4 * DAY_MS, HOUR_MS);
    for (const [i, sketch] of [
      "not json",
      '{"a":0.01,"z":0,"b":[[300,5],["x",1]]}',
      '{"a":7,"z":-1,"b":{}}',
    ].entries()) {
      await env.DB.prepare(
        `INSERT INTO summaries (granularity, service, method, route, bucket_start, count, status_2xx, status_3xx, status_4xx, status_5xx,
           silent_failures, inconsistent, bytes, latency_sum, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, apdex_satisfied, apdex_tolerating,
           apdex_t_ms, error_budget_consumed, sketch, updated_at)
         VALUES ('hour', 'bound-ts', 'GET', '/x', ?, 5, 5, 0, 0, 0, 0, 0, 0, 50, 1, 1, 1, 1, 400, 0, 0, 500, 0, ?, 0)`,
      )
        .bind(start + i * HOUR_MS, sketch)
        .run();
    }
    const q = new URLSearchParams({
      service: "bound-ts",
      method: "GET",
      route: "/x",
      metric: "p95_ms",
      from: String(start),
      to: String(start + 3 * HOUR_MS),
    });
    const res = await call(`/v1/timeseries?${q.toString()}`, { headers: { Authorization: `Bearer ${READ_KEY}` } });
    expect(res.status).toBe(200);
    const body = await res.json<{ source: string; points: [number, number | null][] }>();
    expect(body.source).toBe("summaries");
    expect(body.points.map(([, v]) => v)).toEqual([null, expect.any(Number), null]);
  });
});
