// @ts-check
// The monitor's answers as the client's core meets them (built package, local stand-in monitor):
// `400 invalid_records` (every record of the batch refused) is counted as rejected and never
// retried, a `202` with a `rejected` list counts those records and the rest as sent, any other
// 400 fails the batch at once, and the reasons the monitor gave are logged (scrubbed) once per batch.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { before, test } from "node:test";
import { ensureBuilt, root } from "./built.mjs";

/** @type {import("./entries.js").Index["createClient"]} */
let createClient;
/** @type {import("./entries.js").Hono["monitor"]} */
let monitor;

before(async () => {
  ensureBuilt();
  ({ createClient } = /** @type {import("./entries.js").Index} */ (await import(join(root, "dist/esm/index.js"))));
  ({ monitor } = /** @type {import("./entries.js").Hono} */ (await import(join(root, "dist/esm/hono.js"))));
});

/** A stand-in ingest endpoint answering every POST with `status` and `body`; counts the POSTs. */
/**
 * @param {number} status
 * @param {unknown} body
 */
async function answering(status, body) {
  /** @type {import("./entries.js").MonitorRecord[][]} */
  const posts = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      posts.push(JSON.parse(text));
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    });
  });
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, "127.0.0.1", r)));
  return {
    url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}/v1/logs`,
    posts,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r(undefined));
      }),
  };
}

/** Runs `fn` with console.log captured; answers the parsed JSON lines. */
/** @param {() => Promise<unknown>} fn */
async function logsOf(fn) {
  /** @type {string[]} */
  const lines = [];
  const original = console.log;
  console.log = (line) => lines.push(line);
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines.map((l) => JSON.parse(l));
}

/** @param {number} i */
const rec = (i) => ({
  timestamp: Date.now(),
  service: "svc",
  method: "GET",
  path: `/items/${i}`,
  status: 200,
  latency_ms: 1,
});
/** @param {number} n */
const refusedAll = (n) => ({
  error: {
    code: "invalid_records",
    message: `every record was rejected (${n})`,
    details: {
      accepted: 0,
      rejected: Array.from({ length: n }, (_, index) => ({
        index,
        errors: ["timestamp: older than RAW_RETENTION_DAYS token=abc123"],
      })),
    },
  },
});

test("400 invalid_records: counted as rejected, sent once, not retried, the reason logged", async (t) => {
  const m = await answering(400, refusedAll(3));
  t.after(m.close);
  const client = createClient({ endpoint: m.url, service: "svc", backoffMs: 1, maxRetries: 5, flushOnExit: false });
  for (let i = 0; i < 3; i++) client.record(rec(i));
  const logs = await logsOf(() => client.flush());
  assert.equal(m.posts.length, 1, "a refused batch is not sent again");
  assert.deepEqual(client.stats(), { recorded: 3, sent: 0, failed: 0, rejected: 3, dropped: 0, retries: 0, queued: 0 });
  const warn = logs.find((l) => l.event === "edge_monitor_records_rejected");
  assert.ok(warn, JSON.stringify(logs));
  assert.equal(warn.records, 3);
  assert.match(warn.errors[0], /older than RAW_RETENTION_DAYS/);
  assert.doesNotMatch(JSON.stringify(warn), /abc123/, "the logged reasons are scrubbed");
});

test("202 with some records rejected: those counted as rejected, the rest as sent", async (t) => {
  const m = await answering(202, { accepted: 2, rejected: [{ index: 1, errors: ["status: Too big"] }] });
  t.after(m.close);
  const client = createClient({ endpoint: m.url, service: "svc", flushOnExit: false });
  for (let i = 0; i < 3; i++) client.record(rec(i));
  const logs = await logsOf(() => client.flush());
  assert.equal(m.posts.length, 1);
  assert.equal(client.stats().sent, 2);
  assert.equal(client.stats().rejected, 1);
  assert.deepEqual(logs.find((l) => l.event === "edge_monitor_records_rejected")?.errors, ["status: Too big"]);
});

test("any other 400 (invalid_body) fails the batch at once, without retries", async (t) => {
  const m = await answering(400, { error: { code: "invalid_body", message: "not JSON" } });
  t.after(m.close);
  const client = createClient({ endpoint: m.url, service: "svc", backoffMs: 1, maxRetries: 5, flushOnExit: false });
  client.record(rec(1));
  await logsOf(() => client.flush());
  assert.equal(m.posts.length, 1);
  assert.equal(client.stats().failed, 1);
  assert.equal(client.stats().retries, 0);
});

test("Hono middleware: a batch refused whole is counted as rejected and its reason logged", async (t) => {
  const m = await answering(400, refusedAll(1));
  t.after(m.close);
  const { Hono } = await import("hono");
  const app = new Hono();
  const mw = monitor({ service: "svc", endpoint: m.url, flushMs: 0 });
  app.use(mw);
  app.get("/x", (c) => c.text("ok"));
  const logs = await logsOf(async () => {
    assert.equal((await app.request("/x")).status, 200);
    for (let i = 0; i < 100 && mw.stats().rejected === 0; i++) await new Promise((r) => setTimeout(r, 10));
  });
  assert.equal(m.posts.length, 1);
  assert.deepEqual(mw.stats(), { recorded: 1, sent: 0, failed: 0, rejected: 1, dropped: 0 });
  assert.ok(
    logs.some((l) => l.event === "edge_monitor_records_rejected"),
    JSON.stringify(logs),
  );
});
