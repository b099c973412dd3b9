#!/usr/bin/env node
// @ts-check
/**
 * Detection benchmark, scenario suite (`npm run bench:scenarios`): generates the scenarios of
 * bench/lib/scenarios.mjs (eight degradations after 6 h of normal traffic, eight controls that
 * together cover more than a simulated week), all laid out to end 2 min before the start of the
 * run, posts each scenario's records in event-time order to `POST /v1/logs?sync=1` on a fresh
 * `wrangler dev --local`, then reads `GET /v1/incidents?service=...` and scores them:
 *   detected  = an incident opened at or after degradation_start - 2 min;
 *   delay     = its opened_at - degradation_start, in minutes;
 *   false     = incidents opened before degradation_start - 2 min (every incident of a control).
 * Targets: every degradation detected; zero false incidents across the controls; median delay
 * <= 5 min for steps and outages, <= 20 min for slow creeps (an undetected scenario counts as
 * an infinite delay). Each scenario is sent in order, one request at a time (so that the
 * monitor sees event time move forward); up to --concurrency scenarios at once.
 * The report goes to bench/results/scenarios-<timestamp>.json next to the wrangler log. The exit
 * code is 1 when the run itself failed (ingest errors, no incidents endpoint), not for a missed target.
 *
 * Options: --seed <n> --only <name,name> --json (summary as the last line) --check (generate only
 *          and assert the generators' statistics) --concurrency <1..4> --batch-minutes <n> (event time
 *          one request may span) --port <n> --log-level <level>
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createClient } from "./lib/load.mjs";
import { HOUR, MINUTE, SCENARIO_NAMES, buildScenarios, windowStats } from "./lib/scenarios.mjs";
import { KEYS, freePort, startWorker } from "./lib/server.mjs";
import { median, sourceVersion } from "./lib/stats.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");
const END_BEFORE_RUN_MS = 2 * MINUTE;
const BATCH = 1000;
const MAX_RECORDS = 2_000_000;
const WEEK_HOURS = 168;
const TARGET_DELAY_MIN = { step: 5, creep: 20 };

/** @typedef {import("./lib/scenarios.mjs").Scenario} Scenario */
/** @typedef {import("./lib/scenarios.mjs").ScenarioRecord} ScenarioRecord */
/** @typedef {import("./lib/load.mjs").Client} Client */
/** @typedef {{ s: Scenario, records: ScenarioRecord[] }} Generated */
/** @typedef {{ opened_at: number, explanation?: string, signals?: { kind: string }[] }} Incident */
/** @typedef {{ records: number, stored: number, duplicates: number, rejected: number, first_rejection: unknown }} IngestTotals */
/** @typedef {{ status: number, error?: string, incidents?: Incident[], earlier?: number | null }} IncidentsRead */
/**
 * @typedef {object} Row
 * @property {string} name
 * @property {string} kind
 * @property {string | null} category
 * @property {number} start
 * @property {number | null} degradation_start
 * @property {number} simulated_hours
 * @property {number} records
 * @property {Partial<IngestTotals> & { error?: string }} ingest
 * @property {number} incidents_status
 * @property {string | null} incidents_error
 * @property {number | null} incidents_total
 * @property {number | null | undefined} incidents_at_first_read
 * @property {boolean | null} detected
 * @property {number | null} delay_min
 * @property {number} false_incidents
 * @property {string | null} shown_explanation
 * @property {string | null} shown_signals
 */

// A value the run's logic knows to be a number here (a degradation's start, a statistic of a
// non-empty window); arithmetic on it is unchanged.
const num = (/** @type {number | null | undefined} */ v) => /** @type {number} */ (v);
const say = (/** @type {string} */ line) => console.log(line);
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {string[]} argv */
function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: "string", default: "1" },
      only: { type: "string" },
      json: { type: "boolean", default: false },
      check: { type: "boolean", default: false },
      concurrency: { type: "string", default: "4" },
      "batch-minutes": { type: "string", default: "60" },
      port: { type: "string", default: "0" },
      "log-level": { type: "string", default: "warn" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    say(
      "usage: npm run bench:scenarios -- [--seed 1] [--only name,name] [--json] [--check] [--concurrency 4] [--batch-minutes 60]",
    );
    say("       [--port <free>] [--log-level warn]");
    say(`scenarios: ${SCENARIO_NAMES.join(", ")}`);
    process.exit(0);
  }
  /**
   * @param {"seed" | "concurrency" | "batch-minutes" | "port"} name
   * @param {number} min
   * @param {number} max
   */
  const int = (name, min, max) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    return n;
  };
  return {
    seed: int("seed", 0, 2 ** 32 - 1),
    only: values.only
      ? values.only
          .split(",")
          .map((n) => n.trim())
          .filter(Boolean)
      : null,
    json: values.json,
    check: values.check,
    concurrency: int("concurrency", 1, 4),
    batchMinutes: int("batch-minutes", 1, 24 * 60),
    port: int("port", 0, 65_535),
    logLevel: values["log-level"],
  };
}

/** --check: generate every scenario for a fixed end time and assert the intended statistics. */
/** @param {number} seed */
function runCheck(seed) {
  const endAt = Date.UTC(2026, 0, 8, 12, 0);
  const scenarios = buildScenarios({ endAt, seed });
  /** @type {Map<string, Generated>} */
  const data = new Map(scenarios.map((s) => [s.name, { s, records: [...s.records()] }]));
  const get = (/** @type {string} */ name) => /** @type {Generated} */ (data.get(name));
  const within = (
    /** @type {string} */ label,
    /** @type {number} */ value,
    /** @type {number} */ lo,
    /** @type {number} */ hi,
  ) => assert.ok(value >= lo && value <= hi, `${label}: ${value} not in [${lo}, ${hi}]`);
  let total = 0;
  for (const { s, records } of data.values()) {
    total += records.length;
    let last = -Infinity;
    for (const r of records) {
      assert.ok(
        r.timestamp >= last && r.timestamp >= s.start && r.timestamp < s.end,
        `${s.name}: timestamp order/range`,
      );
      assert.ok(
        Number.isInteger(r.timestamp) && r.latency_ms >= 0 && Number.isFinite(r.latency_ms),
        `${s.name}: field types`,
      );
      assert.equal(r.service, s.service);
      last = r.timestamp;
    }
    assert.deepEqual(records.slice(0, 200), [...s.records()].slice(0, 200), `${s.name}: not reproducible`);
    if (s.kind === "degradation") {
      const warm = windowStats(records, s.start, num(s.degradation_start));
      within(`${s.name} warm-up 4xx share`, warm.share_4xx, 0.01, 0.03);
      within(`${s.name} warm-up 5xx share`, warm.share_5xx, 0.0003, 0.004);
      within(`${s.name} warm-up rate/min`, warm.per_min, 18, 120);
      within(`${s.name} warm-up hours`, (num(s.degradation_start) - s.start) / HOUR, 5.5, 6.5);
    }
  }
  /**
   * @param {string} name
   * @param {(s: Scenario) => number} from
   * @param {(s: Scenario) => number} to
   */
  const stats = (name, from, to) => {
    const { s, records } = get(name);
    return windowStats(records, from(s), to(s));
  };
  const ds = (/** @type {Scenario} */ s) => num(s.degradation_start);
  const before = (/** @type {number} */ ms) => (/** @type {Scenario} */ s) => num(s.degradation_start) - ms;
  const after = (/** @type {number} */ ms) => (/** @type {Scenario} */ s) => num(s.degradation_start) + ms;
  const end = (/** @type {Scenario} */ s) => s.end;
  const lastH = (/** @type {Scenario} */ s) => s.end - HOUR;

  within(
    "error-creep 5xx share, last 30 min",
    stats("error-creep", (s) => s.end - 30 * MINUTE, end).share_5xx,
    0.018,
    0.042,
  );
  const lcBase = num(stats("latency-creep", before(2 * HOUR), ds).p95);
  within("latency-creep p95 ratio, last hour", num(stats("latency-creep", lastH, end).p95) / lcBase, 1.8, 2.2);
  within(
    "latency-creep p95 ratio, first 10 min",
    num(stats("latency-creep", ds, after(10 * MINUTE)).p95) / lcBase,
    0.85,
    1.4,
  );
  const lsBase = num(stats("latency-step", before(2 * HOUR), ds).p95);
  within("latency-step p95 ratio", num(stats("latency-step", ds, end).p95) / lsBase, 2.7, 3.3);
  within("outage-burst 5xx share, outage", stats("outage-burst", ds, after(10 * MINUTE)).share_5xx, 0.6, 0.8);
  within("outage-burst 5xx share, recovery", stats("outage-burst", after(10 * MINUTE), end).share_5xx, 0, 0.01);
  within("silent-failures empty share, warm-up", stats("silent-failures", (s) => s.start, ds).share_empty, 0, 0);
  within("silent-failures empty share, last hour", stats("silent-failures", lastH, end).share_empty, 0.08, 0.12);
  const shiftBase = num(stats("latency-shift", before(2 * HOUR), ds).p50);
  within(
    "latency-shift p50 ratio, shift",
    num(stats("latency-shift", ds, after(15 * MINUTE)).p50) / shiftBase,
    1.35,
    1.65,
  );
  within(
    "latency-shift p50 ratio, after",
    num(stats("latency-shift", after(15 * MINUTE), end).p50) / shiftBase,
    0.85,
    1.15,
  );
  within("error-step 5xx share, step", stats("error-step", ds, after(20 * MINUTE)).share_5xx, 0.03, 0.07);
  within("error-step 5xx share, after", stats("error-step", after(20 * MINUTE), end).share_5xx, 0, 0.01);
  const dropBase = stats("traffic-drop", (s) => s.start, ds).per_min;
  within("traffic-drop rate ratio", stats("traffic-drop", ds, end).per_min / dropBase, 0.15, 0.25);

  const low = stats("low-traffic", (s) => s.start, end);
  within("low-traffic rate/min", low.per_min, 0.5, 2);
  within("low-traffic 5xx count (one per 5 h)", Math.round(low.share_5xx * low.count), 6, 8);
  within("low-traffic 5xx share", low.share_5xx, 0, 0.005);
  const hourly = Array.from(
    { length: 24 },
    (_, h) =>
      stats(
        "diurnal",
        (s) => s.end - (h + 1) * HOUR,
        (s) => s.end - h * HOUR,
      ).count,
  );
  within("diurnal trough/peak hourly ratio", Math.min(...hourly) / Math.max(...hourly), 0.1, 0.22);
  const bursts = get("periodic-bursts");
  const inBurst = (/** @type {number} */ t) => (((t - 2 * HOUR) % (4 * HOUR)) + 4 * HOUR) % (4 * HOUR) < 5 * MINUTE;
  const burstCount = bursts.records.filter((r) => inBurst(r.timestamp)).length;
  let burstMinutes = 0;
  for (let t = bursts.s.start; t < bursts.s.end; t += MINUTE) if (inBurst(t)) burstMinutes++;
  const restMinutes = (bursts.s.end - bursts.s.start) / MINUTE - burstMinutes;
  within(
    "periodic-bursts burst/base rate ratio",
    burstCount / burstMinutes / ((bursts.records.length - burstCount) / restMinutes),
    8,
    12,
  );
  const tail = get("heavy-tail").records;
  within("heavy-tail 10 s outliers", tail.filter((r) => r.latency_ms >= 10_000).length, 20, 200);
  const logs = tail.filter((r) => r.status < 400 && r.latency_ms < 10_000).map((r) => Math.log(r.latency_ms));
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  within(
    "heavy-tail log-latency sigma",
    Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length),
    0.9,
    1.1,
  );
  const slow = get("heavy-tail-slow").records;
  const slowOk = slow
    .filter((r) => r.status < 400 && r.latency_ms < 14_000)
    .map((r) => r.latency_ms)
    .sort((a, b) => a - b);
  within("heavy-tail-slow rate/min", stats("heavy-tail-slow", (s) => s.start, end).per_min, 19, 21);
  within("heavy-tail-slow median ms", slowOk[Math.floor(slowOk.length / 2)], 270, 330);
  within(
    "heavy-tail-slow 14 s outlier share",
    slow.filter((r) => r.latency_ms >= 14_000).length / slow.length,
    0.003,
    0.007,
  );
  const lowDay = Array.from(
    { length: 24 },
    (_, h) =>
      stats(
        "diurnal-low",
        (s) => s.end - (h + 1) * HOUR,
        (s) => s.end - h * HOUR,
      ).count,
  );
  within("diurnal-low trough/peak hourly ratio", Math.min(...lowDay) / Math.max(...lowDay), 0.03, 0.12);
  within("high-4xx 4xx share", stats("high-4xx", (s) => s.start, end).share_4xx, 0.28, 0.32);

  const controlHours = scenarios.filter((s) => s.kind === "control").reduce((h, s) => h + (s.end - s.start) / HOUR, 0);
  within("controls' simulated hours", controlHours, WEEK_HOURS, 7 * 24 * 5);
  within("total records", total, 1, MAX_RECORDS);
  say(`OK: ${scenarios.length} scenarios, ${total} records, controls ${controlHours} h simulated (seed ${seed})`);
}

/**
 * Posts one scenario's records in order, each request after the previous answered. A request
 * holds at most 1,000 records and `spanMs` of event time: the monitor evaluates at most 6 h of
 * minutes in one go and skips a longer gap, so a low-traffic batch spanning 16 h would measure
 * that catch-up path instead of minute-by-minute detection.
 * @param {Client} client
 * @param {Scenario} s
 * @param {number} spanMs
 */
async function ingestScenario(client, s, spanMs) {
  /** @type {IngestTotals} */
  const totals = { records: 0, stored: 0, duplicates: 0, rejected: 0, first_rejection: null };
  const headers = { Authorization: `Bearer ${KEYS.INGEST_KEYS}`, "Content-Type": "application/json" };
  const send = async (/** @type {ScenarioRecord[]} */ batch) => {
    const body = JSON.stringify(batch);
    for (let attempt = 1; ; attempt++) {
      let res = null;
      let why;
      try {
        res = await client.request({ method: "POST", path: "/v1/logs?sync=1", headers, body, timeoutMs: 60_000 });
        if (res.status === 202) {
          const answer = JSON.parse(res.text);
          totals.stored += answer.stored;
          totals.duplicates += answer.duplicates;
          totals.rejected += answer.rejected.length;
          totals.first_rejection ??= answer.rejected[0] ?? null;
          return;
        }
        why = `${res.status} ${res.text.slice(0, 160)}`;
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
      // Records carry ids, so a resent batch is stored once; only a 503 or a lost request is worth it.
      if (attempt >= 3 || (res !== null && res.status !== 503)) throw new Error(`POST /v1/logs: ${why}`);
      await sleep(1_000 * attempt);
    }
  };
  /** @type {ScenarioRecord[]} */
  let batch = [];
  for (const record of s.records()) {
    if (batch.length > 0 && record.timestamp - batch[0].timestamp >= spanMs) await send(batch.splice(0));
    batch.push(record);
    totals.records++;
    if (totals.records > MAX_RECORDS) throw new Error(`more than ${MAX_RECORDS} records`);
    if (batch.length === BATCH) await send(batch.splice(0));
  }
  if (batch.length > 0) await send(batch);
  return totals;
}

/**
 * @param {Client} client
 * @param {string} service
 * @returns {Promise<IncidentsRead>}
 */
async function readIncidents(client, service) {
  try {
    const res = await client.request({
      path: `/v1/incidents?service=${encodeURIComponent(service)}&limit=1000`,
      headers: { Authorization: `Bearer ${KEYS.READ_KEY}` },
    });
    if (res.status !== 200) return { status: res.status, error: res.text.slice(0, 200) };
    return { status: 200, incidents: JSON.parse(res.text).incidents };
  } catch (err) {
    return { status: 0, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Scores one scenario's incidents; see the module comment.
 * @param {Scenario} s
 * @param {Incident[]} incidents
 */
function score(s, incidents) {
  const sorted = [...incidents].sort((a, b) => a.opened_at - b.opened_at);
  if (s.degradation_start === null)
    return { detected: null, delay_min: null, false_incidents: sorted.length, shown: sorted[0] ?? null };
  const cutoff = s.degradation_start - 2 * MINUTE;
  const hit = sorted.find((i) => i.opened_at >= cutoff) ?? null;
  return {
    detected: hit !== null,
    delay_min: hit ? Math.round(((hit.opened_at - s.degradation_start) / MINUTE) * 10) / 10 : null,
    false_incidents: sorted.filter((i) => i.opened_at < cutoff).length,
    shown: hit ?? sorted[0] ?? null,
  };
}

/**
 * The issue's targets over the scored rows.
 * @param {Row[]} rows
 */
function targets(rows) {
  const degradations = rows.filter((r) => r.kind === "degradation");
  const controls = rows.filter((r) => r.kind === "control");
  const scored = rows.every((r) => r.incidents_status === 200);
  const delay = (/** @type {"step" | "creep"} */ category) => {
    const list = degradations.filter((r) => r.category === category);
    if (list.length === 0)
      return { scenarios: 0, median_min: null, target_min: TARGET_DELAY_MIN[category], pass: null };
    const m = num(median(list.map((r) => (r.detected ? num(r.delay_min) : Infinity))));
    return {
      scenarios: list.length,
      median_min: Number.isFinite(m) ? m : null,
      target_min: TARGET_DELAY_MIN[category],
      pass: scored ? m <= TARGET_DELAY_MIN[category] : null,
    };
  };
  const controlHours = controls.reduce((h, r) => h + r.simulated_hours, 0);
  const controlFalse = controls.reduce((n, r) => n + r.false_incidents, 0);
  return {
    all_detected: {
      detected: degradations.filter((r) => r.detected).length,
      of: degradations.length,
      pass: scored && degradations.length > 0 ? degradations.every((r) => r.detected) : null,
    },
    control_false_incidents: {
      count: controlFalse,
      simulated_hours: controlHours,
      full_week: controlHours >= WEEK_HOURS,
      pass: scored ? controlFalse === 0 : null,
    },
    warmup_false_incidents: {
      count: degradations.reduce((n, r) => n + r.false_incidents, 0),
      simulated_hours: degradations.reduce((h, r) => h + (num(r.degradation_start) - r.start) / HOUR, 0),
    },
    step_median_delay: delay("step"),
    creep_median_delay: delay("creep"),
  };
}

/** @param {Row[]} rows */
function printTable(rows) {
  const cell = (/** @type {unknown} */ v, /** @type {number} */ w) => String(v).slice(0, w).padEnd(w);
  /** @type {[string, number][]} */
  const header = [
    ["scenario", 16],
    ["kind", 11],
    ["records", 8],
    ["detected", 8],
    ["delay", 7],
    ["false", 5],
    ["signals", 22],
    ["explanation", 70],
  ];
  say(header.map(([h, w]) => cell(h, w)).join(" "));
  for (const r of rows) {
    const unknown = r.incidents_status !== 200;
    const values = [
      r.name,
      r.kind === "degradation" ? `deg/${r.category}` : "control",
      r.records,
      unknown ? "?" : r.detected === null ? "-" : r.detected ? "yes" : "NO",
      r.delay_min ?? "-",
      unknown ? "?" : r.false_incidents,
      r.shown_signals ?? "",
      unknown ? `(GET /v1/incidents: ${r.incidents_status})` : (r.shown_explanation ?? "").replace(/\s+/g, " "),
    ];
    say(values.map((v, i) => cell(v, header[i][1])).join(" "));
  }
}

/** @param {ReturnType<typeof targets>} t */
function printTargets(t) {
  const mark = (/** @type {boolean | null} */ ok) => (ok === null ? "n/a (incidents not read)" : ok ? "PASS" : "MISS");
  const d = t.all_detected;
  say(`every degradation detected: ${d.of === 0 ? "no scenario" : `${d.detected}/${d.of} ${mark(d.pass)}`}`);
  const c = t.control_false_incidents;
  say(
    `zero false incidents across the controls: ${c.count} in ${c.simulated_hours} h simulated${c.full_week ? "" : ` (less than a week: ${WEEK_HOURS} h)`} ${mark(c.pass)}`,
  );
  say(
    `  (false incidents in the degradations' ${t.warmup_false_incidents.simulated_hours} h of warm-up: ${t.warmup_false_incidents.count})`,
  );
  for (const [label, d] of /** @type {[string, ReturnType<typeof targets>["step_median_delay"]][]} */ ([
    ["steps and outages", t.step_median_delay],
    ["slow creeps", t.creep_median_delay],
  ])) {
    const value = d.scenarios === 0 ? "no scenario" : d.median_min === null ? "undetected" : `${d.median_min} min`;
    say(
      `median delay, ${label}: ${value} [target <= ${d.target_min} min]${d.scenarios === 0 ? "" : ` ${mark(d.pass)}`}`,
    );
  }
}

/** @param {ReturnType<typeof parseOptions>} opts */
async function runSuite(opts) {
  const runStart = Date.now();
  const stamp = new Date(runStart).toISOString().replace(/[:.]/g, "-");
  const runId = runStart.toString(36);
  // On a whole minute, so that degradations start where the monitor's minute buckets do.
  const endAt = Math.floor((runStart - END_BEFORE_RUN_MS) / MINUTE) * MINUTE;
  const scenarios = buildScenarios({ endAt, seed: opts.seed, only: opts.only });
  await mkdir(RESULTS, { recursive: true });
  const logPath = join(RESULTS, `wrangler-scenarios-${stamp}.log`);
  const port = await freePort(opts.port);
  say(
    `edge-monitor detection scenarios, run ${runId}, seed ${opts.seed}: ${scenarios.length} scenarios, ${cpus().length} CPUs, load ${loadavg()[0].toFixed(2)}`,
  );
  say(`starting wrangler dev on 127.0.0.1:${port} (output in ${relative(ROOT, logPath)}) ...`);
  const server = await startWorker({ cwd: ROOT, port, logPath, logLevel: opts.logLevel });
  say(`worker ready in ${((Date.now() - runStart) / 1000).toFixed(1)} s`);
  const client = createClient({ port, maxSockets: opts.concurrency + 2 });
  /** @type {Map<string, Partial<IngestTotals> & { error?: string }>} */
  const ingested = new Map();
  /** @type {Map<string, IncidentsRead>} */
  const reads = new Map();
  let ingestSeconds = 0;
  try {
    const t0 = performance.now();
    const queue = [...scenarios];
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        for (let s = queue.shift(); s; s = queue.shift()) {
          const started = performance.now();
          try {
            const totals = await ingestScenario(client, s, opts.batchMinutes * MINUTE);
            ingested.set(s.name, totals);
            say(
              `  ${s.name}: ${totals.stored} stored, ${totals.rejected} rejected of ${totals.records} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
            );
          } catch (err) {
            ingested.set(s.name, { error: err instanceof Error ? err.message : String(err) });
            say(`  ${s.name}: ingest FAILED: ${ingested.get(s.name)?.error}`);
          }
        }
      }),
    );
    ingestSeconds = (performance.now() - t0) / 1000;
    // Incidents reach D1 asynchronously: read after a pause, then once more and keep the later answer.
    for (const pause of [3_000, 5_000]) {
      await sleep(pause);
      for (const s of scenarios) {
        const read = await readIncidents(client, s.service);
        const earlier = reads.get(s.name);
        if (read.status === 200 || !earlier || earlier.status !== 200)
          reads.set(s.name, { ...read, earlier: earlier?.incidents?.length ?? null });
      }
    }
  } finally {
    client.close();
    await server.stop();
  }

  const rows = scenarios.map((s) => {
    const totals = ingested.get(s.name) ?? { error: "not sent" };
    const read = reads.get(s.name) ?? { status: 0, error: "not read" };
    const sc = score(s, read.incidents ?? []);
    return {
      name: s.name,
      service: s.service,
      kind: s.kind,
      category: s.category,
      what: s.what,
      start: s.start,
      degradation_start: s.degradation_start,
      simulated_hours: (s.end - s.start) / HOUR,
      records: totals.records ?? 0,
      ingest: totals,
      incidents_status: read.status,
      incidents_error: read.error ?? null,
      incidents_total: read.incidents?.length ?? null,
      incidents_at_first_read: read.earlier,
      detected: sc.detected,
      delay_min: sc.delay_min,
      false_incidents: sc.false_incidents,
      shown_explanation: sc.shown?.explanation ?? null,
      shown_signals: sc.shown ? (sc.shown.signals ?? []).map((g) => g.kind).join(",") : null,
      incidents: (read.incidents ?? []).slice(0, 50),
    };
  });
  const t = targets(rows);
  const records = rows.reduce((n, r) => n + r.records, 0);
  const wall = (Date.now() - runStart) / 1000;
  const failed = rows.some((r) => r.ingest.error || num(r.ingest.rejected) > 0 || r.incidents_status !== 200);
  const report = {
    run_id: runId,
    seed: opts.seed,
    batch_minutes: opts.batchMinutes,
    started_at: new Date(runStart).toISOString(),
    source: sourceVersion(ROOT),
    wall_seconds: Math.round(wall),
    ingest_seconds: Math.round(ingestSeconds),
    records,
    records_per_s: Math.round(records / Math.max(ingestSeconds, 0.001)),
    targets: t,
    scenarios: rows,
    run_failed: failed,
  };
  const outPath = join(RESULTS, `scenarios-${stamp}.json`);
  await writeFile(outPath, `${JSON.stringify(report, null, 2)}\n`);

  say("");
  say("==== detection scenarios ====");
  printTable(rows);
  say("");
  printTargets(t);
  for (const r of rows.filter((r) => r.ingest.error || num(r.ingest.rejected) > 0))
    say(`ingest problem in ${r.name}: ${r.ingest.error ?? JSON.stringify(r.ingest.first_rejection)}`);
  for (const r of rows.filter((r) => r.incidents_status === 200 && r.incidents_at_first_read !== r.incidents_total)) {
    say(`note: ${r.name} incidents changed between the reads (${r.incidents_at_first_read} -> ${r.incidents_total})`);
  }
  if (rows.some((r) => r.incidents_status !== 200))
    say(
      `GET /v1/incidents failed (${/** @type {Row} */ (rows.find((r) => r.incidents_status !== 200)).incidents_error}): no detection results`,
    );
  say(
    `${records} records in ${ingestSeconds.toFixed(1)} s (${report.records_per_s} records/s); wall ${wall.toFixed(0)} s; report ${relative(ROOT, outPath)}`,
  );
  if (opts.json) {
    const brief = rows.map(
      ({ name, kind, category, records, detected, delay_min, false_incidents, incidents_total }) => ({
        name,
        kind,
        category,
        records,
        detected,
        delay_min,
        false_incidents,
        incidents_total,
      }),
    );
    say(
      JSON.stringify({
        run_id: runId,
        seed: opts.seed,
        wall_seconds: report.wall_seconds,
        records,
        run_failed: failed,
        targets: t,
        scenarios: brief,
      }),
    );
  }
  process.exitCode = failed ? 1 : 0;
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
    buildScenarios({ endAt: 0, seed: opts.seed, only: opts.only });
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)} (see --help)`);
    process.exit(2);
  }
  if (opts.check) runCheck(opts.seed);
  else await runSuite(opts);
}

main().catch((err) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
