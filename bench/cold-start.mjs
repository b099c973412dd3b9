// @ts-check
/**
 * Cold start (`npm run bench:cold-start`): starts the monitor with `npm start` through
 * test/e2e/start-monitor.mjs (a free port on 127.0.0.1, a fresh temp state dir, no crons, no
 * inspector) --runs times, one after the other, and reports
 * for each run the time from spawn to "edge-monitor is running" (bundle build, migrations,
 * workerd start) and the time of the first GET /health after that, then the median of each.
 * Loopback only; each run is stopped before the next starts.
 *
 * Usage: node bench/cold-start.mjs [--runs 3]
 */
import { parseArgs } from "node:util";
import { startMonitor } from "../test/e2e/start-monitor.mjs";

/** One run: spawn to ready (test/e2e/start-monitor.mjs stamps it as the output arrives), then the first GET /health, in milliseconds. */
async function oneRun() {
  const monitor = await startMonitor("cold", {
    inspector: false,
    env: { HOST: "127.0.0.1", NO_COLOR: "1", FORCE_COLOR: "0" },
    maxOutput: 1_000_000,
    timeoutMs: 180_000,
  });
  try {
    const t0 = performance.now();
    const res = await fetch(`${monitor.url}/health`);
    await res.arrayBuffer();
    const firstMs = performance.now() - t0;
    if (res.status !== 200) throw new Error(`GET /health answered ${res.status}`);
    return { ready_ms: Math.round(monitor.readyMs), first_health_ms: Math.round(firstMs * 10) / 10 };
  } finally {
    // Ends the process group, waits until it is gone, removes the state folder.
    await monitor.stop();
  }
}

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Math.max(1, Math.min(20, Number(values.runs) || 3));
const results = [];
for (let i = 0; i < runs; i++) {
  const r = await oneRun();
  console.log(`run ${i + 1}: ready ${r.ready_ms} ms, first GET /health ${r.first_health_ms} ms`);
  results.push(r);
}
console.log(
  JSON.stringify({
    runs,
    median_ready_ms: median(results.map((r) => r.ready_ms)),
    median_first_health_ms: median(results.map((r) => r.first_health_ms)),
    results,
  }),
);
