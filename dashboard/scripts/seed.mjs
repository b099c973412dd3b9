// @ts-check
// Demo data for the dashboard: a few hours of traffic on a handful of endpoints, posted to
// POST /v1/logs in event-time order, with an outage at the end (an open incident), an earlier
// latency step that recovered (a resolved incident) and a rise of silent failures. A port of
// test/traffic.ts (Poisson-like arrivals, log-normal latency, 2% 4xx) for Node (scripts/lib/traffic.mjs), used by the
// browser test and by `npm run dashboard:seed` against a running `npm start`.
//
//   node dashboard/scripts/seed.mjs [--url http://127.0.0.1:8787] [--hours 3]

import { traffic } from "../../scripts/lib/traffic.mjs";

const MINUTE = 60_000;

/** The demo scenario: every endpoint's records, merged in event-time order. */
export function scenario(hours = 3) {
  const warm = Math.max(60, hours * 60);
  const orders = { service: "shop", method: "GET", path: "/orders/:id", route: "/orders/:id" };
  const checkout = { service: "shop", method: "POST", path: "/checkout", route: "/checkout" };
  const invoices = { service: "billing", method: "GET", path: "/invoices/:id", route: "/invoices/:id" };
  const health = { service: "billing", method: "GET", path: "/health", route: "/health" };
  const records = [
    // An outage in the last 12 minutes: an open CRITICAL incident.
    ...traffic(
      orders,
      [
        { minutes: warm - 12, perMinute: 40 },
        { minutes: 12, perMinute: 40, errorRate: 0.6 },
      ],
      { seed: 1 },
    ),
    // A latency step an hour ago that recovered: a resolved incident.
    ...traffic(
      checkout,
      [
        { minutes: warm - 75, perMinute: 20 },
        { minutes: 20, perMinute: 20, latencyMs: 420 },
        { minutes: 55, perMinute: 20 },
      ],
      { seed: 2 },
    ),
    // Silent failures rising over the last half hour.
    ...traffic(
      invoices,
      [
        { minutes: warm - 30, perMinute: 25, latencyMs: 120 },
        { minutes: 30, perMinute: 25, latencyMs: 120, emptyRate: 0.15 },
      ],
      { seed: 3 },
    ),
    ...traffic(health, [{ minutes: warm, perMinute: 6, latencyMs: 15 }], { seed: 4 }),
  ];
  return records.sort((a, b) => Number(a.timestamp) - Number(b.timestamp));
}

/**
 * Posts the scenario in batches of 1,000 (`?sync=1`), then runs the hourly aggregation.
 * @param {string} baseUrl
 * @param {{ ingestKey?: string; adminKey?: string; hours?: number }} [options]
 */
export async function seed(baseUrl, { ingestKey = "dev-ingest-key", adminKey = "dev-admin-key", hours = 3 } = {}) {
  const records = scenario(hours);
  for (let i = 0; i < records.length; i += 1000) {
    const res = await fetch(`${baseUrl}/v1/logs?sync=1`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ingestKey}`, "Content-Type": "application/json" },
      body: JSON.stringify(records.slice(i, i + 1000)),
    });
    if (res.status !== 202) throw new Error(`POST /v1/logs: ${res.status} ${await res.text()}`);
  }
  const from = Date.now() - (hours + 1) * 60 * MINUTE;
  const agg = await fetch(`${baseUrl}/v1/control/aggregate?from=${from}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminKey}` },
  });
  if (!agg.ok) throw new Error(`POST /v1/control/aggregate: ${agg.status} ${await agg.text()}`);
  return { records: records.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  /** @type {(name: string, fallback: string) => string} */
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const url = arg("url", process.env.MONITOR_URL ?? "http://127.0.0.1:8787");
  const result = await seed(url, { hours: Number(arg("hours", "3")) });
  console.log(`seeded ${result.records} records into ${url}; open ${url}/ and enter the read key`);
}
