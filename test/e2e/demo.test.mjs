// @ts-check
// End-to-end: `npm run demo` as a new user runs it, on free ports and a temp state folder with a
// short live phase: it prints the dashboard URL and keys, the monitor holds the demo endpoints
// and an open incident with its explanation, live traffic reaches the proxy, and Ctrl-C (SIGINT
// to the process group, as a terminal sends it) stops every process it started and frees the
// ports. Only 127.0.0.1; bounded to about two minutes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort } from "../../bench/lib/server.mjs";
import { groupMembers, portFree, signalGroup } from "../../sim/processes.mjs";
import { startNpm } from "./start-monitor.mjs";

const stateDir = mkdtempSync(join(tmpdir(), "edge-monitor-demo-"));
/** @type {number} */
let PORT;
/** @type {number} */
let ORIGIN_PORT;
/** @type {string} */
let base;
/** @type {Awaited<ReturnType<typeof startNpm>>} */
let demo;
/** @type {Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null} */
let exited = null;
const output = () => demo?.output() ?? "";
/** @param {RegExp} pattern */
const field = (pattern) => pattern.exec(output())?.[1];

before(
  async () => {
    PORT = await freePort();
    ORIGIN_PORT = await freePort();
    base = `http://127.0.0.1:${PORT}`;
    demo = await startNpm(["run", "demo"], {
      env: {
        PORT: String(PORT),
        DEMO_ORIGIN_PORT: String(ORIGIN_PORT),
        MONITOR_STATE_DIR: stateDir,
        DEMO_LIVE: "short",
      },
      ready: (text) => /dashboard: +http/.test(text) && /processes: /.test(text),
      timeoutMs: 240_000,
    });
    const { child } = demo;
    exited =
      child.exitCode !== null
        ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
        : /** @type {typeof exited} */ (
            new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })))
          );
  },
  { timeout: 250_000 },
);

after(() => {
  // Whatever a failed test left behind: every group the demo reported, then its own.
  for (const pgid of [field(/monitor group (\d+)/), field(/origin group (\d+)/), demo?.child.pid])
    if (pgid) signalGroup(Number(pgid), "SIGKILL");
  rmSync(stateDir, { recursive: true, force: true });
});

/** @param {string} path */
const read = (path) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${field(/read key: +(\S+)/)}` } });

test("npm run demo prints the dashboard URL, the keys and the processes it started", () => {
  assert.equal(field(/dashboard: +(\S+)/), `${base}/`);
  for (const key of ["ingest", "read", "admin"]) assert.match(output(), new RegExp(`${key} key: +\\S+`));
  assert.match(output(), /wrote [\d,]+ records of history/);
  assert.match(output(), /monitor group \d+, origin group \d+/);
});

test(
  "the monitor shows the demo endpoints and an open incident with its explanation",
  { timeout: 30_000 },
  async () => {
    // Incidents reach D1 when the endpoint object publishes (its alarm): poll for a while.
    /** @type {{ id: string; method: string; route: string; explanation: string; signals: unknown[] }[]} */
    let incidents = [];
    for (const deadline = Date.now() + 25_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      incidents = (await (await read("/v1/incidents?status=open&service=demo")).json()).incidents;
      if (incidents.some((i) => i.method === "POST" && i.route === "/checkout")) break;
    }
    assert.ok(incidents.length >= 1, `an open incident: ${JSON.stringify(incidents)}`);
    const checkout = incidents.find((i) => i.method === "POST" && i.route === "/checkout");
    assert.ok(checkout, "the checkout error creep opened an incident");
    assert.match(checkout.explanation, /5xx rate of POST \/checkout/);
    assert.ok(checkout.signals.length > 0);
    assert.match(output(), new RegExp(`#/incidents/${checkout.id}`));

    /** @type {{ method: string; route: string; figures: { requests_per_minute: number } }[]} */
    const endpoints = (await (await read("/v1/endpoints?service=demo")).json()).endpoints;
    assert.deepEqual(endpoints.map((e) => `${e.method} ${e.route}`).sort(), [
      "GET /items",
      "GET /items/:id",
      "GET /search",
      "POST /checkout",
    ]);
    assert.ok(endpoints.every((e) => e.figures.requests_per_minute > 0));
    // 24 hours of history: the hour windows of an endpoint span the day.
    /** @type {{ series: { hours: { count: number }[] } }} */
    const detail = await (await read(`/v1/endpoints/demo/GET/${encodeURIComponent("/items")}`)).json();
    const hours = detail.series.hours.filter((h) => h.count > 0);
    assert.ok(hours.length >= 24, `hours with traffic: ${hours.length}`);
  },
);

test("live traffic flows through the proxy to the demo origin", { timeout: 30_000 }, async () => {
  const deadline = Date.now() + 25_000;
  /** @type {{ source: string; route: string }[]} */
  let proxied = [];
  while (proxied.length === 0 && Date.now() < deadline) {
    /** @type {{ source: string; route: string }[]} */
    const logs = (await (await read("/v1/logs?service=demo&limit=200")).json()).logs;
    proxied = logs.filter((l) => l.source === "proxy");
    if (proxied.length === 0) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(proxied.length > 0, "a proxied request was recorded");
  assert.ok(proxied.every((l) => ["/items", "/items/:id", "/search", "/checkout"].includes(l.route)));
});

test("Ctrl-C stops every process the demo started and frees the ports", { timeout: 45_000 }, async () => {
  const groups = [
    Number(field(/monitor group (\d+)/)),
    Number(field(/origin group (\d+)/)),
    /** @type {number} */ (demo.child.pid),
  ];
  assert.ok(
    groups.every((g) => groupMembers(g).length > 0),
    "all running before",
  );
  process.kill(-(/** @type {number} */ (demo.child.pid)), "SIGINT");
  const result = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 30_000))]);
  assert.notEqual(result, "timeout", `npm run demo exited:\n${output().slice(-2000)}`);
  assert.match(output(), /stopped \(process groups/);
  for (const pgid of groups) assert.deepEqual(groupMembers(pgid), [], `process group ${pgid} is empty`);
  assert.ok(await portFree(PORT), `port ${PORT} is free`);
  assert.ok(await portFree(ORIGIN_PORT), `port ${ORIGIN_PORT} is free`);
});
