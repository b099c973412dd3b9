// @ts-check
// The client's core, built (built.mjs) and loaded from dist/, against a local HTTP server
// that plays the monitor's ingest endpoint and can be told to fail, hang or answer late: batching
// by count and by time, an id on every record, retries with backoff that keep the ids, the
// bounded queue, flush on shutdown, redaction, and that nothing ever throws into the app.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { before, test } from "node:test";
import { ensureBuilt, root } from "./built.mjs";

/** @typedef {import("./entries.js").MonitorRecord} MonitorRecord */
/** @type {import("./entries.js").Index["createClient"]} */
let createClient;

before(async () => {
  ensureBuilt();
  ({ createClient } = /** @type {import("./entries.js").Index} */ (await import(join(root, "dist/esm/index.js"))));
});

/** A local ingest endpoint: `answer(batch, n)` decides each POST's fate ("ok", a status, or "hang"). */
/** @param {(batch: MonitorRecord[], n: number) => "ok" | "hang" | number} [answer] */
async function fakeMonitor(answer = () => "ok") {
  /** @type {{ batch: MonitorRecord[], auth: string | undefined, at: number }[]} */
  const posts = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const batch = /** @type {MonitorRecord[]} */ (JSON.parse(body));
      posts.push({ batch, auth: req.headers.authorization, at: Date.now() });
      const fate = answer(batch, posts.length);
      if (fate === "hang") return;
      res.writeHead(fate === "ok" ? 202 : fate, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify(
          fate === "ok" ? { accepted: batch.length, rejected: [] } : { error: { code: "x", message: "x" } },
        ),
      );
    });
  });
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, "127.0.0.1", r)));
  const url = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}/v1/logs`;
  return {
    url,
    posts,
    close: () =>
      new Promise((r) => {
        server.close(() => r(undefined));
        server.closeAllConnections();
      }),
  };
}

/**
 * @param {number} i
 * @param {Partial<MonitorRecord>} [extra]
 * @returns {MonitorRecord}
 */
const rec = (i, extra = {}) => ({
  timestamp: Date.now(),
  service: "svc",
  method: "GET",
  path: `/items/${i}`,
  status: 200,
  latency_ms: 1,
  ...extra,
});

/** Waits until `cond()` holds (or `ms` passed). */
/**
 * @param {() => boolean} cond
 * @param {number} [ms]
 */
async function until(cond, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

test("batches by count, then the rest after flushMs; every record has a unique id and the bearer key", async (t) => {
  const m = await fakeMonitor();
  t.after(m.close);
  const client = createClient({ endpoint: m.url, service: "svc", ingestKey: "k1", batchSize: 10, flushMs: 1_500 });
  const started = Date.now();
  for (let i = 0; i < 25; i++) client.record(rec(i));
  await until(() => m.posts.length >= 2);
  assert.deepEqual(
    m.posts.map((p) => p.batch.length),
    [10, 10],
    "full batches go at once",
  );
  assert.ok(m.posts[1].at - started < 1_500, "before flushMs");
  await until(() => m.posts.length >= 3);
  assert.deepEqual(
    m.posts.map((p) => p.batch.length),
    [10, 10, 5],
    "the partial batch goes after flushMs",
  );
  assert.ok(m.posts[2].at - started >= 1_400, `the partial batch waited ${m.posts[2].at - started} ms`);
  await until(() => client.stats().sent === 25);
  const ids = m.posts.flatMap((p) => p.batch.map((r) => r.id));
  assert.equal(new Set(ids).size, 25);
  for (const id of ids) assert.match(/** @type {string} */ (id), /^[0-9a-f-]{36}$/);
  assert.ok(m.posts.every((p) => p.auth === "Bearer k1"));
  assert.deepEqual(client.stats(), {
    recorded: 25,
    sent: 25,
    failed: 0,
    rejected: 0,
    dropped: 0,
    retries: 0,
    queued: 0,
  });
});

test("retries 503 and network failures with backoff, keeping the record ids; gives up after maxRetries", async (t) => {
  const m = await fakeMonitor((_, n) => (n <= 2 ? 503 : "ok"));
  t.after(m.close);
  const client = createClient({ endpoint: m.url, service: "svc", batchSize: 3, flushMs: 10_000, backoffMs: 50 });
  for (let i = 0; i < 3; i++) client.record(rec(i));
  await client.flush();
  assert.equal(m.posts.length, 3, "two 503s, then accepted");
  assert.deepEqual(
    m.posts[0].batch.map((r) => r.id),
    m.posts[2].batch.map((r) => r.id),
    "a retry sends the same ids (stored once)",
  );
  assert.equal(client.stats().sent, 3);
  assert.equal(client.stats().retries, 2);

  const gone = createClient({ endpoint: "http://127.0.0.1:9/v1/logs", service: "svc", maxRetries: 2, backoffMs: 10 });
  gone.record(rec(1));
  await gone.flush();
  assert.equal(gone.stats().failed, 1);
  assert.equal(gone.stats().retries, 2);
  const bad = await fakeMonitor(() => 401);
  t.after(bad.close);
  const refused = createClient({ endpoint: bad.url, service: "svc", backoffMs: 10 });
  refused.record(rec(1));
  await refused.flush();
  assert.equal(bad.posts.length, 1, "a 401 is not retried");
  assert.equal(refused.stats().failed, 1);
});

test("a hanging monitor: record() stays instant, the queue stays bounded and drops are counted", async (t) => {
  const m = await fakeMonitor(() => "hang");
  t.after(m.close);
  const client = createClient({
    endpoint: m.url,
    service: "svc",
    batchSize: 10,
    maxQueue: 50,
    timeoutMs: 300,
    maxRetries: 0,
    flushMs: 20,
  });
  const started = performance.now();
  for (let i = 0; i < 1000; i++) client.record(rec(i));
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 200, `1,000 record() calls took ${elapsed} ms`);
  const s = client.stats();
  assert.equal(s.recorded, 1000);
  assert.ok(s.queued <= 50, `queued ${s.queued}`);
  assert.equal(s.dropped, 1000 - 50 - 10, "one batch in flight, the queue full, the rest dropped");
  await client.shutdown(2_000);
  assert.ok(client.stats().failed >= 10);
});

test("shutdown flushes what is queued; redaction runs before anything leaves", async (t) => {
  const m = await fakeMonitor();
  t.after(m.close);
  const client = createClient({
    endpoint: m.url,
    service: "svc",
    flushMs: 60_000,
    redact: (r) => (r.path.includes("drop") ? null : { ...r, path: r.path.replace("alice", "[user]") }),
  });
  client.record(rec(1, { path: "/u/alice" }));
  client.record(rec(2, { path: "/drop/me" }));
  await client.shutdown();
  assert.deepEqual(
    m.posts.flatMap((p) => p.batch.map((r) => r.path)),
    ["/u/[user]"],
  );
});

test("CommonJS build: require() gives the same API", () => {
  const require = createRequire(import.meta.url);
  const cjs = require(join(root, "dist/cjs/index.cjs"));
  assert.equal(typeof cjs.createClient, "function");
  assert.equal(typeof require(join(root, "dist/cjs/express.cjs")).expressMonitor, "function");
  assert.equal(typeof require(join(root, "dist/cjs/fastify.cjs")).fastifyMonitor, "function");
});
