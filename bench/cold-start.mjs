// @ts-check
/**
 * Cold start (`npm run bench:cold-start`): starts the monitor with `npm start` (a free port on
 * 127.0.0.1, a fresh temp state dir, no crons) --runs times, one after the other, and reports
 * for each run the time from spawn to "edge-monitor is running" (bundle build, migrations,
 * workerd start) and the time of the first GET /health after that, then the median of each.
 * Loopback only; each run is stopped before the next starts.
 *
 * Usage: node bench/cold-start.mjs [--runs 3]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort } from "./lib/server.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @param {number | undefined} pgid
 * @param {NodeJS.Signals | number} signal
 */
function signalGroup(pgid, signal) {
  try {
    // An unknown pid (undefined) makes NaN: process.kill throws and the group counts as gone.
    process.kill(-(/** @type {number} */ (pgid)), signal);
    return true;
  } catch {
    return false;
  }
}

/** One run: spawn to ready, then the first GET /health, in milliseconds. */
async function oneRun() {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "edge-monitor-cold-"));
  let output = "";
  const spawnedAt = performance.now();
  const server = spawn("npm", ["start"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      MONITOR_STATE_DIR: stateDir,
      MONITOR_CRONS: "off",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const onData = (/** @type {Buffer | string} */ d) => {
    if (output.length < 1_000_000) output += d;
  };
  server.stdout.on("data", onData);
  server.stderr.on("data", onData);
  const cleanup = () => {
    signalGroup(server.pid, "SIGKILL");
    rmSync(stateDir, { recursive: true, force: true, maxRetries: 3 });
  };
  process.on("exit", cleanup);
  try {
    while (!output.includes("edge-monitor is running at")) {
      if (server.exitCode !== null) throw new Error(`npm start exited (${server.exitCode}):\n${output.slice(-2000)}`);
      if (performance.now() - spawnedAt > 180_000) throw new Error("the monitor did not start within 180 s");
      await sleep(20);
    }
    const readyMs = performance.now() - spawnedAt;
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    await res.arrayBuffer();
    const firstMs = performance.now() - t0;
    if (res.status !== 200) throw new Error(`GET /health answered ${res.status}`);
    return { ready_ms: Math.round(readyMs), first_health_ms: Math.round(firstMs * 10) / 10 };
  } finally {
    signalGroup(server.pid, "SIGTERM");
    for (let i = 0; i < 50 && signalGroup(server.pid, 0); i++) await sleep(100);
    cleanup();
    process.off("exit", cleanup);
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
