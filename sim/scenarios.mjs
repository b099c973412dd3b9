// @ts-check
/**
 * The simulator's scenarios: what changes, on which endpoint of the demo API, and how fast. A
 * plan is a list of degradations laid out in absolute (event) time, so the same plan drives a
 * backfill in the past, live traffic now, and the demo origin's control settings; the conditions
 * of an endpoint at time t are a pure function of the plan. Pure, no I/O.
 */
import { BASE_CONDITIONS, findEndpoint } from "./model.mjs";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** @param {number} x */
const clamp01 = (x) => Math.min(1, Math.max(0, x));

/**
 * The catalogue. `endpoint`: the demo endpoint it degrades by default; `target`: where it ends
 * (a latency factor, a 5xx share, an empty-body share, a traffic factor); `kind`: `creep` ramps
 * linearly over `ramp_ms` then holds, `step` changes at once and holds, `burst` holds the target
 * for `ramp_ms` and recovers.
 * @typedef {import("./model.mjs").Conditions} Conditions
 * @typedef {{ what: string; endpoint: string; kind: "none"; target: null }
 *   | { what: string; endpoint: string; kind: "creep" | "step" | "burst"; target: number; apply: (v: number) => Partial<Conditions>; from: number }} Scenario
 * @typedef {{ scenario: string; endpoint: string; at: number; ramp_ms: number; target: number }} Degradation
 * @type {Record<string, Scenario>}
 */
export const SCENARIOS = {
  steady: {
    what: "normal traffic only: 2% 4xx, 0.2% 5xx, log-normal latency",
    endpoint: "list",
    kind: "none",
    target: null,
  },
  "latency-creep": {
    what: "p95 latency x1 -> x2 (linear ramp, then held)",
    endpoint: "search",
    kind: "creep",
    target: 2,
    apply: (v) => ({ latency_factor: v }),
    from: 1,
  },
  "error-creep": {
    what: "5xx 0.2% -> 8% (linear ramp, then held)",
    endpoint: "checkout",
    kind: "creep",
    target: 0.08,
    apply: (v) => ({ error_rate: v }),
    from: BASE_CONDITIONS.error_rate,
  },
  outage: {
    what: "70% 5xx for a burst, then recovery",
    endpoint: "item",
    kind: "burst",
    target: 0.7,
    apply: (v) => ({ error_rate: v }),
    from: BASE_CONDITIONS.error_rate,
  },
  "silent-failure": {
    what: "empty 200 bodies 0% -> 15% (linear ramp, then held)",
    endpoint: "list",
    kind: "creep",
    target: 0.15,
    apply: (v) => ({ empty_rate: v }),
    from: 0,
  },
  "traffic-drop": {
    what: "traffic to 20% at once, then held",
    endpoint: "item",
    kind: "step",
    target: 0.2,
    apply: (v) => ({ traffic_factor: v }),
    from: 1,
  },
};
export const SCENARIO_NAMES = Object.keys(SCENARIOS);

/**
 * Default timing of a degradation for a run whose live part is [liveStart, liveEnd) after a
 * backfill of `backfillMs`: in the live part when there is one (a quarter in, ramping over 40%
 * of it, a burst lasting 30%), else in the last hours of the backfill (3 h before its end,
 * creeping over an hour, a 15-minute burst), so the history holds the change.
 * @param {{ liveStart: number; liveEnd: number; backfillMs: number }} run
 */
export function defaultTiming({ liveStart, liveEnd, backfillMs }) {
  const live = liveEnd - liveStart;
  if (live > 0) return { at: liveStart + 0.25 * live, ramp_ms: 0.4 * live, burst_ms: 0.3 * live };
  const lead = Math.min(3 * HOUR, backfillMs / 4);
  return { at: liveStart - lead, ramp_ms: Math.min(HOUR, lead / 2), burst_ms: Math.min(15 * MINUTE, lead / 2) };
}

/**
 * A degradation of a plan: `{scenario, endpoint, at, ramp_ms, target}` with the scenario's
 * defaults filled in. Throws on an unknown scenario or endpoint or a target out of range.
 * @param {string} name
 * @param {{ endpoint?: string; at?: number; ramp_ms?: number; burst_ms?: number; target?: number }} [timing]
 * @returns {Degradation}
 */
export function degradation(name, { endpoint, at, ramp_ms, burst_ms, target } = {}) {
  const s = SCENARIOS[name];
  if (!s) throw new Error(`unknown scenario ${JSON.stringify(name)} (known: ${SCENARIO_NAMES.join(", ")})`);
  const e = findEndpoint(endpoint ?? s.endpoint);
  if (!e)
    throw new Error(
      `unknown endpoint ${JSON.stringify(endpoint)} (known: GET /items, GET /items/:id, GET /search, POST /checkout)`,
    );
  const value = target ?? s.target;
  if (s.kind !== "none") {
    const range = name === "latency-creep" ? [0.01, 100] : [0, 1];
    if (!(typeof value === "number" && Number.isFinite(value) && value >= range[0] && value <= range[1]))
      throw new Error(`--target for ${name} must be within ${range[0]}..${range[1]}`);
  }
  // Typed as given: every caller passes `at` (and a ramp where the kind needs one).
  return /** @type {Degradation} */ ({
    scenario: name,
    endpoint: e.key,
    at,
    ramp_ms: s.kind === "burst" ? (burst_ms ?? ramp_ms) : s.kind === "step" ? 0 : ramp_ms,
    target: value,
  });
}

/**
 * How far a degradation has gone at t: 0 (not started or over) .. 1 (at its target).
 * @param {Degradation} d
 * @param {number} t
 */
export function progress(d, t) {
  const kind = SCENARIOS[d.scenario].kind;
  if (kind === "none" || t < d.at) return 0;
  if (kind === "burst") return t < d.at + d.ramp_ms ? 1 : 0;
  if (kind === "step" || d.ramp_ms <= 0) return 1;
  return clamp01((t - d.at) / d.ramp_ms);
}

/**
 * The conditions of one demo endpoint at event time t under a plan (a list of degradations).
 * @param {Degradation[]} plan
 * @param {string} endpointKey
 * @param {number} t
 * @returns {Conditions}
 */
export function conditionsAt(plan, endpointKey, t) {
  const c = { ...BASE_CONDITIONS };
  for (const d of plan) {
    if (d.endpoint !== endpointKey) continue;
    const s = SCENARIOS[d.scenario];
    if (s.kind === "none") continue;
    const p = progress(d, t);
    Object.assign(c, s.apply(s.from + (d.target - s.from) * p));
  }
  return c;
}
