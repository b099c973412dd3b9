/**
 * `GET /v1/timeseries` end to end: traffic through `POST /v1/logs`, read back as series from the
 * endpoint objects' windows (recent ranges) and from the D1 summaries (older ones, after the
 * aggregation ran), re-bucketed to a step; bounds and 400s. Storage is shared within this file:
 * every test uses its own service.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_POINTS } from "../src/timeseries/plan";
import { ADMIN_KEY, call, getJson } from "./helpers";
import { send, traffic } from "./traffic";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const ROUTE = "/orders/:id";

type Series = {
  service: string;
  method: string;
  route: string;
  metric: string;
  step_ms: number;
  source: "windows" | "summaries";
  points: [number, number | null][];
};
type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Rec = { timestamp: number; status: number; latency_ms: number; response_empty: boolean };

function url(service: string, params: Record<string, string | number>): string {
  const q = new URLSearchParams({
    service,
    method: "get",
    route: ROUTE,
    ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
  });
  return `/v1/timeseries?${q.toString()}`;
}

async function series(service: string, params: Record<string, string | number>): Promise<Series> {
  const res = await getJson<Series>(url(service, params));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function refused(service: string, params: Record<string, string | number>): Promise<ErrorBody["error"]> {
  const res = await getJson<ErrorBody>(url(service, params));
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  return res.body.error;
}

/** The records of each step starting at `from`. */
function byStep(records: Rec[], from: number, step: number, points: number): Rec[][] {
  const out = Array.from({ length: points }, (): Rec[] => []);
  for (const r of records) out[Math.floor((r.timestamp - from) / step)]?.push(r);
  return out;
}

/** The value at quantile q by rank, as the sketch defines it (within its 1% of this). */
function trueQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN;
}

function close(actual: number | null, expected: number, rel = 0.015): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual ?? 0) - expected) / expected, `${actual} vs ${expected}`).toBeLessThanOrEqual(rel);
}

// The error phase opens an incident, whose AI summary is not what this file tests.
beforeAll(() => {
  vi.spyOn(env.AI, "run").mockRejectedValue(new Error("Workers AI is not used in these tests"));
});

describe("GET /v1/timeseries from the endpoint object's windows", () => {
  const service = "ts-windows";
  const { records } = traffic(
    service,
    [
      { minutes: 20, perMinute: 30, latencyMs: 80, emptyRate: 0.05 },
      { minutes: 10, perMinute: 30, errorRate: 0.3, latencyMs: 400 },
    ],
    { endsAgo: 2 * MINUTE },
  );
  const recs = records as Rec[];
  const first = Math.min(...recs.map((r) => r.timestamp));
  const from = Math.floor(first / MINUTE) * MINUTE;
  const to = from + 30 * MINUTE;
  let sent = false;
  const ready = async () => {
    if (!sent) await send(records);
    sent = true;
  };

  it("answers minute points by default: counts, rates and per-minute percentiles match the records", async () => {
    await ready();
    const minutes = byStep(recs, from, MINUTE, 30);
    const requests = await series(service, { metric: "requests", from, to });
    expect(requests).toMatchObject({
      service,
      method: "GET",
      route: ROUTE,
      metric: "requests",
      step_ms: MINUTE,
      source: "windows",
    });
    expect(requests.points.map(([t]) => t)).toEqual(minutes.map((_, i) => from + i * MINUTE));
    expect(requests.points.map(([, v]) => v)).toEqual(minutes.map((m) => m.length));

    const ratio = (m: Rec[], bad: (r: Rec) => boolean) => m.filter(bad).length / m.length;
    for (const [metric, bad] of [
      ["error_rate", (r: Rec) => r.status >= 500],
      ["client_error_rate", (r: Rec) => r.status >= 400 && r.status < 500],
      ["silent_failure_rate", (r: Rec) => r.response_empty && r.status < 300],
    ] as const) {
      const s = await series(service, { metric, from, to });
      s.points.forEach(([, v], i) => expect(v, `${metric} minute ${i}`).toBeCloseTo(ratio(minutes[i] ?? [], bad), 10));
    }
    expect(
      Math.max(...(await series(service, { metric: "error_rate", from, to })).points.slice(20).map(([, v]) => v ?? 0)),
    ).toBeGreaterThan(0.1);

    const p95 = await series(service, { metric: "p95_ms", from, to });
    p95.points.forEach(([, v], i) =>
      close(
        v,
        trueQuantile(
          (minutes[i] ?? []).map((r) => r.latency_ms),
          0.95,
        ),
      ),
    );
    const max = await series(service, { metric: "max_ms", from, to });
    max.points.forEach(([, v], i) => expect(v).toBe(Math.max(...(minutes[i] ?? []).map((r) => r.latency_ms))));
  });

  it("re-buckets to a coarser step: counts add up, rpm per minute, percentiles are the largest bucket's", async () => {
    await ready();
    const step = 5 * MINUTE;
    // Steps are aligned on multiples of the step since the epoch: the first may start before `from`.
    const aligned = Math.floor(from / step) * step;
    const requests = await series(service, { metric: "requests", from, to, step: "5m" });
    expect(requests).toMatchObject({ step_ms: step, source: "windows" });
    expect(requests.points[0]?.[0]).toBe(aligned);
    const steps = byStep(recs, aligned, step, requests.points.length);
    expect(requests.points.map(([, v]) => v)).toEqual(steps.map((s) => s.length));
    const rpm = await series(service, { metric: "rpm", from, to, step: String(step) });
    expect(rpm.points.map(([, v]) => v)).toEqual(steps.map((s) => s.length / 5));
    const p99 = await series(service, { metric: "p99_ms", from, to, step: "5m" });
    p99.points.forEach(([, v], i) => {
      const perMinute = byStep(steps[i] ?? [], aligned + i * step, MINUTE, 5)
        .filter((m) => m.length > 0)
        .map((m) =>
          trueQuantile(
            m.map((r) => r.latency_ms),
            0.99,
          ),
        );
      close(v, Math.max(...perMinute));
    });
  });

  it("answers hour buckets of the windows for the last 3 days, and empty steps as 0 or null", async () => {
    await ready();
    const now = Date.now();
    const day = await series(service, { metric: "requests", from: now - DAY, to: now });
    expect(day).toMatchObject({ step_ms: HOUR, source: "windows" });
    expect(day.points.length).toBeLessThanOrEqual(25);
    expect(day.points.reduce((n, [, v]) => n + (v ?? 0), 0)).toBe(recs.length);
    const rates = await series(service, { metric: "error_rate", from: now - DAY, to: now, step: "1h" });
    expect(rates.source).toBe("windows");
    expect(rates.points.filter(([, v]) => v === null).length).toBeGreaterThan(15);
    const early = await series(service, { metric: "requests", from: from - 3 * HOUR, to: from - HOUR, step: "1h" });
    expect(early.points.every(([, v]) => v === 0)).toBe(true);
  });
});

describe("GET /v1/timeseries from the D1 summaries", () => {
  const service = "ts-summaries";
  // Three hours of traffic four days back, then one record now: the windows' clock is now, so
  // four days back is past their 3-day horizon and the summaries answer.
  const { records } = traffic(service, [{ minutes: 180, perMinute: 5, errorRate: 0.05, latencyMs: 150 }], {
    endsAgo: 4 * DAY,
    seed: 7,
  });
  const recs = records as Rec[];
  const start = Math.floor(Math.min(...recs.map((r) => r.timestamp)) / HOUR) * HOUR;
  const end = Math.ceil((Math.max(...recs.map((r) => r.timestamp)) + 1) / HOUR) * HOUR;
  let sent = false;
  const ready = async () => {
    if (sent) return;
    await send([...records, { ...records[0], timestamp: Date.now() - MINUTE, id: "now" }]);
    const res = await call(`/v1/control/aggregate?from=${start - DAY}&to=${end + DAY}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(200);
    sent = true;
  };

  it("answers hourly points with exact counts, and percentiles of merged sketches for coarser steps", async () => {
    await ready();
    const hours = (end - start) / HOUR;
    const requests = await series(service, { metric: "requests", from: start, to: end });
    expect(requests).toMatchObject({ step_ms: HOUR, source: "summaries" });
    expect(requests.points.map(([, v]) => v)).toEqual(byStep(recs, start, HOUR, hours).map((h) => h.length));

    // Two-hour steps: each merges the sketches of its hours.
    const step = 2 * HOUR;
    const aligned = Math.floor(start / step) * step;
    const p95 = await series(service, { metric: "p95_ms", from: start, to: end, step: "2h" });
    expect(p95.points[0]?.[0]).toBe(aligned);
    const steps = byStep(recs, aligned, step, p95.points.length);
    p95.points.forEach(([, v], i) => {
      const inStep = (steps[i] ?? []).map((r) => r.latency_ms);
      if (inStep.length === 0) expect(v).toBeNull();
      else close(v, trueQuantile(inStep, 0.95));
    });
    const errors = await series(service, { metric: "error_rate", from: start, to: end, step: "2h" });
    errors.points.forEach(([, v], i) => {
      const inStep = steps[i] ?? [];
      if (inStep.length > 0) expect(v).toBeCloseTo(inStep.filter((r) => r.status >= 500).length / inStep.length, 10);
    });

    // One step per hour: the hourly summary's own percentile.
    const hourly = await series(service, { metric: "p99_ms", from: start, to: end, step: "1h" });
    const rows = await getJson<{ summaries: { bucket_start: number; p99_ms: number }[] }>(
      `/v1/summaries?service=${service}&from=${start}&to=${end - 1}`,
    );
    expect(hourly.points).toHaveLength(rows.body.summaries.length);
    // GET /v1/summaries writes its numbers with SQLite's 15 significant digits.
    hourly.points.forEach(([t, v], i) => {
      expect(t).toBe(rows.body.summaries[i]?.bucket_start);
      expect(v).toBeCloseTo(rows.body.summaries[i]?.p99_ms ?? Number.NaN, 9);
    });
  });

  it("reads daily rows for whole-day steps and keeps a week under 1,000 points", async () => {
    await ready();
    const days = await series(service, { metric: "requests", from: start - DAY, to: end + DAY, step: "1d" });
    expect(days).toMatchObject({ step_ms: DAY, source: "summaries" });
    expect(days.points.every(([t]) => t % DAY === 0)).toBe(true);
    expect(days.points.reduce((n, [, v]) => n + (v ?? 0), 0)).toBe(recs.length);
    const now = Date.now();
    const week = await series(service, { metric: "max_ms", from: now - 7 * DAY, to: now - 3.5 * DAY });
    expect(week).toMatchObject({ step_ms: HOUR, source: "summaries" });
    expect(week.points.filter(([, v]) => v !== null).length).toBe((end - start) / HOUR);
  });

  it("refuses a step finer than the summaries' hours when the windows do not cover the range", async () => {
    await ready();
    const error = await refused(service, { metric: "requests", from: start, to: end, step: "5m" });
    expect(error.code).toBe("step_too_fine");
  });
});

describe("GET /v1/timeseries bounds and errors", () => {
  const service = "ts-bounds";

  it("aligns points on multiples of the step and covers [from, to)", async () => {
    const from = Date.UTC(2026, 0, 1, 10, 17);
    const s = await series(service, { metric: "requests", from, to: from + 10 * HOUR, step: "2h" });
    expect(s.points.map(([t]) => t)).toEqual([0, 1, 2, 3, 4, 5].map((i) => Date.UTC(2026, 0, 1, 10) + i * 2 * HOUR));
    expect(s.source).toBe("summaries");
  });

  it("allows 1,000 points and refuses 1,001 with the smallest step that fits", async () => {
    const from = Date.UTC(2026, 0, 1);
    const ok = await series(service, { metric: "requests", from, to: from + MAX_POINTS * HOUR, step: "1h" });
    expect(ok.points).toHaveLength(MAX_POINTS);
    const error = await refused(service, { metric: "requests", from, to: from + (MAX_POINTS + 1) * HOUR, step: "1h" });
    expect(error.code).toBe("too_many_points");
    expect((error.details as { min_step_ms: number }).min_step_ms).toBeGreaterThan(HOUR);
  });

  it("chooses a default step that keeps long ranges under 1,000 points", async () => {
    const now = Date.now();
    for (const span of [HOUR, 6 * HOUR, 7 * DAY, 90 * DAY, 400 * DAY, 5000 * DAY]) {
      const s = await series(service, { metric: "p95_ms", from: now - span, to: now });
      expect(s.points.length, `span ${span}`).toBeLessThanOrEqual(MAX_POINTS);
      expect(s.points.length, `span ${span}`).toBeGreaterThan(0);
      expect(s.step_ms % MINUTE).toBe(0);
    }
  });

  it("refuses a bad query with 400", async () => {
    const now = Date.now();
    const bad: Record<string, string | number>[] = [
      {},
      { metric: "latency" },
      { metric: "requests", step: "30s" },
      { metric: "requests", step: "90s" },
      { metric: "requests", step: "abc" },
      { metric: "requests", from: now, to: now - HOUR },
      { metric: "requests", from: now + HOUR },
      { metric: "requests", from: "yesterday" },
    ];
    for (const params of bad)
      expect((await refused(service, params)).code, JSON.stringify(params)).toBe("invalid_request");
    const noService = await getJson<ErrorBody>(`/v1/timeseries?method=GET&route=%2Fx&metric=requests`);
    expect(noService.status).toBe(400);
    const badRoute = await getJson<ErrorBody>(`/v1/timeseries?service=x&method=GET&route=x&metric=requests`);
    expect(badRoute.status).toBe(400);
  });
});
