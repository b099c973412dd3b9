// End-to-end for the client package (clients/js, `edge-monitor-client`): `npm pack` builds and
// packs it, the tarball is installed offline into a scratch app in a temp dir (ESM import and
// CJS require both load it), then real Express and Fastify apps using that installed copy report
// to `npm start` (fresh local state): the records arrive with the frameworks' route templates,
// redacted, each with its id. Last, the app's latency with the client pointed at a monitor that
// never answers, or answers after 2 s, against the same app without the client (p50/p95 printed).
// Only 127.0.0.1; bounded in time.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { freePort } from "../../bench/lib/server.mjs";
import { childEnv } from "./child-env.mjs";

const repo = join(dirname(fileURLToPath(import.meta.url)), "../..");
let PORT;
let URL_BASE;
const stateDir = mkdtempSync(join(tmpdir(), "edge-monitor-e2e-client-"));
const scratch = mkdtempSync(join(tmpdir(), "edge-monitor-client-app-"));
const closers = [];
let child;
let output = "";
let client; // the installed package, ESM entry points
let requireClient; // the installed package, CommonJS

before(async () => {
  // Pack (prepack builds) and install the tarball offline into a scratch app.
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", scratch], { cwd: join(repo, "clients/js"), encoding: "utf8", env: childEnv({}) });
  const tarball = join(scratch, packed.trim().split("\n").pop());
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch-app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: scratch, stdio: "pipe", env: childEnv({}) });
  const cjs = "const c = require('edge-monitor-client'); const e = require('edge-monitor-client/express'); if (typeof c.createClient !== 'function' || typeof e.expressMonitor !== 'function') process.exit(1)";
  execFileSync(process.execPath, ["-e", cjs], { cwd: scratch });
  const esm = "const c = await import('edge-monitor-client'); const f = await import('edge-monitor-client/fastify'); if (typeof c.createClient !== 'function' || typeof f.fastifyMonitor !== 'function') process.exit(1)";
  execFileSync(process.execPath, ["--input-type=module", "-e", esm], { cwd: scratch });
  requireClient = createRequire(join(scratch, "package.json"));
  const load = async (entry) => import(pathToFileURL(requireClient.resolve(entry).replace(/dist\/cjs\/(\w+)\.cjs$/, "dist/esm/$1.js")).href);
  client = { hono: await load("edge-monitor-client/hono"), core: await load("edge-monitor-client"), express: await load("edge-monitor-client/express"), node: await load("edge-monitor-client/node"), next: await load("edge-monitor-client/next") };

  PORT = await freePort();
  URL_BASE = `http://127.0.0.1:${PORT}`;
  // Its own inspector port too: wrangler's default 9229 may be taken by another dev server.
  child = spawn("npm", ["start", "--", "--inspector-port", String(await freePort())], {
    env: childEnv({ PORT: String(PORT), MONITOR_STATE_DIR: stateDir, MONITOR_CRONS: "off" }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 90_000;
  while (!/read key: +\S+/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(async () => {
  for (const close of closers) await close();
  if (child && child.exitCode === null) process.kill(-child.pid, "SIGINT");
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

/** Listens on a free loopback port; answers the base URL and registers the close. */
async function listen(server) {
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }));
  return `http://127.0.0.1:${server.address().port}`;
}

/** Polls GET /v1/logs for `service` until `n` logs are there (or 20 s). */
async function logsOf(service, readKey, n) {
  const deadline = Date.now() + 20_000;
  let logs = [];
  while (Date.now() < deadline) {
    const page = await fetch(`${URL_BASE}/v1/logs?service=${service}&limit=100`, { headers: { Authorization: `Bearer ${readKey}` } });
    assert.equal(page.status, 200);
    logs = (await page.json()).logs;
    if (logs.length >= n) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  return logs;
}

test("the packed tarball installs offline and carries ESM, CJS and types", () => {
  const pkgDir = dirname(requireClient.resolve("edge-monitor-client/package.json"));
  for (const f of ["dist/esm/express.js", "dist/cjs/fastify.cjs", "dist/types/clients/js/src/index.d.ts", "dist/types/clients/js/src/hono.d.ts"]) {
    assert.ok(existsSync(join(pkgDir, f)), f);
  }
  assert.ok(!existsSync(join(scratch, "node_modules/hono")), "no runtime dependency installed with it");
  assert.deepEqual(readdirSync(join(scratch, "node_modules")).filter((n) => !n.startsWith(".")), ["edge-monitor-client"]);
});

test("Express, Fastify, Node http, Hono and a Next.js route handler report with their route templates", async () => {
  const ingestKey = /ingest key: (\S+)/.exec(output)[1];
  const readKey = /read key: +(\S+)/.exec(output)[1];
  const options = (service) => ({ endpoint: `${URL_BASE}/v1/logs`, service, ingestKey });

  // Express: the three lines of README (import, expressMonitor(options), app.use), with a nested router.
  const app = express();
  const monitor = client.express.expressMonitor(options("e2e-express"));
  app.use(monitor);
  const expressClient = monitor.client;
  app.get("/orders/:id", (req, res) => res.json({ id: req.params.id }));
  const router = express.Router();
  router.get("/users/:userId/items/:itemId", (req, res) => res.status(201).send("made"));
  app.use("/api/v1", router);
  app.get("/boom", () => {
    throw new Error("kaput");
  });
  const expressUrl = await listen(createServer(app));
  assert.equal((await fetch(`${expressUrl}/orders/42?token=s3cr3t-value`)).status, 200);
  assert.equal((await fetch(`${expressUrl}/api/v1/users/7/items/abc`)).status, 201);
  assert.equal((await fetch(`${expressUrl}/boom`)).status, 500);
  assert.equal((await fetch(`${expressUrl}/nothing/here`)).status, 404);
  await expressClient.flush();
  const logs = await logsOf("e2e-express", readKey, 4);
  const byPath = Object.fromEntries(logs.map((l) => [l.path, l]));
  assert.equal(byPath["/orders/42?token=[redacted]"]?.route, "/orders/:id", JSON.stringify(logs));
  assert.equal(byPath["/api/v1/users/7/items/abc"]?.route, "/api/v1/users/:userId/items/:itemId");
  assert.equal(byPath["/api/v1/users/7/items/abc"]?.status, 201);
  assert.equal(byPath["/boom"]?.route, "/boom");
  assert.equal(byPath["/boom"]?.status, 500);
  assert.equal(byPath["/nothing/here"]?.status, 404);
  for (const l of logs) assert.match(l.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(expressClient.stats(), { recorded: 4, sent: 4, failed: 0, rejected: 0, dropped: 0, retries: 0, queued: 0 });

  // Fastify, through the CommonJS build, with options instead of a client.
  const { fastifyMonitor } = requireClient("edge-monitor-client/fastify");
  const fastify = Fastify();
  await fastify.register(fastifyMonitor({ ...options("e2e-fastify"), flushMs: 100 }));
  fastify.get("/widgets/:id", async (request) => ({ id: request.params.id }));
  fastify.post("/widgets/:id/parts/:part", async (_request, reply) => reply.code(202).send({ ok: true }));
  await fastify.listen({ port: 0, host: "127.0.0.1" });
  closers.push(() => fastify.close());
  const fastifyUrl = `http://127.0.0.1:${fastify.server.address().port}`;
  assert.equal((await fetch(`${fastifyUrl}/widgets/9f86d081884c7d65`)).status, 200);
  assert.equal((await fetch(`${fastifyUrl}/widgets/w1/parts/p2`, { method: "POST" })).status, 202);
  const flogs = await logsOf("e2e-fastify", readKey, 2);
  assert.deepEqual(flogs.map((l) => [l.method, l.route, l.status]).sort(), [["GET", "/widgets/:id", 200], ["POST", "/widgets/:id/parts/:part", 202]]);

  // Node http: the monitor's own templating of the path.
  const nodeClient = client.core.createClient(options("e2e-node"));
  const nodeUrl = await listen(createServer(client.node.withMonitor(nodeClient, (req, res) => res.end("ok"))));
  await fetch(`${nodeUrl}/accounts/123/invoices/550e8400-e29b-41d4-a716-446655440000`);
  await nodeClient.flush();
  const nlogs = await logsOf("e2e-node", readKey, 1);
  assert.equal(nlogs[0]?.route, "/accounts/:id/invoices/:id");

  // Hono (the middleware moved from src/middleware), outside Workers: sent as each request ends.
  const hono = new Hono();
  const honoMonitor = client.hono.monitor({ ...options("e2e-hono"), flushMs: 0 });
  hono.use(honoMonitor);
  hono.get("/things/:thingId", (c) => c.json({ id: c.req.param("thingId") }));
  assert.equal((await hono.request("/things/5")).status, 200);
  const hlogs = await logsOf("e2e-hono", readKey, 1);
  assert.equal(hlogs[0]?.route, "/things/:thingId");
  assert.match(hlogs[0]?.id ?? "", /^[0-9a-f-]{36}$/);

  // A Next.js route handler, called as Next calls it.
  const nextClient = client.core.createClient(options("e2e-next"));
  const GET = client.next.withMonitor(nextClient, "/api/(shop)/orders/[id]", async (_req, ctx) => Response.json({ id: (await ctx.params).id }));
  const res = await GET(new Request("http://localhost/api/orders/17"), { params: Promise.resolve({ id: "17" }) });
  assert.deepEqual(await res.json(), { id: "17" });
  await nextClient.flush();
  const xlogs = await logsOf("e2e-next", readKey, 1);
  assert.equal(xlogs[0]?.route, "/api/orders/:id");
});

/** Percentile of sorted numbers. */
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

test("the app's latency is unchanged when the monitor never answers or answers after 2 s", async (t) => {
  const ingestKey = /ingest key: (\S+)/.exec(output)[1];
  // Two stand-in monitors: one accepts connections and never answers, one answers after 2 s.
  const hang = await listen(createServer(() => {}));
  const slow = await listen(createServer((req, res) => {
    req.resume();
    setTimeout(() => res.writeHead(202, { "Content-Type": "application/json" }).end('{"accepted":1,"rejected":[]}'), 2_000);
  }));
  const handler = (req, res) => res.json({ id: req.params.id, items: [1, 2, 3] });
  const apps = {};
  const clients = {};
  for (const [name, endpoint] of [["without client", null], ["monitor hangs", `${hang}/v1/logs`], ["monitor 2 s slow", `${slow}/v1/logs`], ["monitor up", `${URL_BASE}/v1/logs`], ["without client (2)", null]]) {
    const app = express();
    if (endpoint) {
      clients[name] = client.core.createClient({ endpoint, service: "e2e-latency", ingestKey, batchSize: 20, flushMs: 200, timeoutMs: 5_000 });
      app.use(client.express.expressMonitor(clients[name]));
    }
    app.get("/orders/:id", handler);
    apps[name] = await listen(createServer(app));
  }
  // Round robin over the apps, so that the machine's noise falls on all of them alike.
  const samples = Object.fromEntries(Object.keys(apps).map((n) => [n, []]));
  const ROUNDS = 400;
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, url] of Object.entries(apps)) {
      const started = performance.now();
      const res = await fetch(`${url}/orders/${i}`);
      await res.arrayBuffer();
      samples[name].push(performance.now() - started);
      assert.equal(res.status, 200);
    }
  }
  const summary = {};
  for (const [name, list] of Object.entries(samples)) {
    const sorted = list.slice(50).sort((a, b) => a - b); // the first rounds warm up
    summary[name] = { p50_ms: +pct(sorted, 50).toFixed(3), p95_ms: +pct(sorted, 95).toFixed(3) };
  }
  t.diagnostic(`app latency over ${ROUNDS - 50} requests each: ${JSON.stringify(summary)}`);
  console.log(JSON.stringify({ event: "client_latency", requests: ROUNDS - 50, summary }));
  // The noise floor: the worse of two identical apps without the client. A client that waited on
  // the monitor would add 2 s (or hang) to every request; these bounds leave room for a loaded machine.
  const floor = (k) => Math.max(summary["without client"][k], summary["without client (2)"][k]);
  for (const name of ["monitor hangs", "monitor 2 s slow", "monitor up"]) {
    assert.ok(summary[name].p50_ms <= floor("p50_ms") * 1.5 + 2, `${name}: p50 ${summary[name].p50_ms} ms vs ${floor("p50_ms")} ms`);
    assert.ok(summary[name].p95_ms <= floor("p95_ms") * 2 + 5, `${name}: p95 ${summary[name].p95_ms} ms vs ${floor("p95_ms")} ms`);
  }
  // Every request was recorded; none of the failures reached the app.
  for (const c of Object.values(clients)) assert.equal(c.stats().recorded, ROUNDS);
  await Promise.all(Object.values(clients).map((c) => c.shutdown(3_000)));
  assert.equal(clients["monitor up"].stats().sent, ROUNDS);
  assert.ok(clients["monitor hangs"].stats().sent === 0);
});
