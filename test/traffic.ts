/** Request logs of one endpoint in event time, for detection tests: phases of steady traffic, each with its own error rate and latency (the shared generator of scripts/lib/traffic.mjs). */
import { expect } from "vitest";
import { flushAll, postLogs } from "./helpers";
import { trafficRecords } from "../scripts/lib/traffic.mjs";

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

/** Records of one endpoint over consecutive phases, ending `endsAgo` ms before now (scripts/lib/traffic.mjs). */
export function traffic(
  service: string,
  phases: Phase[],
  opts: { seed?: number; endsAgo?: number } = {},
): { records: Record<string, unknown>[]; phaseStarts: number[] } {
  const endpoint = { service, method: "GET", path: "/orders/:id", route: "/orders/:id" };
  return trafficRecords(endpoint, phases, {
    seed: opts.seed ?? 1,
    endsAgo: opts.endsAgo ?? 5 * MINUTE,
    path: (i) => `/orders/${i}`,
  });
}

export async function send(records: Record<string, unknown>[], batch = 1000): Promise<void> {
  for (let i = 0; i < records.length; i += batch) {
    const res = await postLogs(records.slice(i, i + batch), { sync: true });
    expect(res.status).toBe(202);
  }
  await flushAll();
}
