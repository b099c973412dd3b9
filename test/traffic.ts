/** Request logs of one endpoint in event time, for detection tests: phases of steady traffic, each with its own error rate and latency. */
import { expect } from "vitest";
import { flushAll, postLogs } from "./helpers";
import { prng } from "./prng";

const MINUTE = 60_000;

export interface Phase {
  minutes: number;
  perMinute: number;
  errorRate?: number;
  latencyMs?: number;
  emptyRate?: number;
  /** The share of requests a rate limiter answers 429 (none unless given). */
  rateLimitedRate?: number;
}

/** Records of one endpoint over consecutive phases, ending `endsAgo` ms before now. */
export function traffic(service: string, phases: Phase[], opts: { seed?: number; endsAgo?: number } = {}) {
  const random = prng(opts.seed ?? 1);
  const total = phases.reduce((n, p) => n + p.minutes, 0);
  const start = Math.floor((Date.now() - (opts.endsAgo ?? 5 * MINUTE)) / MINUTE) * MINUTE - total * MINUTE;
  const out: Record<string, unknown>[] = [];
  let minute = 0;
  const phaseStarts: number[] = [];
  for (const p of phases) {
    phaseStarts.push(start + minute * MINUTE);
    for (let m = 0; m < p.minutes; m++, minute++) {
      for (let i = 0; i < p.perMinute; i++) {
        const r = random();
        const errorRate = p.errorRate ?? 0.002;
        const status = r < errorRate ? 503 : r < errorRate + (p.rateLimitedRate ?? 0) ? 429 : r > 0.98 ? 404 : 200;
        const base = p.latencyMs ?? 80;
        out.push({
          timestamp: start + minute * MINUTE + Math.floor((i + random()) * (MINUTE / p.perMinute)),
          service,
          method: "GET",
          path: `/orders/${i}`,
          route: "/orders/:id",
          status,
          latency_ms: Math.round(base * Math.exp(0.3 * (random() + random() + random() - 1.5)) * 10) / 10,
          response_empty: status === 200 && random() < (p.emptyRate ?? 0),
        });
      }
    }
  }
  return { records: out, phaseStarts };
}

export async function send(records: Record<string, unknown>[], batch = 1000): Promise<void> {
  for (let i = 0; i < records.length; i += batch) {
    const res = await postLogs(records.slice(i, i + batch), { sync: true });
    expect(res.status).toBe(202);
  }
  await flushAll();
}
