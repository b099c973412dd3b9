// @ts-check
// End-to-end for the client package (clients/js, `edge-monitor-client`): `npm pack` builds and
// packs it, the tarball is installed offline into a scratch app in a temp dir (ESM import and
// CJS require both load it), then real Express and Fastify apps using that installed copy report
// to `npm start` (fresh local state): the records arrive with the frameworks' route templates,
// redacted by the monitor's own rules, each with its id; records the monitor refuses are counted,
// not retried. The root package's old export `edge-monitor/hono` still bundles (now the client's
// middleware). Last, the app's latency with the client pointed at a monitor that refuses
// connections, never answers, answers after 2 s or is up, against the same app without the
// client (p50/p95 printed: docs/clients.md, "Client package"). Only 127.0.0.1; bounded in time.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { freePort } from "../../bench/lib/server.mjs";
import { childEnv } from "./child-env.mjs";
import { startMonitor } from "./start-monitor.mjs";

const JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const repo = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** @typedef {import("../../clients/js/test/entries.js").MonitorClient} MonitorClient */
/**
 * A log as GET /v1/logs answers it (the fields these tests read).
 * @typedef {{ path: string, route?: string, method: string, status: number, id: string }} Log
 */
/** @type {string} */
let URL_BASE;
/** @type {import("./start-monitor.mjs").Monitor | undefined} */
let started; // npm start
/** @type {string} */
let ingestKey;
/** @type {string} */
let readKey;
const scratch = mkdtempSync(join(tmpdir(), "edge-monitor-client-app-"));
/** @type {(() => Promise<unknown>)[]} */
const closers = [];
/**
 * @type {{
 *   hono: import("../../clients/js/test/entries.js").Hono,
 *   core: import("../../clients/js/test/entries.js").Index,
 *   express: import("../../clients/js/test/entries.js").Express,
 *   node: import("../../clients/js/test/entries.js").Node,
 *   next: import("../../clients/js/test/entries.js").Next,
 * }}
 */
let client; // the installed package, ESM entry points
/** @type {NodeJS.Require} */
let requireClient; // the installed package, CommonJS

before(async () => {
  // Pack (prepack builds) and install the tarball offline into a scratch app.
  const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", scratch], {
    cwd: join(repo, "clients/js"),
    encoding: "utf8",
    env: childEnv({}),
  });
  const tarball = join(scratch, /** @type {string} */ (packed.trim().split("\n").pop()));
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch-app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], {
    cwd: scratch,
    stdio: "pipe",
    env: childEnv({}),
  });
  const cjs =
    "const c = require('edge-monitor-client'); const e = require('edge-monitor-client/express'); if (typeof c.createClient !== 'function' || typeof e.expressMonitor !== 'function') process.exit(1)";
  execFileSync(process.execPath, ["-e", cjs], { cwd: scratch });
  const esm =
    "const c = await import('edge-monitor-client'); const f = await import('edge-monitor-client/fastify'); if (typeof c.createClient !== 'function' || typeof f.fastifyMonitor !== 'function') process.exit(1)";
  execFileSync(process.execPath, ["--input-type=module", "-e", esm], { cwd: scratch });
  requireClient = createRequire(join(scratch, "package.json"));
  /** @param {string} entry */
  const load = async (entry) =>
    import(pathToFileURL(requireClient.resolve(entry).replace(/dist\/cjs\/(\w+)\.cjs$/, "dist/esm/$1.js")).href);
  client = {
    hono: await load("edge-monitor-client/hono"),
    core: await load("edge-monitor-client"),
    express: await load("edge-monitor-client/express"),
    node: await load("edge-monitor-client/node"),
    next: await load("edge-monitor-client/next"),
  };

  const monitor = await startMonitor("client");
  started = monitor;
  URL_BASE = monitor.url;
  ingestKey = /** @type {string} */ (monitor.ingestKey);
  readKey = /** @type {string} */ (monitor.readKey);
});

after(async () => {
  for (const close of closers) await close();
  await started?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * Listens on a free loopback port; answers the base URL and registers the close.
 * @param {import("node:http").Server} server
 */
async function listen(server) {
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, "127.0.0.1", r)));
  closers.push(
    () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r(undefined));
      }),
  );
  return `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`;
}

/**
 * Polls GET /v1/logs for `service` until `n` logs are there (or 20 s).
 * @param {string} service
 * @param {string} readKey
 * @param {number} n
 * @returns {Promise<Log[]>}
 */
async function logsOf(service, readKey, n) {
  const deadline = Date.now() + 20_000;
  /** @type {Log[]} */
  let logs = [];
  while (Date.now() < deadline) {
    const page = await fetch(`${URL_BASE}/v1/logs?service=${service}&limit=100`, {
      headers: { Authorization: `Bearer ${readKey}` },
    });
    assert.equal(page.status, 200);
    logs = (await page.json()).logs;
    if (logs.length >= n) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  return logs;
}

test("the packed tarball installs offline and carries ESM, CJS and types", () => {
  const pkgDir = dirname(requireClient.resolve("edge-monitor-client/package.json"));
  for (const f of [
    "dist/esm/express.js",
    "dist/cjs/fastify.cjs",
    "dist/types/clients/js/src/index.d.ts",
    "dist/types/clients/js/src/hono.d.ts",
  ]) {
    assert.ok(existsSync(join(pkgDir, f)), f);
  }
  assert.ok(!existsSync(join(scratch, "node_modules/hono")), "no runtime dependency installed with it");
  assert.deepEqual(
    readdirSync(join(scratch, "node_modules")).filter((n) => !n.startsWith(".")),
    ["edge-monitor-client"],
  );
});

test("Express, Fastify, Node http, Hono and a Next.js route handler report with their route templates", async () => {
  /** @param {string} service */
  const options = (service) => ({ endpoint: `${URL_BASE}/v1/logs`, service, ingestKey });

  // Express: the three lines of docs/clients.md (import, expressMonitor(options), app.use), with a nested router.
  const app = express();
  const monitor = client.express.expressMonitor(options("e2e-express"));
  app.use(monitor);
  const expressClient = monitor.client;
  app.get("/orders/:id", (req, res) => res.json({ id: req.params.id }));
  app.get("/users/:user/sessions/:token", (req, res) => res.send("ok"));
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
  assert.equal((await fetch(`${expressUrl}/users/bob@example.com/sessions/${JWT}`)).status, 200);
  await expressClient.flush();
  const logs = await logsOf("e2e-express", readKey, 5);
  const byPath = Object.fromEntries(logs.map((l) => [l.path, l]));
  assert.equal(byPath["/orders/42?token=[redacted]"]?.route, "/orders/:id", JSON.stringify(logs));
  assert.equal(byPath["/api/v1/users/7/items/abc"]?.route, "/api/v1/users/:userId/items/:itemId");
  assert.equal(byPath["/api/v1/users/7/items/abc"]?.status, 201);
  assert.equal(byPath["/boom"]?.route, "/boom");
  assert.equal(byPath["/boom"]?.status, 500);
  assert.equal(byPath["/nothing/here"]?.status, 404);
  // The monitor's own path rules ran in the app: neither the email nor the token left it.
  assert.equal(
    byPath["/users/[email redacted]/sessions/[redacted]"]?.route,
    "/users/:user/sessions/:token",
    JSON.stringify(logs),
  );
  for (const l of logs) assert.match(l.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(expressClient.stats(), {
    recorded: 5,
    sent: 5,
    failed: 0,
    rejected: 0,
    dropped: 0,
    retries: 0,
    queued: 0,
  });

  // Fastify, through the CommonJS build, with options instead of a client.
  const { fastifyMonitor } = requireClient("edge-monitor-client/fastify");
  const fastify = Fastify();
  await fastify.register(fastifyMonitor({ ...options("e2e-fastify"), flushMs: 100 }));
  fastify.get("/widgets/:id", async (request) => ({ id: /** @type {{ id: string }} */ (request.params).id }));
  fastify.post("/widgets/:id/parts/:part", async (_request, reply) => reply.code(202).send({ ok: true }));
  await fastify.listen({ port: 0, host: "127.0.0.1" });
  closers.push(() => fastify.close());
  const fastifyUrl = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (fastify.server.address()).port}`;
  assert.equal((await fetch(`${fastifyUrl}/widgets/9f86d081884c7d65`)).status, 200);
  assert.equal((await fetch(`${fastifyUrl}/widgets/w1/parts/p2`, { method: "POST" })).status, 202);
  const flogs = await logsOf("e2e-fastify", readKey, 2);
  assert.deepEqual(flogs.map((l) => [l.method, l.route, l.status]).sort(), [
    ["GET", "/widgets/:id", 200],
    ["POST", "/widgets/:id/parts/:part", 202],
  ]);

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
  const GET = client.next.withMonitor(
    nextClient,
    "/api/(shop)/orders/[id]",
    async (_req, /** @type {{ params: Promise<{ id: string }> }} */ ctx) =>
      Response.json({ id: (await ctx.params).id }),
  );
  const res = await GET(new Request("http://localhost/api/orders/17"), { params: Promise.resolve({ id: "17" }) });
  assert.deepEqual(await res.json(), { id: "17" });
  await nextClient.flush();
  const xlogs = await logsOf("e2e-next", readKey, 1);
  assert.equal(xlogs[0]?.route, "/api/orders/:id");
});

test("records the monitor refuses: a 400 invalid_records batch and a 202 with one refused are counted, never retried", async () => {
  const stale = Date.now() - 30 * 86_400_000; // older than RAW_RETENTION_DAYS
  /**
   * @param {number} timestamp
   * @param {string} path
   */
  const rec = (timestamp, path) => ({
    timestamp,
    service: "e2e-refused",
    method: "GET",
    path,
    status: 200,
    latency_ms: 3,
  });
  /** @type {string[]} */
  const lines = [];
  const log = console.log;
  console.log = (line) => lines.push(line);
  try {
    const whole = client.core.createClient({
      endpoint: `${URL_BASE}/v1/logs`,
      service: "e2e-refused",
      ingestKey,
      backoffMs: 1,
      flushOnExit: false,
    });
    whole.record(rec(stale, "/old/1"));
    whole.record(rec(stale, "/old/2"));
    await whole.flush();
    assert.deepEqual(whole.stats(), {
      recorded: 2,
      sent: 0,
      failed: 0,
      rejected: 2,
      dropped: 0,
      retries: 0,
      queued: 0,
    });
    const mixed = client.core.createClient({
      endpoint: `${URL_BASE}/v1/logs`,
      service: "e2e-refused",
      ingestKey,
      backoffMs: 1,
      flushOnExit: false,
    });
    mixed.record(rec(stale, "/old/3"));
    mixed.record(rec(Date.now(), "/fresh/1"));
    await mixed.flush();
    assert.deepEqual(mixed.stats(), {
      recorded: 2,
      sent: 1,
      failed: 0,
      rejected: 1,
      dropped: 0,
      retries: 0,
      queued: 0,
    });
  } finally {
    console.log = log;
  }
  const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.event === "edge_monitor_records_rejected");
  assert.equal(warnings.length, 2, lines.join("\n"));
  assert.match(warnings[0].errors[0], /timestamp/);
  const logs = await logsOf("e2e-refused", readKey, 1);
  assert.deepEqual(
    logs.map((l) => l.path),
    ["/fresh/1"],
  );
});

test("the root package's old export edge-monitor/hono bundles the client's middleware and still reports", async () => {
  // As an app's bundler resolves it: through the root package.json "exports" (a self-reference).
  const out = await build({
    stdin: { contents: 'export { monitor } from "edge-monitor/hono";', resolveDir: repo, loader: "ts" },
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    logLevel: "error",
  });
  const file = join(scratch, "old-export.mjs");
  writeFileSync(file, out.outputFiles[0].text);
  assert.doesNotMatch(out.outputFiles[0].text, /from\s*"hono"/, "hono is types only");
  const { monitor } = await import(pathToFileURL(file).href);
  const hono = new Hono();
  hono.use(monitor({ endpoint: `${URL_BASE}/v1/logs`, service: "e2e-old-export", ingestKey, flushMs: 0 }));
  hono.get("/reset/:token", (c) => c.text("ok"));
  assert.equal((await hono.request("/reset/Zx8kP2qLmN4vB7wR1tY6uI3oAe5s")).status, 200);
  const logs = await logsOf("e2e-old-export", readKey, 1);
  assert.deepEqual(
    logs.map((l) => [l.route, l.path]),
    [["/reset/:token", "/reset/[redacted]"]],
  );
});

/**
 * Percentile of sorted numbers.
 * @param {number[]} sorted
 * @param {number} p
 */
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

test("the app's latency is unchanged when the monitor refuses, never answers or answers after 2 s", async (t) => {
  // Stand-in monitors: a port nothing listens on (connections refused), one that accepts
  // connections and never answers, one that answers after 2 s.
  const refused = `http://127.0.0.1:${await freePort()}`;
  const hang = await listen(createServer(() => {}));
  const slow = await listen(
    createServer((req, res) => {
      req.resume();
      setTimeout(
        () => res.writeHead(202, { "Content-Type": "application/json" }).end('{"accepted":1,"rejected":[]}'),
        2_000,
      );
    }),
  );
  /**
   * @param {import("express").Request} req
   * @param {import("express").Response} res
   */
  const handler = (req, res) => res.json({ id: req.params.id, items: [1, 2, 3] });
  /** @type {Record<string, string>} */
  const apps = {};
  /** @type {Record<string, MonitorClient>} */
  const clients = {};
  for (const [name, endpoint] of /** @type {[string, string | null][]} */ ([
    ["without client", null],
    ["monitor refuses", `${refused}/v1/logs`],
    ["monitor hangs", `${hang}/v1/logs`],
    ["monitor 2 s slow", `${slow}/v1/logs`],
    ["monitor up", `${URL_BASE}/v1/logs`],
    ["without client (2)", null],
  ])) {
    const app = express();
    if (endpoint) {
      clients[name] = client.core.createClient({
        endpoint,
        service: "e2e-latency",
        ingestKey,
        batchSize: 20,
        flushMs: 200,
        timeoutMs: 5_000,
      });
      app.use(client.express.expressMonitor(clients[name]));
    }
    app.get("/orders/:id", handler);
    apps[name] = await listen(createServer(app));
  }
  // Round robin over the apps, so that the machine's noise falls on all of them alike.
  const samples = Object.fromEntries(Object.keys(apps).map((n) => [n, /** @type {number[]} */ ([])]));
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
  /** @type {Record<string, { p50_ms: number, p95_ms: number }>} */
  const summary = {};
  for (const [name, list] of Object.entries(samples)) {
    const sorted = list.slice(50).sort((a, b) => a - b); // the first rounds warm up
    summary[name] = { p50_ms: +pct(sorted, 50).toFixed(3), p95_ms: +pct(sorted, 95).toFixed(3) };
  }
  t.diagnostic(`app latency over ${ROUNDS - 50} requests each: ${JSON.stringify(summary)}`);
  console.log(JSON.stringify({ event: "client_latency", requests: ROUNDS - 50, summary }));
  // The noise floor: the worse of two identical apps without the client. A client that waited on
  // the monitor would add 2 s (or hang) to every request; these bounds leave room for a loaded machine.
  /** @param {"p50_ms" | "p95_ms"} k */
  const floor = (k) => Math.max(summary["without client"][k], summary["without client (2)"][k]);
  for (const name of ["monitor refuses", "monitor hangs", "monitor 2 s slow", "monitor up"]) {
    assert.ok(
      summary[name].p50_ms <= floor("p50_ms") * 1.5 + 2,
      `${name}: p50 ${summary[name].p50_ms} ms vs ${floor("p50_ms")} ms`,
    );
    assert.ok(
      summary[name].p95_ms <= floor("p95_ms") * 2 + 5,
      `${name}: p95 ${summary[name].p95_ms} ms vs ${floor("p95_ms")} ms`,
    );
  }
  // Every request was recorded; none of the failures reached the app.
  for (const c of Object.values(clients)) assert.equal(c.stats().recorded, ROUNDS);
  await Promise.all(Object.values(clients).map((c) => c.shutdown(3_000)));
  assert.equal(clients["monitor up"].stats().sent, ROUNDS);
  assert.ok(clients["monitor hangs"].stats().sent === 0);
  assert.equal(clients["monitor refuses"].stats().sent, 0);
  assert.ok(clients["monitor refuses"].stats().retries > 0, "refused sends are retried with backoff");
});
