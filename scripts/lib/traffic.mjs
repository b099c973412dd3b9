// @ts-check
/**
 * The shared request-log traffic generator of the Node scripts: seeded records of one endpoint
 * over consecutive phases (Poisson-like arrivals spread over each minute, log-normal latency, 2%
 * 404s, 503s at the phase's error rate), drawn from scripts/lib/prng.mjs's createRng. A port of
 * test/traffic.ts for Node; used by the dashboard seed script (and through it by the dashboard's
 * browser test).
 */
import { createRng } from "./prng.mjs";

const MINUTE = 60_000;

/**
 * @typedef {{ service: string; method: string; path: string; route: string }} TrafficEndpoint
 * @typedef {{ minutes: number; perMinute: number; errorRate?: number; latencyMs?: number; emptyRate?: number }} TrafficPhase
 */

/**
 * Records of one endpoint over consecutive phases ({minutes, perMinute, errorRate?, latencyMs?,
 * emptyRate?}), the last one ending `endsAgo` ms before now.
 * @param {TrafficEndpoint} endpoint
 * @param {TrafficPhase[]} phases
 * @param {{ seed?: number; endsAgo?: number }} [options]
 */
export function traffic(endpoint, phases, { seed = 1, endsAgo = 0 } = {}) {
  const random = createRng(seed).uniform;
  const total = phases.reduce((n, p) => n + p.minutes, 0);
  const start = Math.floor((Date.now() - endsAgo) / MINUTE) * MINUTE - total * MINUTE;
  const out = [];
  let minute = 0;
  for (const p of phases) {
    for (let m = 0; m < p.minutes; m++, minute++) {
      for (let i = 0; i < p.perMinute; i++) {
        const r = random();
        const status = r < (p.errorRate ?? 0.002) ? 503 : r > 0.98 ? 404 : 200;
        const base = p.latencyMs ?? 80;
        out.push({
          timestamp: start + minute * MINUTE + Math.floor((i + random()) * (MINUTE / p.perMinute)),
          service: endpoint.service,
          method: endpoint.method,
          path: endpoint.path.replace(":id", String(1000 + Math.floor(random() * 9000))),
          route: endpoint.route,
          status,
          latency_ms: Math.round(base * Math.exp(0.3 * (random() + random() + random() - 1.5)) * 10) / 10,
          response_empty: status === 200 && random() < (p.emptyRate ?? 0),
          ...(status === 503 ? { error: "upstream timeout after 900 ms" } : {}),
        });
      }
    }
  }
  return out;
}
