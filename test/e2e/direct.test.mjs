// End-to-end: `MONITOR_SERVER=direct npm start` (Miniflare behind a Node front, no wrangler dev
// proxy; see scripts/serve-direct.mjs). Records reach D1, the crons run, and a client that keeps
// its connection idle past workerd's 5-second idle close can still send a POST on it (behind
// wrangler dev or workerd's own socket that POST can be lost). Only 127.0.0.1; bounded in time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { childEnv } from "./child-env.mjs";

const PORT = 8620 + Math.floor(Math.random() * 60);
const URL_BASE = `http://127.0.0.1:${PORT}`;
const stateDir = mkdtempSync(join(tmpdir(), "edge-monitor-e2e-direct-"));
let child;
let output = "";

before(async () => {
  child = spawn("npm", ["start"], {
    env: childEnv({ PORT: String(PORT), MONITOR_STATE_DIR: stateDir, MONITOR_SERVER: "direct" }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 150_000;
  while (!output.includes("edge-monitor is running at")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(() => {
  if (child && child.exitCode === null) process.kill(-child.pid, "SIGINT");
  rmSync(stateDir, { recursive: true, force: true });
});

/** One POST on `agent` (so on its kept-alive socket), resolving with the status and the socket used. */
function post(agent, body) {
  return new Promise((resolve, reject) => {
    const req = request(`${URL_BASE}/v1/logs`, { method: "POST", agent, headers: { Authorization: "Bearer dev-ingest-key", "Content-Type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, socket: req.socket }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

test("served directly: a POST on a connection idle for 6 s is answered, and records reach GET /v1/logs", async () => {
  assert.match(output, /\[direct\] serving the worker at/);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const now = Date.now();
  const first = await post(agent, { id: "d-1", timestamp: now - 1000, service: "direct", method: "GET", path: "/a", status: 200, latency_ms: 5 });
  assert.equal(first.status, 202);
  await new Promise((r) => setTimeout(r, 6000));
  const second = await post(agent, { id: "d-2", timestamp: now - 500, service: "direct", method: "GET", path: "/a", status: 200, latency_ms: 6 });
  assert.equal(second.status, 202);
  assert.equal(second.socket, first.socket, "the second POST went out on the same kept-alive connection");
  agent.destroy();

  const deadline = Date.now() + 20_000;
  let logs = [];
  while (logs.length < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`${URL_BASE}/v1/logs?service=direct`, { headers: { Authorization: "Bearer dev-read-key" } });
    logs = (await res.json()).logs ?? [];
  }
  assert.equal(logs.length, 2);
});

test("served directly: the crons run (aggregation and retention at start)", async () => {
  const deadline = Date.now() + 30_000;
  while (!(output.includes('"job":"aggregate"') && output.includes('"job":"prune"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.match(output, /"event":"job_done"[^\n]*"job":"aggregate"/);
  assert.match(output, /"event":"job_done"[^\n]*"job":"prune"/);
});
