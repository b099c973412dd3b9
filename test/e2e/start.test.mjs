// End-to-end: `npm start` as a new user runs it (fresh local state), then a log sent with curl's
// equivalent shows up in GET /v1/logs. Node's test runner; only 127.0.0.1; bounded in time.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { childEnv } from "./child-env.mjs";



const PORT = 8700 + Math.floor(Math.random() * 80);
const URL_BASE = `http://127.0.0.1:${PORT}`;
const stateDir = mkdtempSync(join(tmpdir(), "edge-monitor-e2e-"));
let child;
let output = "";

before(async () => {
  child = spawn("npm", ["start"], {
    env: childEnv({ PORT: String(PORT), MONITOR_STATE_DIR: stateDir }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 90_000;
  while (!output.includes("edge-monitor is running at")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(() => {
  if (child && child.exitCode === null) process.kill(-child.pid, "SIGINT");
  rmSync(stateDir, { recursive: true, force: true });
});

test("npm start prints the URL and the development keys", () => {
  assert.match(output, new RegExp(`running at ${URL_BASE.replace(/\./g, "\\.")}`));
  assert.match(output, /ingest key: \S+/);
  assert.match(output, /read key: +\S+/);
  assert.match(output, /admin key: +\S+/);
});

test("migrations are applied and a log sent without ?sync reaches GET /v1/logs", async () => {
  const db = await fetch(`${URL_BASE}/health/db`);
  assert.equal(db.status, 200);
  const ingestKey = /ingest key: (\S+)/.exec(output)[1];
  const readKey = /read key: +(\S+)/.exec(output)[1];
  const res = await fetch(`${URL_BASE}/v1/logs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ingestKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ timestamp: Date.now(), service: "e2e", method: "GET", path: "/orders/42", status: 200, latency_ms: 12 }),
  });
  assert.equal(res.status, 202);
  const deadline = Date.now() + 15_000;
  let logs = [];
  while (logs.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const page = await fetch(`${URL_BASE}/v1/logs?service=e2e`, { headers: { Authorization: `Bearer ${readKey}` } });
    logs = (await page.json()).logs;
  }
  assert.equal(logs.length, 1);
  assert.equal(logs[0].route, "/orders/:id");
});

test("npm start fires the cron triggers locally: aggregation and retention have run, and summaries appear", async () => {
  const adminKey = /admin key: +(\S+)/.exec(output)[1];
  const readKey = /read key: +(\S+)/.exec(output)[1];
  const deadline = Date.now() + 30_000;
  let jobs = [];
  while (Date.now() < deadline) {
    const res = await fetch(`${URL_BASE}/v1/control/status`, { headers: { Authorization: `Bearer ${adminKey}` } });
    assert.equal(res.status, 200);
    jobs = (await res.json()).jobs;
    if (["aggregate", "prune"].every((job) => jobs.some((j) => j.job === job && j.runs >= 1 && j.last_error === null))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const job of ["aggregate", "prune"]) assert.ok(jobs.some((j) => j.job === job && j.runs >= 1 && j.last_error === null), `${job} ran: ${JSON.stringify(jobs)}`);
  // The log of the previous test is summarised by the next aggregation (run it now rather than wait 5 minutes).
  const run = await fetch(`${URL_BASE}/v1/control/aggregate`, { method: "POST", headers: { Authorization: `Bearer ${adminKey}` } });
  assert.equal(run.status, 200);
  const summaries = await fetch(`${URL_BASE}/v1/summaries?service=e2e`, { headers: { Authorization: `Bearer ${readKey}` } });
  const body = await summaries.json();
  assert.equal(body.summaries.length, 1);
  assert.equal(body.summaries[0].count, 1);
});
