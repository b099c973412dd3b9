// @ts-check
// The Node adapters of the built package in real Express 5 and Fastify 5 apps and a Next-style
// route handler, against a stand-in monitor (the e2e test runs them against `npm start`): the
// framework's route template, and the client's `redactEmails` reaching every adapter's records.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { before, test } from "node:test";
import express from "express";
import Fastify from "fastify";
import { ensureBuilt, root } from "./built.mjs";

/** @typedef {import("./entries.js").Index & import("./entries.js").Express & import("./entries.js").Fastify & { next: import("./entries.js").Next }} Entries */
/** @type {Entries} */
let m;

before(async () => {
  ensureBuilt();
  m = /** @type {Entries} */ ({
    ...(await import(join(root, "dist/esm/index.js"))),
    ...(await import(join(root, "dist/esm/express.js"))),
    ...(await import(join(root, "dist/esm/fastify.js"))),
    next: await import(join(root, "dist/esm/next.js")),
  });
});

/** A stand-in monitor that keeps every record it is sent. */
async function standIn() {
  /** @type {import("./entries.js").MonitorRecord[]} */
  const records = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      records.push(...JSON.parse(text));
      res.writeHead(202, { "Content-Type": "application/json" }).end('{"accepted":1,"rejected":[]}');
    });
  });
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, "127.0.0.1", r)));
  return {
    url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}/v1/logs`,
    records,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r(undefined));
      }),
  };
}

/**
 * @param {import("node:http").RequestListener} app
 * @param {import("node:test").TestContext} t
 */
async function listen(app, t) {
  const server = createServer(app);
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, "127.0.0.1", r)));
  t.after(
    () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r(undefined));
      }),
  );
  return `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`;
}

test("Express: the route template; emails redacted by default, kept with redactEmails: false", async (t) => {
  const monitor = await standIn();
  t.after(monitor.close);
  for (const redactEmails of [undefined, false]) {
    const app = express();
    const mw = m.expressMonitor({ endpoint: monitor.url, service: "svc", redactEmails, flushOnExit: false });
    app.use(mw);
    app.get("/users/:email/orders/:id", (_req, res) => res.send("ok"));
    const url = await listen(app, t);
    assert.equal((await fetch(`${url}/users/bob@example.com/orders/7?token=abc`)).status, 200);
    for (let i = 0; i < 100 && mw.client.stats().recorded === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await mw.client.flush();
  }
  assert.deepEqual(
    monitor.records.map((r) => [r.route, r.path]),
    [
      ["/users/:email/orders/:id", "/users/[email redacted]/orders/7?token=[redacted]"],
      ["/users/:email/orders/:id", "/users/bob@example.com/orders/7?token=[redacted]"],
    ],
  );
});

test("Fastify: the route template and redactEmails: false", async (t) => {
  const monitor = await standIn();
  t.after(monitor.close);
  const client = m.createClient({ endpoint: monitor.url, service: "svc", redactEmails: false, flushOnExit: false });
  const app = Fastify();
  await app.register(/** @type {import("fastify").FastifyPluginCallback} */ (m.fastifyMonitor(client)));
  app.get("/people/:who", async () => ({ ok: true }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  assert.equal(
    (
      await fetch(
        `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (app.server.address()).port}/people/ann@example.com`,
      )
    ).status,
    200,
  );
  await app.close(); // onClose flushes the client
  assert.deepEqual(
    monitor.records.map((r) => [r.route, r.path]),
    [["/people/:who", "/people/ann@example.com"]],
  );
});

test("Next route handler: the folder route, and the error of a throwing handler as a 500", async (t) => {
  const monitor = await standIn();
  t.after(monitor.close);
  const client = m.createClient({ endpoint: monitor.url, service: "svc", flushOnExit: false });
  const GET = m.next.withMonitor(client, "/api/orders/[id]", async () => {
    throw new Error("no order for alice@example.com");
  });
  await assert.rejects(GET(new Request("http://localhost/api/orders/9")), /no order/);
  await client.flush();
  assert.equal(monitor.records.length, 1);
  assert.equal(monitor.records[0].route, "/api/orders/:id");
  assert.equal(monitor.records[0].status, 500);
  assert.equal(monitor.records[0].error, "Error: no order for [email redacted]");
});
