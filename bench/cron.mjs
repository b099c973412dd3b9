#!/usr/bin/env node
// @ts-check
/**
 * Cron benchmark (`npm run bench:cron`), issue 5: with 1,000,000 raw rows in the local D1 of a
 * worker on workerd (`wrangler dev --local`, fresh state), measures against 127.0.0.1 only:
 *   1. `POST /v1/control/aggregate` over one hour holding exactly 100,000 rows (--agg-runs times;
 *      the job is idempotent), then over the whole week (the catch-up case), following
 *      `next_hour` if a run stops at the job's deadline;
 *   2. `GET /v1/summaries` for a week of one service, hourly and daily rows, sequential requests,
 *      alternating in --rounds rounds with the same number of `GET /health/live` as the baseline;
 *   3. `POST /v1/control/aggregate` with no range (the cron path) from an empty cursor: the
 *      catch-up a first cron run does, which also moves the cursor that prunes inside the
 *      retention must not pass;
 *   4. `POST /v1/control/prune?older_than_hours=N`: first at the raw retention (168 h: the rows
 *      past it, about a day of them, the daily run's usual work), then twice 12 hours further in.
 *      Under `wrangler dev` no R2 bucket is bound (wrangler.toml has none), so nothing is archived.
 * Targets: summaries p95 <= 20 ms; the 100,000-row hour within one cron invocation's limits
 * (15 min wall, 30 s CPU by default on paid plans; the job's own budget is 60 s).
 *
 * Loading 1,000,000 rows through `POST /v1/logs` runs at about 10,000 records/s here and cannot
 * carry rows past the retention, so the rows are generated in SQL instead: the bench copies the
 * project and adds one migration, `9999_bench_cron_seed.sql`, that generates them with recursive
 * CTEs (hour by hour: a diurnal and weekly shape, realistic statuses and log-normal latencies per
 * endpoint, one degraded half-hour). `startWorker` applies it with the real migrations on its
 * fresh state dir before `wrangler dev` starts, and stops the worker whatever happens. The rows
 * are what ingest would have stored (same columns, `g:<uuid>` keys, redaction-free paths), but
 * no endpoint Durable Object has seen them: nothing here reads those.
 *
 * The report is printed and written to bench/results/cron-<timestamp>.json with the wrangler log.
 * Options: --rows <n> --hot-rows <n> --old-rows <n> --agg-runs <n> --requests <n> --rounds <n>
 *          --port <n> --log-level <level>
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, quantile } from "./lib/load.mjs";
import { parseBenchOptions } from "./lib/options.mjs";
import { KEYS, freePort, snapshotProject, startWorker, summariseServerLog } from "./lib/server.mjs";
import { median, sourceVersion } from "./lib/stats.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RETENTION_HOURS = 168;
const TARGET_P95_MS = 20;
const CRON_WALL_MS = 15 * 60_000;
const CRON_CPU_MS = 30_000;
const JOB_BUDGET_MS = 60_000;
/** The service whose week is queried: 8 endpoints. */
const SERVICE = "shop";

const OPTIONS = {
  // The seed runs in startWorker's migration step, which allows 60 s: 1,000,000 rows take about 20 s.
  rows: { default: 1_000_000, min: 10_000, max: 1_500_000 },
  "hot-rows": { default: 100_000, min: 1_000, max: 1_000_000 },
  "old-rows": { default: 125_000, min: 0, max: 1_000_000 },
  "agg-runs": { default: 5, min: 1, max: 20 },
  requests: { default: 300, min: 10, max: 5_000 },
  rounds: { default: 3, min: 1, max: 10 },
  port: { default: 0, min: 0, max: 65_535 },
};

// service, method, route, weight, ok status, median ms, sigma, p3xx (304), p4xx, usual 4xx, p5xx, request bytes, response bytes
/** @type {[string, string, string, number, number, number, number, number, number, number, number, number | null, number][]} */
const ENDPOINTS = [
  ["shop", "GET", "/products", 14, 200, 45, 0.5, 0.02, 0.005, 400, 0.001, null, 18_000],
  ["shop", "GET", "/products/:id", 20, 200, 25, 0.45, 0.02, 0.03, 404, 0.001, null, 4_200],
  ["shop", "GET", "/search", 10, 200, 90, 0.6, 0, 0.01, 400, 0.002, null, 12_000],
  ["shop", "GET", "/cart", 8, 200, 18, 0.4, 0, 0.02, 401, 0.001, null, 1_500],
  ["shop", "POST", "/cart/items", 6, 201, 35, 0.5, 0, 0.04, 422, 0.002, 300, 1_600],
  ["shop", "DELETE", "/cart/items/:id", 2, 204, 22, 0.4, 0, 0.03, 404, 0.001, null, 0],
  ["shop", "POST", "/checkout", 2, 201, 320, 0.55, 0, 0.06, 422, 0.004, 1_800, 900],
  ["shop", "GET", "/orders/:id", 3, 200, 40, 0.5, 0, 0.02, 404, 0.001, null, 2_600],
  ["auth", "POST", "/login", 5, 200, 120, 0.4, 0, 0.12, 401, 0.001, 250, 700],
  ["auth", "POST", "/token/refresh", 8, 200, 30, 0.35, 0, 0.02, 401, 0.0005, 400, 650],
  ["auth", "GET", "/me", 9, 200, 12, 0.4, 0, 0.01, 401, 0.0005, null, 500],
  ["auth", "POST", "/logout", 1, 204, 15, 0.4, 0, 0.01, 401, 0.0005, 80, 0],
  ["payments", "POST", "/charges", 2, 201, 450, 0.5, 0, 0.05, 402, 0.005, 900, 1_200],
  ["payments", "GET", "/charges/:id", 2, 200, 35, 0.45, 0, 0.02, 404, 0.002, null, 1_100],
  ["payments", "POST", "/refunds", 0.3, 201, 380, 0.5, 0, 0.04, 409, 0.005, 500, 900],
  ["payments", "POST", "/webhooks/stripe", 1.2, 200, 60, 0.5, 0, 0.01, 400, 0.003, 3_000, 20],
  ["search", "GET", "/query", 7, 200, 70, 0.7, 0, 0.01, 400, 0.002, null, 9_000],
  ["search", "GET", "/suggest", 6, 200, 9, 0.5, 0, 0.005, 400, 0.001, null, 800],
  ["media", "GET", "/images/:id", 12, 200, 20, 0.8, 0.15, 0.02, 404, 0.001, null, 85_000],
  ["media", "POST", "/uploads", 0.5, 201, 900, 0.6, 0, 0.03, 413, 0.004, 2_500_000, 400],
  ["media", "GET", "/videos/:id/manifest", 2, 200, 30, 0.5, 0, 0.02, 404, 0.001, null, 3_500],
];
const SLOTS = 1000;

/** @typedef {Awaited<ReturnType<typeof startWorker>>} Worker */
/** @typedef {import("./lib/load.mjs").Client} Client */
/**
 * What a control job answers in `detail` (the fields read here).
 * @typedef {object} JobDetail
 * @property {boolean} [complete]
 * @property {string} [next_hour]
 * @property {number} [hours]
 * @property {number} [hour_rows]
 * @property {number} [day_rows]
 * @property {number} [hours_skipped_past_retention]
 * @property {boolean} [finished]
 * @property {{ deleted: number, archived: unknown, clamped?: { aggregated_until: number | null } }} [raw_logs]
 */
/** @typedef {{ path: string, wall_ms: number, duration_ms: number, rows: number, server_cpu_s: number, detail: JobDetail }} JobCall */
/** @typedef {Awaited<ReturnType<typeof aggregateRange>>} RangeRun */
/** @typedef {{ name: string, path: string, headers: Record<string, string>, rows?: number, bytes?: number, events?: number }} Query */
/**
 * @typedef {ReturnType<typeof latencyStats> & { path: string, round_p95: number[], p95_ratio_to_health: number | null, rows?: number, bytes?: number, events?: number }} QueryStats
 */
/** @typedef {{ median: number | null, min: number, max: number }} Spread */
/**
 * @typedef {JobCall & { older_than_hours: number, deleted: number, archived: unknown, finished: boolean | undefined, clamped: { aggregated_until: number | null } | null, rows_per_s: number }} PruneRun
 */
/**
 * The report, built property by property (printReport reads it whole).
 * @typedef {object} CronReport
 * @property {string} started_at
 * @property {{ wrangler: string, node: string, cpus: number, source: ReturnType<typeof sourceVersion>, load_average_at_start: (number | null)[], load_average_at_end?: (number | null)[], log_level: string }} environment
 * @property {unknown} options
 * @property {{ rows: number, now: string, hot_hour: string, hot_rows: number, old_rows: number, old_range: string[], week_range: string[], incident: { service: string, from: string, minutes: number }, endpoints: number, services: string[], ready_seconds: number | null | undefined }} seed
 * @property {{ hot_hour: { raw_rows: number, summary_rows: number | undefined, cold: JobCall, runs: JobCall[], duration_ms: Spread, wall_ms: Spread, server_cpu_s: { median: number | null, max: number } }, week: RangeRun[], cron_catch_up: { calls: number, complete: boolean, duration_ms: number, hours: number, server_cpu_s: number | null, runs: JobCall[] }, stats_events: number }} [aggregation]
 * @property {Record<string, QueryStats>} [summaries]
 * @property {PruneRun[]} [prune]
 * @property {{ summaries_hour_p95_ms: number | null, summaries_p95_target_ms: number, summaries_p95_pass: boolean, summaries_day_p95_ms: number | null, hot_hour_duration_ms_worst: number, hot_hour_server_cpu_ms_worst: number, hot_hour_limits_ms: { cron_wall: number, cpu: number, job_budget: number }, hot_hour_pass: boolean }} [results]
 * @property {number | null} [wall_seconds]
 * @property {{ path: string, issues: ReturnType<typeof summariseServerLog> }} [server_log]
 */

/** @param {string[]} argv */
function parseOptions(argv) {
  return parseBenchOptions(argv, OPTIONS, [
    "usage: npm run bench:cron -- [--rows 1000000] [--hot-rows 100000] [--old-rows 125000] [--agg-runs 5]",
    "       [--requests 300] [--rounds 3] [--port <free>] [--log-level warn]",
  ]);
}

const say = (/** @type {string} */ line) => console.log(line);
const round1 = (/** @type {number | null | undefined} */ v) =>
  v === null || v === undefined ? null : Math.round(v * 10) / 10;
const round2 = (/** @type {number | null | undefined} */ v) =>
  v === null || v === undefined ? null : Math.round(v * 100) / 100;
const iso = (/** @type {number} */ t) => new Date(t).toISOString();
const sqlText = (/** @type {string | number | null} */ v) =>
  v === null ? "NULL" : typeof v === "string" ? `'${v.replace(/'/g, "''")}'` : String(v);

/**
 * Splits `total` into integers proportional to `weights` (largest remainder), summing to `total` exactly.
 * @param {number} total
 * @param {number[]} weights
 */
function apportion(total, weights) {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (sum > 0 ? (total * w) / sum : 0));
  const out = exact.map(Math.floor);
  const order = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0]);
  const missing = total - out.reduce((a, b) => a + b, 0);
  for (let k = 0; k < missing; k++) out[order[k % order.length][1]]++;
  return out;
}

/**
 * Traffic shape: a daily wave peaking at 16:00 UTC (trough 30% of peak), weekends at 70%.
 * @param {number} t
 */
function traffic(t) {
  const d = new Date(t);
  const hod = d.getUTCHours() + d.getUTCMinutes() / 60;
  const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 0.7 : 1;
  return weekend * (0.3 + 0.7 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (hod - 4)) / 24)));
}

/**
 * Hour-aligned pieces of [from, to) with their share of `total` rows by traffic shape and length.
 * @param {number} from
 * @param {number} to
 * @param {number} total
 * @param {number | null} [skip]
 */
function spread(from, to, total, skip = null) {
  /** @type {{ lo: number, span: number }[]} */
  const pieces = [];
  for (let h = Math.floor(from / HOUR) * HOUR; h < to; h += HOUR) {
    if (h === skip) continue;
    const lo = Math.max(h, from);
    const hi = Math.min(h + HOUR, to);
    if (hi > lo) pieces.push({ lo, span: hi - lo });
  }
  const counts = apportion(
    total,
    pieces.map((p) => p.span * traffic(p.lo + p.span / 2)),
  );
  return pieces.map((p, i) => ({ ...p, count: counts[i] })).filter((p) => p.count > 0);
}

/**
 * The plan of the generated rows, all relative to `now`: the hot hour (a closed hour 3 hours ago,
 * exactly `hotRows`), the old rows (the day before the retention), the rest over the week.
 * @param {{ now: number, rows: number, hotRows: number, oldRows: number }} options
 */
function seedPlan({ now, rows, hotRows, oldRows }) {
  const hotHour = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
  const weekStart = now - RETENTION_HOURS * HOUR + 5 * 60_000;
  const oldEnd = now - RETENTION_HOURS * HOUR - 10 * 60_000;
  // A half-hour of payment trouble two days ago: 5xx x40, latency x3.
  const incident = { service: "payments", from: Math.floor((now - 2 * DAY) / HOUR) * HOUR, span: HOUR / 2 };
  const week = spread(weekStart, now, rows - hotRows - oldRows, hotHour);
  const segments = [
    ...spread(oldEnd - DAY, oldEnd, oldRows),
    ...week.flatMap((s) =>
      s.lo === incident.from
        ? [
            { lo: s.lo, span: incident.span, count: Math.round(s.count / 2), incident },
            { lo: s.lo + incident.span, span: s.span - incident.span, count: s.count - Math.round(s.count / 2) },
          ]
        : [s],
    ),
    { lo: hotHour, span: HOUR, count: hotRows },
  ];
  return { now, hotHour, weekStart, oldStart: oldEnd - DAY, oldEnd, incident, segments };
}

/**
 * One segment's rows: random draws, then the endpoint and status, then latency, then the stored row.
 * Every CASE is parenthesised: wrangler's statement splitter takes a CASE after whitespace for the
 * start of a BEGIN...END block and would merge the following statements into this one.
 * @param {{ lo: number, span: number, count: number, incident?: { service: string, from: number, span: number } }} segment
 */
function segmentSql({ lo, span, count, incident }) {
  const r = "(random() & 9223372036854775807)";
  const u = `((random() & 9223372036854775807) % 1000000) / 1000000.0`;
  const k5 = incident ? `(CASE WHEN service = ${sqlText(incident.service)} THEN 40 ELSE 1 END)` : "1";
  const kLat = incident ? `(CASE WHEN service = ${sqlText(incident.service)} THEN 3 ELSE 1 END)` : "1";
  return `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count}),
g AS MATERIALIZED (SELECT ${r} % ${SLOTS} AS slot, ${lo} + ${r} % ${span} AS ts, ${u} AS us, ${u} AS ub, ${r} AS r,
  sqrt(-2 * ln((${r} % 1000000 + 1) / 1000001.0)) * cos(2 * pi() * ${u}) AS z, lower(hex(randomblob(16))) AS h FROM n),
s AS MATERIALIZED (SELECT g.*, e.*, (CASE
    WHEN us < e.p5 * ${k5} THEN (CASE WHEN r % 10 < 4 THEN 502 WHEN r % 10 < 7 THEN 503 WHEN r % 10 < 9 THEN 500 ELSE 504 END)
    WHEN us < e.p5 * ${k5} + e.p4 THEN (CASE WHEN r / 10 % 10 < 6 THEN e.c4 WHEN r / 10 % 10 < 8 THEN 400 WHEN r / 10 % 10 < 9 THEN 429 ELSE 403 END)
    WHEN us < e.p5 * ${k5} + e.p4 + e.p3 THEN 304 ELSE e.ok END) AS status
  FROM g JOIN bench_slots sl ON sl.slot = g.slot JOIN bench_endpoints e ON e.id = sl.endpoint),
t AS MATERIALIZED (SELECT s.*, round(CASE
    WHEN status = 504 THEN 30000 + 50 * ub
    WHEN r / 1000 % 1000 = 0 THEN 2000 + 10000 * ub
    ELSE median * ${kLat} * (CASE WHEN status BETWEEN 300 AND 499 THEN 0.35 ELSE 1 END) * exp(sigma * z) END, 1) AS latency,
    (status BETWEEN 200 AND 299 AND ok <> 204 AND r / 10000000 % 1000 = 0) AS empty FROM s)
INSERT INTO request_logs (record_key, timestamp, received_at, service, method, route, path, status, latency_ms, ttfb_ms,
  request_bytes, response_bytes, error, response_empty, inconsistent, request_id, user_agent, consumer, region, source)
SELECT 'g:' || substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12),
  ts, ts + 200 + r / 1000000 % 4000, service, method, route, replace(route, ':id', r / 100 % 99999 + 1), status, latency,
  round(latency * (0.55 + 0.4 * ub), 1),
  (CASE WHEN req IS NULL THEN NULL ELSE CAST(req * (0.5 + ub) AS INTEGER) END),
  (CASE WHEN status IN (204, 304) OR empty THEN 0 WHEN status >= 400 THEN 90 + r % 200 ELSE CAST(resp * (0.3 + 1.4 * ub) AS INTEGER) END),
  (CASE status WHEN 504 THEN 'upstream timeout' WHEN 502 THEN 'bad gateway: connection reset' WHEN 503 THEN 'service unavailable' WHEN 500 THEN 'internal error' END),
  empty, r / 10000000000 % 2000 = 0, 'req_' || lower(hex(randomblob(8))),
  (CASE r / 1000000000000 % 5 WHEN 0 THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'
    WHEN 1 THEN 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'
    WHEN 2 THEN 'okhttp/4.12.0' WHEN 3 THEN 'shop-ios/5.14.2 CFNetwork/1496.0.7 Darwin/23.5.0' ELSE 'python-requests/2.32.3' END),
  (CASE r / 100000000000000 % 6 WHEN 0 THEN 'web' WHEN 1 THEN 'ios' WHEN 2 THEN 'android' WHEN 3 THEN 'partner-acme' END),
  (CASE r / 1000000000000000 % 6 WHEN 0 THEN 'FRA' WHEN 1 THEN 'IAD' WHEN 2 THEN 'SIN' WHEN 3 THEN 'GRU' WHEN 4 THEN 'LHR' ELSE 'NRT' END),
  'ingest'
FROM t;`;
}

/**
 * The seed migration: helper tables of endpoints and weighted slots, the segments, the services, cleanup.
 * @param {ReturnType<typeof seedPlan>} plan
 */
function seedSql(plan) {
  const slots = apportion(
    SLOTS,
    ENDPOINTS.map((e) => e[3]),
  );
  let next = 0;
  const values = ENDPOINTS.map((e, i) => {
    const [service, method, route, , ok, med, sigma, p3, p4, c4, p5, req, resp] = e;
    const lo = next;
    next += slots[i];
    return `(${[i, service, method, route, ok, med, sigma, p3, p4, c4, p5, req, resp, lo, next].map(sqlText).join(", ")})`;
  });
  return [
    `-- bench/cron.mjs: ${plan.segments.reduce((n, s) => n + s.count, 0)} generated request_logs rows ending ${iso(plan.now)}`,
    "CREATE TABLE bench_endpoints (id INTEGER PRIMARY KEY, service TEXT, method TEXT, route TEXT, ok INTEGER, median REAL, sigma REAL, p3 REAL, p4 REAL, c4 INTEGER, p5 REAL, req INTEGER, resp INTEGER, lo INTEGER, hi INTEGER);",
    `INSERT INTO bench_endpoints VALUES ${values.join(",\n  ")};`,
    "CREATE TABLE bench_slots (slot INTEGER PRIMARY KEY, endpoint INTEGER NOT NULL);",
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${SLOTS - 1})
INSERT INTO bench_slots SELECT i, (SELECT id FROM bench_endpoints WHERE i >= lo AND i < hi) FROM n;`,
    ...plan.segments.map(segmentSql),
    `INSERT OR IGNORE INTO services (name, first_seen_at) SELECT DISTINCT service, ${plan.oldStart} FROM bench_endpoints;`,
    "DROP TABLE bench_slots;",
    "DROP TABLE bench_endpoints;",
    "",
  ].join("\n");
}

const ADMIN = { Authorization: `Bearer ${KEYS.ADMIN_KEY}` };
const READ = { Authorization: `Bearer ${KEYS.READ_KEY}` };

/**
 * One control call: client wall time, the job's own `duration_ms`, and the server's CPU (workerd with its local D1) meanwhile.
 * @param {Client} client
 * @param {Worker} server
 * @param {string} path
 * @returns {Promise<JobCall>}
 */
async function runJobCall(client, server, path) {
  const cpu0 = await server.cpuSeconds();
  const t0 = performance.now();
  const res = await client.request({ method: "POST", path, headers: ADMIN, timeoutMs: 300_000 });
  const wall = performance.now() - t0;
  const cpu = (await server.cpuSeconds()) - cpu0;
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  const body = /** @type {{ duration_ms: number, rows: number, detail: JobDetail }} */ (JSON.parse(res.text));
  return {
    path,
    wall_ms: /** @type {number} */ (round1(wall)),
    duration_ms: body.duration_ms,
    rows: body.rows,
    server_cpu_s: /** @type {number} */ (round2(cpu)),
    detail: body.detail,
  };
}

/**
 * @param {Client} client
 * @param {string} path
 * @param {Record<string, string>} [headers]
 */
async function getJson(client, path, headers = READ) {
  const res = await client.request({ path, headers, timeoutMs: 60_000 });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return { body: JSON.parse(res.text), bytes: Buffer.byteLength(res.text) };
}

/**
 * A range aggregation, followed through `next_hour` while a run stops at the job's deadline.
 * @param {Client} client
 * @param {Worker} server
 * @param {number} from
 * @param {number} to
 */
async function aggregateRange(client, server, from, to) {
  /** @type {JobCall[]} */
  const calls = [];
  let start = from;
  for (let i = 0; i < 10; i++) {
    calls.push(await runJobCall(client, server, `/v1/control/aggregate?from=${start}&to=${to}`));
    const d = /** @type {JobCall} */ (calls.at(-1)).detail;
    if (d.complete || !d.next_hour) break;
    start = Date.parse(d.next_hour);
  }
  const sum = (/** @type {"wall_ms" | "duration_ms" | "server_cpu_s"} */ k) => calls.reduce((n, c) => n + c[k], 0);
  const dsum = (/** @type {"hours" | "hour_rows" | "day_rows"} */ k) =>
    calls.reduce((n, c) => n + (c.detail[k] ?? 0), 0);
  return {
    calls: calls.length,
    complete: /** @type {JobCall} */ (calls.at(-1)).detail.complete,
    wall_ms: round1(sum("wall_ms")),
    duration_ms: sum("duration_ms"),
    server_cpu_s: round2(sum("server_cpu_s")),
    hours: dsum("hours"),
    hours_skipped_past_retention: calls[0].detail.hours_skipped_past_retention ?? 0,
    hour_rows: dsum("hour_rows"),
    day_rows: dsum("day_rows"),
    runs: calls,
  };
}

/**
 * Latency quantiles (ms) of a list of samples.
 * @param {number[]} samples
 */
function latencyStats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: round2(quantile(sorted, 0.5)),
    p95: round2(quantile(sorted, 0.95)),
    p99: round2(quantile(sorted, 0.99)),
    max: round2(sorted.at(-1)),
  };
}

/**
 * `count` sequential GETs; returns each request's latency in ms.
 * @param {Client} client
 * @param {string} path
 * @param {Record<string, string>} headers
 * @param {number} count
 */
async function sequential(client, path, headers, count) {
  /** @type {number[]} */
  const out = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await client.request({ path, headers, timeoutMs: 30_000 });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text.slice(0, 200)}`);
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * The summaries queries and the `/health/live` baseline, alternating in rounds (so that the shared
 * machine's drift hits all alike), one request at a time, after a short warm-up of each.
 * @param {Client} client
 * @param {Query[]} queries
 * @param {number} requests
 * @param {number} rounds
 */
async function measureQueries(client, queries, requests, rounds) {
  /** @type {Query[]} */
  const kinds = [{ name: "health_live", path: "/health/live", headers: {} }, ...queries];
  for (const k of kinds) await sequential(client, k.path, k.headers, 10);
  const samples = Object.fromEntries(kinds.map((k) => [k.name, /** @type {number[]} */ ([])]));
  const roundP95 = Object.fromEntries(kinds.map((k) => [k.name, /** @type {number[]} */ ([])]));
  for (let r = 0; r < rounds; r++) {
    const n = Math.floor(requests / rounds) + (r < requests % rounds ? 1 : 0);
    for (const k of kinds) {
      const lat = await sequential(client, k.path, k.headers, n);
      samples[k.name].push(...lat);
      roundP95[k.name].push(/** @type {number} */ (latencyStats(lat).p95));
    }
  }
  /** @type {Record<string, QueryStats>} */
  const out = {};
  for (const k of kinds) {
    const ratios = roundP95[k.name].map((p, i) => p / roundP95.health_live[i]);
    out[k.name] = {
      path: k.path,
      ...latencyStats(samples[k.name]),
      round_p95: roundP95[k.name],
      p95_ratio_to_health: round2(median(ratios)),
    };
  }
  return out;
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
    if (opts.hotRows + opts.oldRows > opts.rows) throw new Error("--hot-rows plus --old-rows must not exceed --rows");
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)} (see --help)`);
    process.exit(2);
  }
  const started = performance.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  await mkdir(RESULTS, { recursive: true });
  const logPath = join(RESULTS, `wrangler-cron-${stamp}.log`);
  const port = await freePort(opts.port);
  const wranglerVersion = JSON.parse(await readFile(join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version;
  const source = sourceVersion(ROOT);
  say(`edge-monitor cron bench: wrangler ${wranglerVersion}, node ${process.version}, ${cpus().length} CPUs`);

  // The project, frozen, plus the seed as its last migration: startWorker applies it to its fresh state.
  const prep = await mkdtemp(join(tmpdir(), "edge-monitor-cron-seed-"));
  /** @type {ReturnType<typeof seedPlan> & { ready_seconds?: number | null }} */
  const plan = seedPlan({ now: Date.now(), rows: opts.rows, hotRows: opts.hotRows, oldRows: opts.oldRows });
  let server;
  try {
    await snapshotProject(ROOT, prep);
    await writeFile(join(prep, "migrations", "9999_bench_cron_seed.sql"), seedSql(plan));
    say(
      `seeding ${opts.rows.toLocaleString("en")} rows (${plan.segments.length} segments; hot hour ${iso(plan.hotHour)}: ${opts.hotRows.toLocaleString("en")}; ` +
        `${opts.oldRows.toLocaleString("en")} before ${iso(plan.oldEnd)}) and starting wrangler dev on 127.0.0.1:${port} ...`,
    );
    const t0 = performance.now();
    server = await startWorker({ cwd: prep, port, logPath, logLevel: opts.logLevel });
    plan.ready_seconds = round1((performance.now() - t0) / 1000);
    say(`worker ready in ${plan.ready_seconds} s (migrations, seed and start)`);
  } catch (err) {
    await rm(prep, { recursive: true, force: true });
    throw err;
  }

  const client = createClient({ port, maxSockets: 2 });
  /** @type {CronReport} */
  const report = {
    started_at: new Date().toISOString(),
    environment: {
      wrangler: wranglerVersion,
      node: process.version,
      cpus: cpus().length,
      source,
      load_average_at_start: loadavg().map(round2),
      log_level: opts.logLevel,
    },
    options: opts,
    seed: {
      rows: opts.rows,
      now: iso(plan.now),
      hot_hour: iso(plan.hotHour),
      hot_rows: opts.hotRows,
      old_rows: opts.oldRows,
      old_range: [iso(plan.oldStart), iso(plan.oldEnd)],
      week_range: [iso(plan.weekStart), iso(plan.now)],
      incident: { service: plan.incident.service, from: iso(plan.incident.from), minutes: plan.incident.span / 60_000 },
      endpoints: ENDPOINTS.length,
      services: [...new Set(ENDPOINTS.map((e) => e[0]))],
      ready_seconds: plan.ready_seconds,
    },
  };
  let failed = false;
  try {
    const hotPath = `/v1/control/aggregate?from=${plan.hotHour}&to=${plan.hotHour + HOUR - 1}`;
    say(`aggregation of the hot hour, cold (summaries empty) ...`);
    const cold = await runJobCall(client, server, hotPath);

    say(`aggregation of the week (catch-up), x2 ...`);
    const weeks = [];
    for (let i = 0; i < 2; i++) {
      const now = Date.now();
      weeks.push(await aggregateRange(client, server, now - 7 * DAY, now));
    }
    say(`aggregation of the hot hour, ${opts.aggRuns} runs ...`);
    const hot = [];
    for (let i = 0; i < opts.aggRuns; i++) hot.push(await runJobCall(client, server, hotPath));
    const hotCheck = await getJson(
      client,
      `/v1/summaries?granularity=hour&from=${plan.hotHour}&to=${plan.hotHour}&limit=5000`,
    );
    const stats = (await getJson(client, "/v1/stats")).body;

    const to = Date.now();
    const from = to - 7 * DAY;
    const q = (/** @type {string} */ g) =>
      `/v1/summaries?service=${SERVICE}&granularity=${g}&from=${from}&to=${to}&limit=5000`;
    /** @type {Query[]} */
    const queries = [
      { name: "summaries_hour", path: q("hour"), headers: READ },
      { name: "summaries_day", path: q("day"), headers: READ },
    ];
    for (const k of queries) {
      const { body, bytes } = await getJson(client, k.path);
      k.rows = body.summaries.length;
      k.bytes = bytes;
      k.events = body.summaries.reduce((/** @type {number} */ n, /** @type {{ count: number }} */ s) => n + s.count, 0);
    }
    say(
      `GET /v1/summaries (week of ${SERVICE}: ${queries[0].rows} hourly rows, ${queries[1].rows} daily) and GET /health/live, ${opts.requests} each, ${opts.rounds} rounds ...`,
    );
    const latency = await measureQueries(client, queries, opts.requests, opts.rounds);
    for (const k of queries) Object.assign(latency[k.name], { rows: k.rows, bytes: k.bytes, events: k.events });

    // The cron path (no range) from an empty cursor: it also moves the cursor, which an explicit
    // older_than_hours below the retention must not pass (where the source clamps prunes to it).
    say(`aggregation in cron mode (no range, empty cursor: catch-up from the oldest row) ...`);
    /** @type {JobCall[]} */
    const cronRuns = [];
    for (let i = 0; i < 8; i++) {
      cronRuns.push(await runJobCall(client, server, "/v1/control/aggregate"));
      if (/** @type {JobCall} */ (cronRuns.at(-1)).detail.complete !== false) break;
    }

    say(`prune runs: older_than_hours ${[RETENTION_HOURS, RETENTION_HOURS - 12, RETENTION_HOURS - 24].join(", ")} ...`);
    /** @type {PruneRun[]} */
    const prunes = [];
    for (const hours of [RETENTION_HOURS, RETENTION_HOURS - 12, RETENTION_HOURS - 24]) {
      const run = await runJobCall(client, server, `/v1/control/prune?older_than_hours=${hours}`);
      const raw = /** @type {NonNullable<JobDetail["raw_logs"]>} */ (run.detail.raw_logs);
      prunes.push({
        older_than_hours: hours,
        ...run,
        deleted: raw.deleted,
        archived: raw.archived,
        finished: run.detail.finished,
        clamped: raw.clamped ?? null,
        rows_per_s: Math.round(raw.deleted / (Math.max(1, run.duration_ms) / 1000)),
      });
    }

    const hotEvents = hotCheck.body.summaries.reduce(
      (/** @type {number} */ n, /** @type {{ count: number }} */ s) => n + s.count,
      0,
    );
    const warmCpu = hot.map((r) => r.server_cpu_s);
    const warmDuration = hot.map((r) => r.duration_ms);
    report.aggregation = {
      hot_hour: {
        raw_rows: hotEvents,
        summary_rows: cold.detail.hour_rows,
        cold,
        runs: hot,
        duration_ms: { median: median(warmDuration), min: Math.min(...warmDuration), max: Math.max(...warmDuration) },
        wall_ms: {
          median: round1(median(hot.map((r) => r.wall_ms))),
          min: Math.min(...hot.map((r) => r.wall_ms)),
          max: Math.max(...hot.map((r) => r.wall_ms)),
        },
        server_cpu_s: { median: median(warmCpu), max: Math.max(...warmCpu) },
      },
      week: weeks,
      cron_catch_up: {
        calls: cronRuns.length,
        complete: /** @type {JobCall} */ (cronRuns.at(-1)).detail.complete !== false,
        duration_ms: cronRuns.reduce((n, c) => n + c.duration_ms, 0),
        hours: cronRuns.reduce((n, c) => n + (c.detail.hours ?? 0), 0),
        server_cpu_s: round2(cronRuns.reduce((n, c) => n + c.server_cpu_s, 0)),
        runs: cronRuns,
      },
      stats_events: stats.events_processed,
    };
    report.summaries = latency;
    report.prune = prunes;
    const worstMs = Math.max(cold.duration_ms, ...warmDuration);
    const worstCpuMs = Math.max(cold.server_cpu_s, ...warmCpu) * 1000;
    report.results = {
      summaries_hour_p95_ms: latency.summaries_hour.p95,
      summaries_p95_target_ms: TARGET_P95_MS,
      summaries_p95_pass: /** @type {number} */ (latency.summaries_hour.p95) <= TARGET_P95_MS,
      summaries_day_p95_ms: latency.summaries_day.p95,
      hot_hour_duration_ms_worst: worstMs,
      hot_hour_server_cpu_ms_worst: Math.round(worstCpuMs),
      hot_hour_limits_ms: { cron_wall: CRON_WALL_MS, cpu: CRON_CPU_MS, job_budget: JOB_BUDGET_MS },
      hot_hour_pass: worstMs <= JOB_BUDGET_MS && worstCpuMs <= CRON_CPU_MS,
    };
    failed =
      hotEvents !== opts.hotRows || !weeks.every((w) => w.complete) || prunes.some((p) => !p.finished || p.archived);
  } catch (err) {
    const issues = summariseServerLog(await readFile(logPath, "utf8"));
    for (const i of issues.slice(0, 8)) console.error(`  server ${i.level} x${i.count}: ${i.message}`);
    throw err;
  } finally {
    client.close();
    await server.stop();
    // Only now: the worker's snapshot links node_modules through this copy.
    await rm(prep, { recursive: true, force: true });
  }
  report.environment.load_average_at_end = loadavg().map(round2);
  report.wall_seconds = round1((performance.now() - started) / 1000);
  report.server_log = { path: relative(ROOT, logPath), issues: summariseServerLog(await readFile(logPath, "utf8")) };
  const outPath = join(RESULTS, `cron-${stamp}.json`);
  await writeFile(outPath, `${JSON.stringify(report, null, 2)}\n`);
  printReport(/** @type {Required<CronReport>} */ (report), relative(ROOT, outPath));
  process.exitCode = failed ? 1 : 0;
}

/**
 * @param {Required<CronReport>} report
 * @param {string} outPath
 */
function printReport(report, outPath) {
  const mark = (/** @type {boolean} */ ok) => (ok ? "PASS" : "MISS");
  const n = (/** @type {number | null | undefined} */ v) =>
    v === null || v === undefined ? "n/a" : Math.round(v).toLocaleString("en");
  const { seed, aggregation: agg, summaries: sum, prune: prunes, results: r, environment: env } = report;
  const hot = agg.hot_hour;
  say("");
  say("==== cron benchmark ====");
  say(
    `source: commit ${env.source.commit}${env.source.uncommitted_changes ? " + uncommitted changes (snapshot taken at start)" : ""}; ` +
      `${env.cpus} CPUs shared by client and server; load average ${env.load_average_at_start[0]} at start, ${/** @type {(number | null)[]} */ (env.load_average_at_end)[0]} at end`,
  );
  say(
    `data: ${n(seed.rows)} raw rows in local D1 (${seed.services.length} services, ${seed.endpoints} endpoints; week ending ${seed.now}; ` +
      `${n(seed.old_rows)} past the 7-day retention; hot hour ${seed.hot_hour} with ${n(seed.hot_rows)}), worker ready in ${seed.ready_seconds} s`,
  );
  say(`aggregation, one hour of ${n(hot.raw_rows)} rows -> ${hot.summary_rows} hourly rows (+ its day's roll-up):`);
  say(`  cold: ${n(hot.cold.duration_ms)} ms (wall ${n(hot.cold.wall_ms)} ms, server CPU ${hot.cold.server_cpu_s} s)`);
  say(
    `  warm, ${hot.runs.length} runs: median ${n(hot.duration_ms.median)} ms (${n(hot.duration_ms.min)}-${n(hot.duration_ms.max)}), ` +
      `wall median ${n(hot.wall_ms.median)} ms, server CPU median ${hot.server_cpu_s.median} s, max ${hot.server_cpu_s.max} s`,
  );
  say(
    `  [target: within one cron invocation: 15 min wall, 30 s CPU; the job's own budget 60 s] ${mark(r.hot_hour_pass)}: ` +
      `worst ${n(r.hot_hour_duration_ms_worst)} ms = ${(r.hot_hour_limits_ms.cpu / Math.max(1, r.hot_hour_server_cpu_ms_worst)).toFixed(1)}x under the CPU limit even counting all of workerd's CPU`,
  );
  for (const [i, w] of agg.week.entries()) {
    say(
      `aggregation of the week (${i === 0 ? "catch-up, first" : "rerun"}): ${w.hours} hours (${w.hours_skipped_past_retention} skipped past retention), ` +
        `${n(w.hour_rows)} hourly + ${n(w.day_rows)} daily rows, ${n(w.duration_ms)} ms in ${w.calls} call(s)${w.complete ? "" : " INCOMPLETE"} ` +
        `(wall ${n(w.wall_ms)} ms, server CPU ${w.server_cpu_s} s)`,
    );
  }
  say(`  raw rows summarised (GET /v1/stats events): ${n(agg.stats_events)}`);
  const c = agg.cron_catch_up;
  say(
    `aggregation in cron mode from an empty cursor: ${c.hours} hours in ${c.calls} run(s), ${n(c.duration_ms)} ms (per run ${c.runs.map((x) => n(x.duration_ms)).join(", ")} ms; ` +
      `server CPU ${c.server_cpu_s} s)${c.complete ? "" : " INCOMPLETE"}`,
  );
  const h = sum.health_live;
  for (const name of ["summaries_hour", "summaries_day"]) {
    const s = sum[name];
    const target =
      name === "summaries_hour" ? ` [target p95 <= ${r.summaries_p95_target_ms} ms] ${mark(r.summaries_p95_pass)}` : "";
    say(
      `GET /v1/summaries ${name.slice(10)}, week of ${SERVICE} (${s.rows} rows, ${n(s.bytes)} bytes, ${n(s.events)} events): ` +
        `p50 ${s.p50} / p95 ${s.p95} / p99 ${s.p99} ms over ${s.n}${target}`,
    );
    say(
      `  p95 per round ${s.round_p95.join(", ")} ms; ${s.p95_ratio_to_health}x the /health/live p95 (median of rounds)`,
    );
  }
  say(
    `GET /health/live baseline: p50 ${h.p50} / p95 ${h.p95} / p99 ${h.p99} ms over ${h.n}; p95 per round ${h.round_p95.join(", ")}`,
  );
  for (const p of prunes) {
    say(
      `prune older_than_hours=${p.older_than_hours}: ${n(p.deleted)} raw rows deleted in ${n(p.duration_ms)} ms ` +
        `(${n(p.rows_per_s)} rows/s; wall ${n(p.wall_ms)} ms, server CPU ${p.server_cpu_s} s), archive: ${p.archived ? "yes" : "not bound"}${p.finished ? "" : ", UNFINISHED"}` +
        `${p.clamped ? `; clamped to the aggregation's progress (${p.clamped.aggregated_until === null ? "none" : iso(p.clamped.aggregated_until)})` : ""}`,
    );
  }
  const issues = report.server_log.issues.filter((i) => i.level !== "notice");
  say(
    `server log (${report.server_log.path}): ${issues.length === 0 ? "no errors or warnings" : issues.map((i) => `${i.count}x ${i.level}: ${i.message}`).join("; ")}`,
  );
  say(`bench wall time ${report.wall_seconds} s; report: ${outPath}`);
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
