// @ts-check
/**
 * Traffic for the demo API over a time range, in event-time order and reproducible from a seed:
 * a Poisson process at the run's rate, each arrival assigned to an endpoint by its share of
 * traffic and kept with that endpoint's traffic factor at that moment (thinning, so a traffic
 * drop is exact), then turned into a client request (sim/model.mjs). `generateRecords` also draws
 * the origin's answer under the plan's conditions, giving `POST /v1/logs` records; the live proxy
 * mode sends the requests and lets the demo origin answer. Pure: no clock, no I/O.
 */
import { createRng, scenarioSeed } from "../scripts/lib/prng.mjs";
import { drawOutcome, drawRequest, pickEndpoint, validate } from "./model.mjs";
import { MINUTE, conditionsAt } from "./scenarios.mjs";

/**
 * @typedef {import("./scenarios.mjs").Degradation} Degradation
 * @typedef {{ timestamp: number; endpoint: import("./model.mjs").Endpoint; request: import("./model.mjs").ClientRequest; conditions: import("./model.mjs").Conditions }} RequestEvent
 * @typedef {{ id: string; timestamp: number; service: string; method: string; path: string; route: string; status: number; latency_ms: number; request_bytes: number; response_empty?: boolean; error?: string }} LogRecord
 */

/**
 * Requests over [from, to) at `ratePerMin` (all endpoints together, before traffic drops):
 * yields `{timestamp, endpoint, request, conditions}`. `seed` and `from` fix the sequence.
 * @param {{ from: number; to: number; ratePerMin: number; plan?: Degradation[]; seed?: number }} range
 * @returns {Generator<RequestEvent>}
 */
export function* generateRequests({ from, to, ratePerMin, plan = [], seed = 1 }) {
  if (!(ratePerMin > 0) || !(to > from)) return;
  const rng = createRng(scenarioSeed(seed, `requests:${from}`));
  const perMs = ratePerMin / MINUTE;
  let t = from;
  for (;;) {
    t += rng.exponential(perMs);
    if (t >= to) return;
    const endpoint = pickEndpoint(rng);
    const conditions = conditionsAt(plan, endpoint.key, t);
    if (rng.uniform() >= Math.min(1, conditions.traffic_factor)) continue;
    yield { timestamp: Math.floor(t), endpoint, request: drawRequest(rng, endpoint), conditions };
  }
}

/**
 * Log records (the `POST /v1/logs` schema) for `service` over [from, to): the requests above with
 * the origin's answer drawn under the plan. Each record carries an `id` (`idPrefix` and a
 * counter), so a resent batch is stored once.
 * @param {{ from: number; to: number; ratePerMin: number; plan?: Degradation[]; seed?: number; service: string; idPrefix?: string }} range
 * @returns {Generator<LogRecord>}
 */
export function* generateRecords({ from, to, ratePerMin, plan = [], seed = 1, service, idPrefix = `${seed}-${from}` }) {
  // The origin's answers draw from their own stream, so the requests are the same in both modes.
  const rng = createRng(scenarioSeed(seed, `outcomes:${from}`));
  let n = 0;
  for (const { timestamp, endpoint, request, conditions } of generateRequests({ from, to, ratePerMin, plan, seed })) {
    const url = new URL(request.path, "http://origin.invalid");
    const outcome = drawOutcome(rng, endpoint, validate(endpoint, url, request.body), conditions);
    /** @type {LogRecord} */
    const record = {
      id: `${idPrefix}-${n++}`,
      timestamp,
      service,
      method: endpoint.method,
      path: request.path,
      route: endpoint.route,
      status: outcome.status,
      latency_ms: outcome.latency_ms,
      request_bytes: request.body ? Buffer.byteLength(request.body) : 0,
    };
    if (outcome.empty) record.response_empty = true;
    if (outcome.error) record.error = outcome.error;
    yield record;
  }
}
