// @ts-check
// End-to-end: `npm start` as a new user runs it (fresh local state), then a log sent with curl's
// equivalent shows up in GET /v1/logs. Node's test runner; only 127.0.0.1; bounded in time.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startMonitor } from "./start-monitor.mjs";

/** @type {import("./start-monitor.mjs").Monitor} */
let monitor;
/** @type {string} */
let URL_BASE;
/** @type {string} */
let stateDir;
let output = "";

before(async () => {
  monitor = await startMonitor("start", { crons: true });
  ({ url: URL_BASE, stateDir } = monitor);
  output = monitor.output();
});

after(() => monitor?.stop());

test("npm start prints the URL and the development keys", () => {
  assert.match(output, new RegExp(`running at ${URL_BASE.replace(/\./g, "\\.")}`));
  assert.match(output, /ingest key: \S+/);
  assert.match(output, /read key: +\S+/);
  assert.match(output, /admin key: +\S+/);
});

test("migrations are applied and a log sent without ?sync reaches GET /v1/logs", async () => {
  const db = await fetch(`${URL_BASE}/health/db`);
  assert.equal(db.status, 200);
  const ingestKey = /** @type {RegExpExecArray} */ (/ingest key: (\S+)/.exec(output))[1];
  const readKey = /** @type {RegExpExecArray} */ (/read key: +(\S+)/.exec(output))[1];
  const res = await fetch(`${URL_BASE}/v1/logs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ingestKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      timestamp: Date.now(),
      service: "e2e",
      method: "GET",
      path: "/orders/42",
      status: 200,
      latency_ms: 12,
    }),
  });
  assert.equal(res.status, 202);
  const deadline = Date.now() + 15_000;
  /** @type {{ route: string }[]} */
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
  const adminKey = /** @type {RegExpExecArray} */ (/admin key: +(\S+)/.exec(output))[1];
  const readKey = /** @type {RegExpExecArray} */ (/read key: +(\S+)/.exec(output))[1];
  const deadline = Date.now() + 30_000;
  /** @type {{ job: string; runs: number; last_error: string | null }[]} */
  let jobs = [];
  while (Date.now() < deadline) {
    const res = await fetch(`${URL_BASE}/v1/control/status`, { headers: { Authorization: `Bearer ${adminKey}` } });
    assert.equal(res.status, 200);
    jobs = (await res.json()).jobs;
    if (["aggregate", "prune"].every((job) => jobs.some((j) => j.job === job && j.runs >= 1 && j.last_error === null)))
      break;
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const job of ["aggregate", "prune"])
    assert.ok(
      jobs.some((j) => j.job === job && j.runs >= 1 && j.last_error === null),
      `${job} ran: ${JSON.stringify(jobs)}`,
    );
  // The log of the previous test is summarised by the next aggregation (run it now rather than wait 5 minutes).
  const run = await fetch(`${URL_BASE}/v1/control/aggregate`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminKey}` },
  });
  assert.equal(run.status, 200);
  const summaries = await fetch(`${URL_BASE}/v1/summaries?service=e2e`, {
    headers: { Authorization: `Bearer ${readKey}` },
  });
  const body = await summaries.json();
  assert.equal(body.summaries.length, 1);
  assert.equal(body.summaries[0].count, 1);
});

/** Whether `promtool` (Debian package prometheus; .ci/run installs it) is on PATH. */
const hasPromtool = spawnSync("promtool", ["--version"], { stdio: "ignore" }).error === undefined;

test("GET /metrics: 100 endpoints, valid for promtool check metrics, and the Grafana dashboard's queries parse and use exported series", async (t) => {
  const ingestKey = /** @type {RegExpExecArray} */ (/ingest key: (\S+)/.exec(output))[1];
  const readKey = /** @type {RegExpExecArray} */ (/read key: +(\S+)/.exec(output))[1];
  // 100 endpoints over 4 services plus a route with quotes and a backslash; each gets a record 4
  // minutes back and one now, which closes its minute: the object evaluates it and publishes.
  const past = Math.floor(Date.now() / 60_000) * 60_000 - 4 * 60_000;
  const routes = [
    ...Array.from({ length: 100 }, (_, i) => ({ service: `e2e-m${i % 4}`, route: `/metrics-${i}` })),
    { service: "e2e-m0", route: '/q/"quoted"/back\\slash' },
  ];
  const records = routes.flatMap(({ service, route }, i) => [
    {
      timestamp: past + i,
      service,
      method: "GET",
      path: "/x",
      route,
      status: i % 10 === 0 ? 503 : 200,
      latency_ms: 5 + i,
    },
    { timestamp: Date.now() - 1000, service, method: "GET", path: "/x", route, status: 200, latency_ms: 12.5 },
  ]);
  const res = await fetch(`${URL_BASE}/v1/logs?sync=1`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ingestKey}`, "Content-Type": "application/json" },
    body: JSON.stringify(records),
  });
  assert.equal(res.status, 202);
  assert.equal((await fetch(`${URL_BASE}/metrics`)).status, 401);

  const scrape = () => fetch(`${URL_BASE}/metrics`, { headers: { Authorization: `Bearer ${readKey}` } });
  const deadline = Date.now() + 30_000;
  let text = "";
  const exported = () =>
    text.split("\n").filter((l) => l.startsWith("edge_monitor_request_duration_seconds_count{") && l.endsWith(" 2"))
      .length;
  while (Date.now() < deadline) {
    const page = await scrape();
    assert.equal(page.status, 200);
    assert.match(/** @type {string} */ (page.headers.get("content-type")), /^text\/plain; version=0\.0\.4/);
    text = await page.text();
    if (exported() >= routes.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(exported(), routes.length, `every endpoint published its 2 requests:\n${text.slice(0, 2000)}`);
  assert.match(
    text,
    /edge_monitor_requests_total\{service="e2e-m0",method="GET",route="\/q\/\\"quoted\\"\/back\\\\slash",status_class="2xx"\} 1/,
  );

  const times = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    await (await scrape()).text();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  t.diagnostic(
    `GET /metrics with ${routes.length} endpoints (${text.length} bytes): median ${times[10].toFixed(1)} ms, max ${times[19].toFixed(1)} ms over 20 scrapes`,
  );

  // The dashboard: valid JSON with a Prometheus datasource input, and every series it charts is exported.
  const dashboard =
    /** @type {{ __inputs: { type: string; pluginId: string }[]; panels: { targets: { expr: string }[] }[] }} */ (
      JSON.parse(readFileSync(new URL("../../grafana/edge-monitor.json", import.meta.url), "utf8"))
    );
  assert.ok(dashboard.__inputs.some((i) => i.type === "datasource" && i.pluginId === "prometheus"));
  const exprs = dashboard.panels.flatMap((p) =>
    p.targets.map((target) => target.expr.replaceAll("$__rate_interval", "5m").replaceAll("$service", ".*")),
  );
  const names = new Set(
    text
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => /** @type {RegExpExecArray} */ (/^[a-z_]+/.exec(l))[0]),
  );
  for (const expr of exprs)
    for (const [name] of expr.matchAll(/edge_monitor_[a-z_]+/g))
      assert.ok(names.has(name), `${name} (in ${expr}) is exported`);

  if (!hasPromtool) {
    t.skip("promtool is not on PATH (Debian package prometheus; .ci/run installs it): output not checked");
    return;
  }
  const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
  // The dashboard's PromQL, as recording rules (JSON is YAML), through promtool's parser.
  const rules = join(stateDir, "grafana-rules.json");
  writeFileSync(
    rules,
    JSON.stringify({
      groups: [{ name: "grafana", rules: exprs.map((expr, i) => ({ record: `edge_monitor:grafana_${i}`, expr })) }],
    }),
  );
  const parsed = spawnSync("promtool", ["check", "rules", rules], { encoding: "utf8" });
  assert.equal(parsed.status, 0, `promtool check rules:\n${parsed.stdout}${parsed.stderr}`);
});
