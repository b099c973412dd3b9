// @ts-check
// End-to-end: `MONITOR_SERVER=direct npm start` (Miniflare behind a Node front, no wrangler dev
// proxy; see scripts/serve-direct.mjs). Records reach D1, the crons run, and a client that keeps
// its connection idle past workerd's 5-second idle close can still send a POST on it (behind
// wrangler dev or workerd's own socket that POST can be lost). Only 127.0.0.1; bounded in time.
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { after, before, test } from "node:test";
import { startMonitor } from "./start-monitor.mjs";

/** @type {import("./start-monitor.mjs").Monitor} */
let monitor;
/** @type {string} */
let URL_BASE;

before(async () => {
  monitor = await startMonitor("direct", { server: "direct", crons: true, timeoutMs: 150_000 });
  URL_BASE = monitor.url;
});

after(() => monitor?.stop());

/**
 * One POST on `agent` (so on its kept-alive socket), resolving with the status and the socket used.
 * @param {Agent} agent
 * @param {unknown} body
 * @returns {Promise<{ status: number | undefined; socket: import("node:net").Socket | null }>}
 */
function post(agent, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${URL_BASE}/v1/logs`,
      {
        method: "POST",
        agent,
        headers: { Authorization: "Bearer dev-ingest-key", "Content-Type": "application/json" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, socket: req.socket }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

test("served directly: a POST on a connection idle for 6 s is answered, and records reach GET /v1/logs", async () => {
  assert.match(monitor.output(), /\[direct\] serving the worker at/);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const now = Date.now();
  const first = await post(agent, {
    id: "d-1",
    timestamp: now - 1000,
    service: "direct",
    method: "GET",
    path: "/a",
    status: 200,
    latency_ms: 5,
  });
  assert.equal(first.status, 202);
  await new Promise((r) => setTimeout(r, 6000));
  const second = await post(agent, {
    id: "d-2",
    timestamp: now - 500,
    service: "direct",
    method: "GET",
    path: "/a",
    status: 200,
    latency_ms: 6,
  });
  assert.equal(second.status, 202);
  assert.equal(second.socket, first.socket, "the second POST went out on the same kept-alive connection");
  agent.destroy();

  const deadline = Date.now() + 20_000;
  /** @type {unknown[]} */
  let logs = [];
  while (logs.length < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(`${URL_BASE}/v1/logs?service=direct`, {
      headers: { Authorization: "Bearer dev-read-key" },
    });
    logs = (await res.json()).logs ?? [];
  }
  assert.equal(logs.length, 2);
});

test("served directly: the crons run (aggregation and retention at start)", async () => {
  const deadline = Date.now() + 30_000;
  while (
    !(monitor.output().includes('"job":"aggregate"') && monitor.output().includes('"job":"prune"')) &&
    Date.now() < deadline
  )
    await new Promise((r) => setTimeout(r, 250));
  assert.match(monitor.output(), /"event":"job_done"[^\n]*"job":"aggregate"/);
  assert.match(monitor.output(), /"event":"job_done"[^\n]*"job":"prune"/);
});
