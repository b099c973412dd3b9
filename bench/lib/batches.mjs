// @ts-check
/**
 * Phase C: batched ingest with `?sync=1`, so that each 202 means the records are committed in
 * the endpoint Durable Objects, then polling the endpoints' counters until every record has
 * been flushed to D1. Two rates come out: records/s into Durable Object storage, and
 * end-to-end records/s from the first batch sent to the last record committed in D1.
 */
import { KEYS } from "./server.mjs";

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
const POLL_MS = 100;

/**
 * The pre-built JSON bodies: unique ids, records spread round-robin over `routes` routes.
 * @param {{ service: string, runId: string, batches: number, batchSize: number, routes: number }} opts
 */
function buildBodies({ service, runId, batches, batchSize, routes }) {
  const now = Date.now();
  const bodies = [];
  for (let b = 0; b < batches; b++) {
    const records = [];
    for (let i = 0; i < batchSize; i++) {
      const n = b * batchSize + i;
      records.push({
        id: `${runId}-${b}-${i}`,
        timestamp: now - (n % 1000),
        service,
        method: "GET",
        path: `/r${n % routes}/items`,
        status: n % 97 === 0 ? 503 : 200,
        latency_ms: 5 + (n % 250) / 10,
        response_bytes: 512,
      });
    }
    bodies.push(JSON.stringify(records));
  }
  return bodies;
}

/**
 * Sums the counters of every endpoint of the run, read from `GET /v1/endpoints/...`.
 * @param {import("./load.mjs").Client} client
 * @param {string} service
 * @param {string[]} routeList
 */
async function endpointTotals(client, service, routeList) {
  const all = await Promise.all(
    routeList.map(async (route) => {
      const res = await client.request({
        path: `/v1/endpoints/${service}/GET/${encodeURIComponent(route)}`,
        headers: { Authorization: `Bearer ${KEYS.READ_KEY}` },
      });
      if (res.status !== 200)
        throw new Error(`GET /v1/endpoints for ${route}: ${res.status} ${res.text.slice(0, 200)}`);
      return JSON.parse(res.text);
    }),
  );
  const sum = (/** @type {string} */ k) => all.reduce((s, e) => s + (e[k] ?? 0), 0);
  return {
    received: sum("received"),
    flushed: sum("flushed"),
    backlog: sum("backlog"),
    duplicates: sum("duplicates"),
    flush_failures: sum("flush_failures"),
    failing_endpoints: all.filter((e) => e.consecutive_flush_failures > 0).length,
  };
}

/**
 * @typedef {object} BatchOptions
 * @property {string} runId
 * @property {number} batches
 * @property {number} batchSize
 * @property {number} concurrency
 * @property {number} routes
 * @property {number} flushTimeoutMs
 * @property {number} stallMs
 * @property {(line: string) => void} progress
 */

/**
 * Sends the batches, then waits for D1; see the module comment.
 * @param {import("./load.mjs").Client} client
 * @param {BatchOptions} opts
 */
export async function runBatches(client, opts) {
  const { runId, batches, batchSize, concurrency, routes, flushTimeoutMs, stallMs, progress } = opts;
  const service = `bench-batch-${runId}`;
  const routeList = Array.from({ length: Math.min(routes, batches * batchSize) }, (_, k) => `/r${k}/items`);
  const bodies = buildBodies({ service, runId, batches, batchSize, routes });

  let next = 0;
  let stored = 0;
  let duplicates = 0;
  /** @type {Record<string, number>} */
  const failures = {};
  /** @type {number[]} */
  const latencies = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const started = performance.now();
        try {
          const res = await client.request({
            method: "POST",
            path: "/v1/logs?sync=1",
            headers: { Authorization: `Bearer ${KEYS.INGEST_KEYS}`, "Content-Type": "application/json" },
            body,
            timeoutMs: 60_000,
          });
          if (res.status === 202) {
            const parsed = JSON.parse(res.text);
            stored += parsed.stored;
            duplicates += parsed.duplicates;
            latencies.push(performance.now() - started);
          } else {
            const key = `${res.status} ${res.text.slice(0, 160)}`;
            failures[key] = (failures[key] ?? 0) + 1;
          }
        } catch (err) {
          const key = err instanceof Error ? err.message : String(err);
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }
    }),
  );
  const storeSeconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const sent = batches * batchSize;
  progress(`  stored ${stored}/${sent} records in ${storeSeconds.toFixed(2)} s; waiting for D1 ...`);

  // Poll until every stored record is flushed, a stall with flush failures, or the timeout.
  let totals = await endpointTotals(client, service, routeList);
  let lastProgressAt = performance.now();
  let lastFlushed = totals.flushed;
  let lastPrint = performance.now();
  let outcome = "flushed";
  while (totals.flushed < stored) {
    const now = performance.now();
    if (totals.flushed > lastFlushed) {
      lastFlushed = totals.flushed;
      lastProgressAt = now;
    }
    if (now - t0 > flushTimeoutMs) {
      outcome = `timeout: ${totals.flushed}/${stored} flushed after ${Math.round(flushTimeoutMs / 1000)} s`;
      break;
    }
    if (totals.failing_endpoints > 0 && now - lastProgressAt > stallMs) {
      outcome = `stalled: no D1 progress for ${Math.round(stallMs / 1000)} s, ${totals.failing_endpoints} endpoint(s) failing to flush`;
      break;
    }
    if (now - lastPrint > 2_000) {
      lastPrint = now;
      progress(
        `  D1: ${totals.flushed}/${stored} flushed, backlog ${totals.backlog}, flush failures ${totals.flush_failures}`,
      );
    }
    await sleep(POLL_MS);
    totals = await endpointTotals(client, service, routeList);
  }
  const e2eSeconds = (performance.now() - t0) / 1000;

  const logs = await client.request({
    path: `/v1/logs?service=${encodeURIComponent(service)}&limit=1`,
    headers: { Authorization: `Bearer ${KEYS.READ_KEY}` },
  });
  const logsFound = logs.status === 200 ? JSON.parse(logs.text).logs.length : 0;

  const round = (/** @type {number} */ v) => Math.round(v * 100) / 100;
  return {
    service,
    endpoints: routeList.length,
    batches,
    batch_size: batchSize,
    concurrency,
    records_sent: sent,
    records_stored: stored,
    duplicates,
    failed_batches: failures,
    store_seconds: round(storeSeconds),
    store_records_per_s: Math.round(stored / storeSeconds),
    batch_latency_ms: {
      p50: round(latencies[Math.floor(latencies.length * 0.5)] ?? 0),
      p99: round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
    },
    d1: {
      outcome,
      complete: outcome === "flushed",
      e2e_seconds: round(e2eSeconds),
      e2e_records_per_s: outcome === "flushed" ? Math.round(stored / e2eSeconds) : null,
      counters: totals,
      logs_query_status: logs.status,
      logs_found: logsFound,
    },
  };
}
