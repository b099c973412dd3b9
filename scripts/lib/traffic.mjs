// @ts-check
/**
 * The one seeded request-log traffic generator of the tests and Node scripts: records of one
 * endpoint over consecutive phases (Poisson-like arrivals spread over each minute, log-normal
 * latency, 2% 404s, 503s at the phase's error rate, 429s at its rate-limited share), drawn from
 * scripts/lib/prng.mjs's createRng. The vitest detection tests (test/traffic.ts) and the dashboard
 * seed script (and through it the dashboard's browser test) both build on `trafficRecords`.
 */
import { createRng } from "./prng.mjs";

const MINUTE = 60_000;

/**
 * @typedef {{ service: string; method: string; path: string; route: string }} TrafficEndpoint
 * @typedef {{ minutes: number; perMinute: number; errorRate?: number; latencyMs?: number; emptyRate?: number; rateLimitedRate?: number }} TrafficPhase
 * @typedef {object} TrafficOptions
 * @property {number} [seed]
 * @property {number} [endsAgo] ms before now that the last phase ends (rounded down to a minute)
 * @property {(i: number, random: () => number) => string} [path] the path of the minute's i-th request (default: the endpoint's)
 * @property {(status: number) => Record<string, unknown>} [extra] more fields of a record by its status
 */

/**
 * Records of one endpoint over consecutive phases, the last one ending `endsAgo` ms before now,
 * and when each phase starts. The draws per record, in order: status, arrival, what `path` draws,
 * latency (three), emptiness (a 200 only): a caller's records depend on nothing else.
 * @param {TrafficEndpoint} endpoint
 * @param {TrafficPhase[]} phases
 * @param {TrafficOptions} [options]
 * @returns {{ records: Record<string, unknown>[]; phaseStarts: number[] }}
 */
export function trafficRecords(endpoint, phases, { seed = 1, endsAgo = 0, path, extra } = {}) {
  const random = createRng(seed).uniform;
  const total = phases.reduce((n, p) => n + p.minutes, 0);
  const start = Math.floor((Date.now() - endsAgo) / MINUTE) * MINUTE - total * MINUTE;
  /** @type {Record<string, unknown>[]} */
  const records = [];
  /** @type {number[]} */
  const phaseStarts = [];
  let minute = 0;
  for (const p of phases) {
    phaseStarts.push(start + minute * MINUTE);
    for (let m = 0; m < p.minutes; m++, minute++) {
      for (let i = 0; i < p.perMinute; i++) {
        const r = random();
        const errorRate = p.errorRate ?? 0.002;
        const status = r < errorRate ? 503 : r < errorRate + (p.rateLimitedRate ?? 0) ? 429 : r > 0.98 ? 404 : 200;
        const base = p.latencyMs ?? 80;
        const timestamp = start + minute * MINUTE + Math.floor((i + random()) * (MINUTE / p.perMinute));
        const at = path ? path(i, random) : endpoint.path;
        records.push({
          timestamp,
          service: endpoint.service,
          method: endpoint.method,
          path: at,
          route: endpoint.route,
          status,
          latency_ms: Math.round(base * Math.exp(0.3 * (random() + random() + random() - 1.5)) * 10) / 10,
          response_empty: status === 200 && random() < (p.emptyRate ?? 0),
          ...(extra ? extra(status) : {}),
        });
      }
    }
  }
  return { records, phaseStarts };
}

/**
 * The seed script's records of one endpoint (`:id` filled with a random number, 503s carrying an
 * error message), the last phase ending `endsAgo` ms before now.
 * @param {TrafficEndpoint} endpoint
 * @param {TrafficPhase[]} phases
 * @param {{ seed?: number; endsAgo?: number }} [options]
 */
export function traffic(endpoint, phases, { seed = 1, endsAgo = 0 } = {}) {
  return trafficRecords(endpoint, phases, {
    seed,
    endsAgo,
    path: (_i, random) => endpoint.path.replace(":id", String(1000 + Math.floor(random() * 9000))),
    extra: (status) => (status === 503 ? { error: "upstream timeout after 900 ms" } : {}),
  }).records;
}
