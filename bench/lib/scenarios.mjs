// @ts-check
/**
 * Scenario generators of the detection benchmark: request-log records (the ingest schema) for
 * one endpoint per scenario, in event-time order. Pure and reproducible: every scenario draws
 * from its own seeded PRNG (scripts/lib/prng.mjs's createRng, sfc32, seeded from the run seed and the scenario name, so that
 * `--only` does not change a scenario's records) and is laid out against an `endAt` passed in.
 *
 * Traffic is a non-homogeneous Poisson process drawn by thinning (candidates at the scenario's
 * peak rate, each kept with probability rate(t) / peak), so that steps in the rate (a traffic
 * drop, a batch burst) are exact rather than smeared over the next gap. Latency is log-normal;
 * a small steady share of 4xx and a tiny baseline of 5xx are always present. Degradations run
 * about 6 h of normal traffic before `degradation_start`; controls have none (null).
 */
import { createRng, scenarioSeed } from "../../scripts/lib/prng.mjs";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/**
 * @typedef {{ p4xx: number; p5xx: number; pEmpty: number; median: number; sigma: number; factor: number; pOutlier: number; outlierMs: number }} Mix
 * @typedef {{ start: number; degradation_start: number }} ChangeWindow the scenario as its rate and mix see it (controls never read degradation_start)
 * @typedef {{ name: string; category?: string; what: string; endpoint: [string, string]; span: number; peak: number; rate: (t: number, s: ChangeWindow) => number; mix: (t: number, s: ChangeWindow) => Mix; failure_every?: number }} ScenarioDef
 * @typedef {{ id: string; timestamp: number; service: string; method: string; path: string; route: string; status: number; latency_ms: number; response_empty?: boolean }} ScenarioRecord
 * @typedef {{ name: string; service: string; kind: string; category: string | null; what: string; method: string; route: string; start: number; end: number; degradation_start: number | null; records: () => Generator<ScenarioRecord> }} Scenario
 */

/** @param {number} x */
const clamp01 = (x) => Math.min(1, Math.max(0, x));
/**
 * 0 before `from`, rising linearly to 1 over `over` ms.
 * @param {number} t
 * @param {number} from
 * @param {number} over
 */
const ramp = (t, from, over) => clamp01((t - from) / over);

/**
 * Normal traffic: 2% 4xx, 0.2% 5xx, log-normal latency (median 80 ms, p95 about 2.3x the median).
 * @type {Mix}
 */
const NORMAL = {
  p4xx: 0.02,
  p5xx: 0.002,
  pEmpty: 0,
  median: 80,
  sigma: 0.5,
  factor: 1,
  pOutlier: 0,
  outlierMs: 10_000,
};
const STATUS_4XX = [400, 401, 403, 404, 404, 404, 409, 422, 429];
const STATUS_5XX = [500, 500, 502, 503, 503, 504];
const WARMUP = 6 * HOUR;
const CONTROL_SPAN = 36 * HOUR;

/**
 * The scenario catalogue. `rate(t, s)` is requests/min at event time t, `mix(t, s)` the shares
 * and latency there; `peak` bounds `rate` (thinning); `span` is the length of the scenario and
 * `warmup` the normal traffic before the change (degradations only).
 * @type {ScenarioDef[]}
 */
const CATALOGUE = [
  {
    name: "error-creep",
    category: "creep",
    what: "5xx 0.2% -> 3% linearly over 1 h, then held 30 min",
    endpoint: ["GET", "/orders/:id"],
    span: WARMUP + 90 * MINUTE,
    peak: 60,
    rate: () => 60,
    mix: (t, s) => ({ ...NORMAL, p5xx: 0.002 + 0.028 * ramp(t, s.degradation_start, HOUR) }),
  },
  {
    name: "latency-creep",
    category: "creep",
    what: "latency (p95) x1 -> x2 linearly over 1 h, then held 1 h",
    endpoint: ["GET", "/search"],
    span: WARMUP + 2 * HOUR,
    peak: 40,
    rate: () => 40,
    mix: (t, s) => ({ ...NORMAL, factor: 1 + ramp(t, s.degradation_start, HOUR) }),
  },
  {
    name: "latency-step",
    category: "step",
    what: "latency x3 at once, held 1 h",
    endpoint: ["POST", "/checkout"],
    span: WARMUP + HOUR,
    peak: 30,
    rate: () => 30,
    mix: (t, s) => ({ ...NORMAL, factor: t >= s.degradation_start ? 3 : 1 }),
  },
  {
    name: "outage-burst",
    category: "step",
    what: "70% 5xx for 10 min, then 50 min of recovery",
    endpoint: ["GET", "/inventory/:sku"],
    span: WARMUP + HOUR,
    peak: 90,
    rate: () => 90,
    mix: (t, s) => {
      const down = t >= s.degradation_start && t < s.degradation_start + 10 * MINUTE;
      return down ? { ...NORMAL, p5xx: 0.7 } : NORMAL;
    },
  },
  {
    name: "silent-failures",
    category: "creep",
    what: "empty 200 bodies 0% -> 10% over 30 min, then held 1 h",
    endpoint: ["GET", "/recommendations/:user_id"],
    span: WARMUP + 90 * MINUTE,
    peak: 50,
    rate: () => 50,
    mix: (t, s) => ({ ...NORMAL, pEmpty: 0.1 * ramp(t, s.degradation_start, 30 * MINUTE) }),
  },
  {
    name: "traffic-drop",
    category: "step",
    what: "traffic 80/min -> 16/min (20%) at once, held 1 h",
    endpoint: ["POST", "/events"],
    span: WARMUP + HOUR,
    peak: 80,
    rate: (t, s) => (t >= s.degradation_start ? 16 : 80),
    mix: () => NORMAL,
  },
  {
    name: "latency-shift",
    category: "step",
    what: "latency x1.5 at once for 15 min at 20/min, then back to normal",
    endpoint: ["GET", "/quotes/:id"],
    span: WARMUP + HOUR,
    peak: 20,
    rate: () => 20,
    mix: (t, s) => ({ ...NORMAL, factor: t >= s.degradation_start && t < s.degradation_start + 15 * MINUTE ? 1.5 : 1 }),
  },
  {
    name: "error-step",
    category: "step",
    what: "5xx 0.2% -> 5% at once for 20 min at 40/min, then back to normal",
    endpoint: ["POST", "/payments"],
    span: WARMUP + HOUR,
    peak: 40,
    rate: () => 40,
    mix: (t, s) => ({
      ...NORMAL,
      p5xx: t >= s.degradation_start && t < s.degradation_start + 20 * MINUTE ? 0.05 : 0.002,
    }),
  },
  {
    name: "low-traffic-random",
    what: "about 2 requests/min with 0.5% 5xx drawn at random (chance clusters included)",
    endpoint: ["GET", "/admin/exports/:id"],
    span: CONTROL_SPAN,
    peak: 2,
    rate: () => 2,
    mix: () => ({ ...NORMAL, p5xx: 0.005 }),
  },
  {
    name: "low-traffic",
    // One 5xx at a random moment of every 5 h slot rather than a 5xx share: at 1/min a share
    // draws chance clusters (5 errors in 100 min in about 3% of seeds) and a 36 h share that
    // strays past the 99.5% SLO, both real problems rather than a quiet endpoint's rare failures.
    what: "about 1 request/min, 2% 4xx, one 5xx at a random time in every 5 h",
    endpoint: ["GET", "/admin/reports/:id"],
    span: CONTROL_SPAN,
    peak: 1,
    rate: () => 1,
    mix: () => ({ ...NORMAL, p5xx: 0 }),
    failure_every: 5 * HOUR,
  },
  {
    name: "diurnal",
    what: "sinusoidal 24 h rate, peak 100/min at 15:00 UTC, trough 15% of peak",
    endpoint: ["GET", "/products/:id"],
    span: CONTROL_SPAN,
    peak: 100,
    rate: (t) => 100 * (0.15 + (0.85 * (1 + Math.cos((2 * Math.PI * (t - 15 * HOUR)) / (24 * HOUR)))) / 2),
    mix: () => NORMAL,
  },
  {
    name: "periodic-bursts",
    what: "20/min with a 10x batch burst for 5 min every 4 h (02:00, 06:00, ... UTC)",
    endpoint: ["POST", "/sync/batch"],
    span: CONTROL_SPAN,
    peak: 200,
    rate: (t) => ((((t - 2 * HOUR) % (4 * HOUR)) + 4 * HOUR) % (4 * HOUR) < 5 * MINUTE ? 200 : 20),
    mix: () => NORMAL,
  },
  {
    name: "heavy-tail",
    what: "log-normal latency with sigma 1 plus 0.1% outliers at 10-12 s",
    endpoint: ["GET", "/export/:id"],
    span: CONTROL_SPAN,
    peak: 40,
    rate: () => 40,
    mix: () => ({ ...NORMAL, median: 60, sigma: 1, pOutlier: 0.001 }),
  },
  {
    name: "heavy-tail-slow",
    // Slow by nature, not degraded: its p95 (about 1.5 s) and the share over 1 s (about 14%)
    // sit past the default objectives from the first minute and never change.
    what: "20/min, log-normal latency median 300 ms sigma 1, 0.5% outliers at 14-16 s",
    endpoint: ["GET", "/reports/:id/pdf"],
    span: CONTROL_SPAN,
    peak: 20,
    rate: () => 20,
    mix: () => ({ ...NORMAL, median: 300, sigma: 1, pOutlier: 0.005, outlierMs: 14_000 }),
  },
  {
    name: "diurnal-low",
    what: "24 h period at low volume: peak 30/min at 14:00 UTC, trough 5% of peak (1.5/min), 48 h",
    endpoint: ["GET", "/catalog/:id"],
    span: 48 * HOUR,
    peak: 30,
    rate: (t) => 30 * (0.05 + (0.95 * (1 + Math.cos((2 * Math.PI * (t - 14 * HOUR)) / (24 * HOUR)))) / 2),
    mix: () => NORMAL,
  },
  {
    name: "high-4xx",
    what: "steady 30% 4xx (rejected logins)",
    endpoint: ["POST", "/auth/login"],
    span: CONTROL_SPAN,
    peak: 40,
    rate: () => 40,
    mix: () => ({ ...NORMAL, p4xx: 0.3 }),
  },
];

/** Names of every scenario, degradations first. */
export const SCENARIO_NAMES = CATALOGUE.map((c) => c.name);

/**
 * The scenarios of a run, each ending at `endAt` (event time): `{name, service, kind, category,
 * what, method, route, start, end, degradation_start, records()}`, `records()` a fresh generator.
 * @param {{ endAt: number; seed: number | string; only?: string[] | null }} run
 * @returns {Scenario[]}
 */
export function buildScenarios({ endAt, seed, only = null }) {
  const unknown = (only ?? []).filter((n) => !SCENARIO_NAMES.includes(n));
  if (unknown.length > 0)
    throw new Error(`unknown scenario(s): ${unknown.join(", ")} (known: ${SCENARIO_NAMES.join(", ")})`);
  return CATALOGUE.filter((c) => only === null || only.includes(c.name)).map((c) => {
    const start = endAt - c.span;
    const s = /** @type {Scenario} */ ({
      name: c.name,
      service: `scn-${c.name}`,
      kind: c.category ? "degradation" : "control",
      category: c.category ?? null,
      what: c.what,
      method: c.endpoint[0],
      route: c.endpoint[1],
      start,
      end: endAt,
      degradation_start: c.category ? start + WARMUP : null,
    });
    s.records = () => generate(c, s, createRng(scenarioSeed(seed, c.name)));
    return s;
  });
}

/**
 * @typedef {import("../../scripts/lib/prng.mjs").Rng} Rng
 */

/**
 * A concrete path for a route template: each `:param` becomes a random number.
 * @param {string} route
 * @param {Rng} rng
 */
function concretePath(route, rng) {
  return route.replace(/:[a-z_]+/g, () => String(1 + Math.floor(rng.uniform() * 99_999)));
}

/**
 * @param {Mix} m
 * @param {Rng} rng
 * @param {number} ok
 * @returns {number}
 */
function drawStatus(m, rng, ok) {
  const u = rng.uniform();
  if (u < m.p5xx) return rng.pick(STATUS_5XX);
  if (u < m.p5xx + m.p4xx) return rng.pick(STATUS_4XX);
  return ok;
}

/**
 * @param {Mix} m
 * @param {number} status
 * @param {Rng} rng
 */
function drawLatency(m, status, rng) {
  if (m.pOutlier > 0 && rng.uniform() < m.pOutlier) return m.outlierMs + 2_000 * rng.uniform();
  // Client errors are answered early (validation, auth) and cost less than a full request.
  const median = status >= 400 && status < 500 ? m.median * 0.4 : m.median;
  return median * m.factor * Math.exp(m.sigma * rng.normal());
}

/**
 * @param {ScenarioDef} c
 * @param {Scenario} s
 * @param {Rng} rng
 * @returns {Generator<ScenarioRecord>}
 */
function* generate(c, s, rng) {
  // Only degradations read degradation_start, and theirs is set.
  const w = /** @type {ChangeWindow} */ (s);
  const perMs = c.peak / MINUTE;
  const ok = s.method === "POST" ? 201 : 200;
  let t = s.start;
  let n = 0;
  // Scheduled failures (`failure_every`): the first request after a random moment of each slot.
  let slot = 0;
  const failAt = () => (c.failure_every ? s.start + (slot + rng.uniform()) * c.failure_every : Infinity);
  let nextFailure = failAt();
  for (;;) {
    t += rng.exponential(perMs);
    if (t >= s.end) return;
    if (rng.uniform() * c.peak >= c.rate(t, w)) continue;
    const m = c.mix(t, w);
    let status = drawStatus(m, rng, ok);
    if (t >= nextFailure) {
      status = rng.pick(STATUS_5XX);
      slot = Math.floor((t - s.start) / /** @type {number} */ (c.failure_every)) + 1; // set, or nextFailure is Infinity
      nextFailure = failAt();
    }
    /** @type {ScenarioRecord} */
    const record = {
      id: `${n++}`,
      timestamp: Math.floor(t),
      service: s.service,
      method: s.method,
      path: concretePath(s.route, rng),
      route: s.route,
      status,
      latency_ms: Math.round(drawLatency(m, status, rng) * 10) / 10,
    };
    if (status === ok && m.pEmpty > 0 && rng.uniform() < m.pEmpty) record.response_empty = true;
    yield record;
  }
}

/**
 * The value at quantile q (0..1) of an ascending array (null for an empty one).
 * @param {number[]} sorted
 * @param {number} q
 */
function quantile(sorted, q) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Statistics of the records with from <= timestamp < to: count, requests/min, shares of 4xx,
 * 5xx and empty 2xx, latency p50/p95 of the non-4xx requests. For checking the generators.
 * @param {{ timestamp: number; status: number; latency_ms: number; response_empty?: boolean }[]} records
 * @param {number} from
 * @param {number} to
 */
export function windowStats(records, from, to) {
  const w = records.filter((r) => r.timestamp >= from && r.timestamp < to);
  /** @param {(r: (typeof w)[number]) => boolean} pred */
  const share = (pred) => (w.length === 0 ? 0 : w.filter(pred).length / w.length);
  const latencies = w
    .filter((r) => r.status < 400 || r.status >= 500)
    .map((r) => r.latency_ms)
    .sort((a, b) => a - b);
  return {
    count: w.length,
    per_min: w.length / ((to - from) / MINUTE),
    share_4xx: share((r) => r.status >= 400 && r.status < 500),
    share_5xx: share((r) => r.status >= 500),
    share_empty: share((r) => r.response_empty === true),
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
  };
}
