/**
 * `edge-monitor/hono`: a real Hono app using the middleware reports to the monitor itself
 * through a service binding (the worker's loopback `exports.default`), and the records land in
 * D1 with Hono's route template, status, latency, sizes and request id; batches form per isolate
 * and go in the answering request's own waitUntil; secrets never leave the app; and a monitor
 * that throws, answers 500, hangs or refuses the key changes nothing in the app's responses.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LogRecordInput } from "../src/ingest/record";
import { BatchQueue } from "../src/middleware/batch-queue";
import { monitor, type MonitorFetcher, type MonitorMiddleware, type MonitorRecord } from "../src/middleware/hono";
import { buildRecord } from "../src/middleware/request-record";
import { eventually, flushAll, getJson, INGEST_KEY } from "./helpers";

// Compile-time: what the middleware sends is a valid ingest input.
export const asIngestInput = (r: MonitorRecord): LogRecordInput => r;

type StoredLog = {
  route: string;
  path: string;
  method: string;
  status: number;
  latency_ms: number;
  request_bytes: number | null;
  response_bytes: number | null;
  request_id: string | null;
  error: string | null;
  response_empty: boolean;
};

/** The monitor itself behind a binding, keeping each batch it was sent. */
function spyBinding(): MonitorFetcher & { batches: MonitorRecord[][]; raw: string[] } {
  const batches: MonitorRecord[][] = [];
  const raw: string[] = [];
  return {
    batches,
    raw,
    async fetch(input, init) {
      const req = new Request(input, init);
      const text = await req.clone().text();
      raw.push(text);
      batches.push(JSON.parse(text) as MonitorRecord[]);
      return exports.default.fetch(req);
    },
  };
}

/** The app under test: a few routes, a mounted sub-app, an empty 200, an error. */
function buildApp(mw?: MonitorMiddleware) {
  const users = new Hono().get("/:id{[0-9]+}", (c) => c.json({ id: c.req.param("id") }, 201));
  const app = new Hono();
  if (mw) app.use(mw);
  app.get("/orders/:id", async (c) => {
    await new Promise((r) => setTimeout(r, 40));
    return c.json({ id: c.req.param("id"), items: [1, 2] });
  });
  app.post(
    "/upload",
    async (c) =>
      new Response(`got ${(await c.req.text()).length}`, { headers: { "Content-Length": "6", "X-App": "yes" } }),
  );
  app.get("/empty", (c) => c.body(null, 200));
  app.get("/boom", () => {
    throw new Error("db failed: password=hunter2 for sk_live_0123456789abcdef");
  });
  app.get("/teapot", () => {
    throw new HTTPException(418, { message: "short and stout" });
  });
  app.route("/api/users", users);
  return app;
}

/** Calls the app as the Workers runtime would, and waits for its waitUntil work. */
async function hit(
  app: { fetch(req: Request, bindings: object, ctx: ExecutionContext): Response | Promise<Response> },
  path: string,
  init: RequestInit = {},
  bindings: object = env,
): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://app.test${path}`, init), bindings, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

async function storedLogs(service: string, count: number): Promise<StoredLog[]> {
  let logs: StoredLog[] = [];
  await eventually(async () => {
    await flushAll();
    logs = (await getJson<{ logs: StoredLog[] }>(`/v1/logs?service=${service}`)).body.logs;
    return logs.length >= count;
  });
  return logs;
}

// Hono's default error handler reports /boom on console.error: kept out of the test output.
beforeEach(() => void vi.spyOn(console, "error").mockImplementation(() => undefined));
afterEach(() => void vi.restoreAllMocks());

describe("Hono middleware: records reach the monitor", () => {
  it("stores route templates from Hono, status, latency, sizes and request id", async () => {
    const binding = spyBinding();
    const mw = monitor({ service: "hono-app", binding, ingestKey: INGEST_KEY, flushMs: 0 });
    const app = buildApp(mw);
    expect((await hit(app, "/orders/9f3a", { headers: { "X-Request-ID": "req-abc" } })).status).toBe(200);
    expect((await hit(app, "/api/users/42")).status).toBe(201);
    expect(
      (await hit(app, "/upload", { method: "POST", body: "123456789", headers: { "Content-Length": "9" } })).status,
    ).toBe(200);
    expect((await hit(app, "/nowhere/at/all")).status).toBe(404);
    expect((await hit(app, "/boom")).status).toBe(500);
    expect((await hit(app, "/teapot")).status).toBe(418);
    expect((await hit(app, "/empty")).status).toBe(200);

    const logs = await storedLogs("hono-app", 7);
    const byPath = new Map(logs.map((l) => [l.path, l]));
    expect(byPath.get("/orders/9f3a")).toMatchObject({
      route: "/orders/:id",
      method: "GET",
      status: 200,
      request_id: "req-abc",
    });
    expect(byPath.get("/orders/9f3a")?.latency_ms).toBeGreaterThanOrEqual(35);
    // A mounted sub-app: the full pattern, regex included (the monitor trims nothing of it).
    expect(byPath.get("/api/users/42")).toMatchObject({ route: "/api/users/:id{[0-9]+}", status: 201 });
    expect(byPath.get("/upload")).toMatchObject({
      route: "/upload",
      method: "POST",
      request_bytes: 9,
      response_bytes: 6,
    });
    // Unmatched paths fall under the middleware's own pattern: scanners cannot multiply endpoints.
    expect(byPath.get("/nowhere/at/all")).toMatchObject({ route: "/*", status: 404 });
    expect(byPath.get("/boom")).toMatchObject({ route: "/boom", status: 500 });
    expect(byPath.get("/boom")?.error).toContain("db failed");
    expect(byPath.get("/teapot")).toMatchObject({ status: 418 });
    expect(byPath.get("/empty")).toMatchObject({ status: 200, response_empty: true });
    expect(byPath.get("/orders/9f3a")?.response_empty).toBe(false);
    expect(mw.stats()).toEqual({ recorded: 7, sent: 7, failed: 0, rejected: 0, dropped: 0 });
  });

  it("batches per isolate: a full batch goes in the request that filled it, a partial one after flushMs", async () => {
    const binding = spyBinding();
    const mw = monitor({ service: "hono-batch", binding, ingestKey: INGEST_KEY, batchSize: 3, flushMs: 300 });
    const app = buildApp(mw);
    // Three requests in flight together: only the third one's waitUntil sends, all three records at once.
    const ctxs = [createExecutionContext(), createExecutionContext(), createExecutionContext()];
    for (const [i, ctx] of ctxs.entries()) {
      const res = await app.fetch(new Request(`https://app.test/api/users/${i}`), env, ctx);
      expect(res.status).toBe(201);
      if (i < 2) expect(binding.batches).toHaveLength(0);
    }
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    expect(binding.batches.map((b) => b.length)).toEqual([3]);

    // One more: nothing else comes, so its own waitUntil lingers flushMs and sends it alone.
    const started = Date.now();
    await hit(app, "/orders/last");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(binding.batches.map((b) => b.length)).toEqual([3, 1]);
    expect(await storedLogs("hono-batch", 4)).toHaveLength(4);
    expect(mw.stats().sent).toBe(4);
  });

  it("sends nothing secret: query values, tokens in errors and request ids are redacted before leaving the app", async () => {
    const binding = spyBinding();
    const mw = monitor({
      service: "hono-secrets",
      binding,
      ingestKey: INGEST_KEY,
      flushMs: 0,
      // The app's own extra rule: drop health checks.
      redact: (r) => (r.path.startsWith("/health") ? null : r),
    });
    const app = buildApp(mw);
    await hit(app, "/orders/1?token=abc123secret&page=2&api_key=k-999&session=s-777", {
      headers: { "X-Request-ID": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl" },
    });
    await hit(app, "/boom?card=4111111111111111");
    await hit(app, "/health");
    const raw = binding.raw.join("\n");
    for (const secret of [
      "abc123secret",
      "k-999",
      "s-777",
      "eyJhbGciOiJIUzI1NiJ9",
      "hunter2",
      "sk_live_0123456789abcdef",
      "4111111111111111",
    ]) {
      expect(raw).not.toContain(secret);
    }
    const logs = await storedLogs("hono-secrets", 2);
    const paths = logs.map((l) => l.path).sort();
    expect(paths).toEqual([
      "/boom?card=[card redacted]",
      "/orders/1?token=[redacted]&page=2&api_key=[redacted]&session=[redacted]",
    ]);
    expect(logs.find((l) => l.path.startsWith("/boom"))?.error).toContain("password=[redacted]");
    expect(mw.stats().recorded).toBe(2);
  });

  it("splits a batch whose JSON would exceed the monitor's 1 MiB body limit", async () => {
    const binding = spyBinding();
    // A hook that grows every record to about 300 KB: four of them are 1.2 MB together.
    const mw = monitor({
      service: "hono-big",
      binding,
      ingestKey: INGEST_KEY,
      batchSize: 4,
      flushMs: 300,
      redact: (r) => ({ ...r, error: "x".repeat(300_000) }),
    });
    const app = buildApp(mw);
    const ctxs = [0, 1, 2, 3].map(() => createExecutionContext());
    for (const [i, ctx] of ctxs.entries()) await app.fetch(new Request(`https://app.test/api/users/${i}`), env, ctx);
    await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
    expect(binding.batches.map((b) => b.length)).toEqual([2, 2]);
    expect(mw.stats()).toMatchObject({ sent: 4, failed: 0 });
    expect(await storedLogs("hono-big", 4)).toHaveLength(4);
  });

  it("counts records the monitor rejected as rejected, also when it rejected them all (400 invalid_records)", async () => {
    // A binding that spoils every record on its way (a negative latency) before the real monitor reads it.
    const spoiling: MonitorFetcher = {
      async fetch(input, init) {
        const req = new Request(input, init);
        const records = await req.json<Record<string, unknown>[]>();
        const body = JSON.stringify(records.map((r) => ({ ...r, latency_ms: -1 })));
        return exports.default.fetch(new Request(req.url, { method: "POST", headers: req.headers, body }));
      },
    };
    const mw = monitor({ service: "hono-spoiled", binding: spoiling, ingestKey: INGEST_KEY, flushMs: 0 });
    const app = buildApp(mw);
    expect((await hit(app, "/orders/1")).status).toBe(200);
    expect(mw.stats()).toEqual({ recorded: 1, sent: 0, failed: 0, rejected: 1, dropped: 0 });
  });

  it("reads the binding and the ingest key from the app's env", async () => {
    const binding = spyBinding();
    type AppBindings = { MONITOR: MonitorFetcher; MONITOR_KEY: string };
    const mw = monitor({
      service: "hono-env",
      binding: (e: AppBindings) => e.MONITOR,
      ingestKey: (e: AppBindings) => e.MONITOR_KEY,
      flushMs: 0,
    });
    const app = new Hono<{ Bindings: AppBindings }>().use(mw).get("/ping", (c) => c.text("pong"));
    const res = await hit(app, "/ping", {}, { ...env, MONITOR: binding, MONITOR_KEY: INGEST_KEY });
    expect(await res.text()).toBe("pong");
    expect(await storedLogs("hono-env", 1)).toHaveLength(1);
  });
});

describe("Hono middleware: a failing monitor changes nothing for the app", () => {
  let logged: string[] = [];
  beforeEach(() => {
    logged = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void logged.push(String(line)));
  });

  const failing: [string, MonitorFetcher][] = [
    ["throws", { fetch: () => Promise.reject(new Error("connection refused")) }],
    [
      "throws synchronously",
      {
        fetch: () => {
          throw new Error("binding gone");
        },
      },
    ],
    ["answers 500", { fetch: async () => new Response("oops", { status: 500 }) }],
    [
      "refuses the key",
      {
        fetch: (input, init) =>
          exports.default.fetch(
            new Request(input, {
              ...init,
              headers: { Authorization: "Bearer wrong", "Content-Type": "application/json" },
            }),
          ),
      },
    ],
    ["hangs", { fetch: () => new Promise<Response>(() => undefined) }],
  ];

  for (const [name, binding] of failing) {
    it(`when the monitor ${name}, responses are the same as without the middleware`, async () => {
      const mw = monitor({ service: "hono-fail", binding, ingestKey: INGEST_KEY, flushMs: 0, timeoutMs: 100 });
      const monitored = buildApp(mw);
      const plain = buildApp();
      const requests: [string, RequestInit?][] = [
        ["/orders/5"],
        ["/api/users/7"],
        ["/upload", { method: "POST", body: "abc" }],
        ["/nowhere"],
        ["/boom"],
        ["/teapot"],
        ["/empty"],
      ];
      for (const [path, init] of requests) {
        const a = await hit(monitored, path, init);
        const b = await hit(plain, path, init);
        expect(a.status).toBe(b.status);
        expect(await a.text()).toBe(await b.text());
        expect([...a.headers]).toEqual([...b.headers]);
      }
      expect(mw.stats()).toMatchObject({ recorded: 7, sent: 0, failed: 7 });
      // Each failed send is logged once, as JSON, without the key.
      const warnings = logged
        .map((l) => JSON.parse(l) as { event: string })
        .filter((l) => l.event === "edge_monitor_send_failed");
      expect(warnings).toHaveLength(7);
      expect(logged.join("\n")).not.toContain(INGEST_KEY);
    });
  }

  it("answers before the monitor does: the send only starts in waitUntil", async () => {
    let release: (r: Response) => void = () => undefined;
    let calls = 0;
    const binding: MonitorFetcher = {
      fetch: () => {
        calls++;
        return new Promise<Response>((r) => (release = r));
      },
    };
    const mw = monitor({ service: "hono-slow", binding, ingestKey: INGEST_KEY, flushMs: 0 });
    const app = buildApp(mw);
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request("https://app.test/orders/1"), env, ctx);
    expect(res.status).toBe(200);
    expect(mw.stats()).toMatchObject({ recorded: 1, sent: 0, failed: 0 });
    release(new Response('{"accepted":1,"rejected":[]}', { status: 202 }));
    await waitOnExecutionContext(ctx);
    expect(calls).toBe(1);
    expect(mw.stats()).toMatchObject({ sent: 1, failed: 0 });
  });

  it("refuses a configuration that could never send, at setup rather than per request", () => {
    expect(() => monitor({ service: "bad name!", endpoint: "https://monitor.example/v1/logs" })).toThrow(TypeError);
    expect(() => monitor({ service: "ok" })).toThrow(TypeError);
  });
});

describe("Hono middleware: pure parts", () => {
  it("BatchQueue: one lingerer at a time, taken over when it never came back, bounded", () => {
    const q = new BatchQueue<number>({ batchSize: 3, flushMs: 1000, maxQueued: 4 });
    expect(q.push(1, 0)).toMatchObject({ batches: [], linger: true, token: 1 });
    expect(q.push(2, 10)).toMatchObject({ batches: [], linger: false });
    expect(q.push(3, 20)).toMatchObject({ batches: [[1, 2, 3]], linger: false });
    expect(q.push(4, 30)).toMatchObject({ batches: [], linger: false }); // the first lingerer still owns it
    expect(q.expire(1)).toEqual([[4]]);
    expect(q.push(5, 40)).toMatchObject({ linger: true, token: 2 });
    // Token 2's request vanished: past its deadline and the grace, the next request lingers instead.
    expect(q.push(6, 40 + 1000 + 5001)).toMatchObject({ batches: [[5, 6]] }); // oldest waited flushMs: sent now
    expect(q.push(7, 8000)).toMatchObject({ linger: true, token: 3 });
    const full = new BatchQueue<number>({ batchSize: 10, flushMs: 1000, maxQueued: 2 });
    full.push(1, 0);
    full.push(2, 0);
    expect(full.push(3, 0).dropped).toBe(true);
  });

  it("buildRecord: sizes from Content-Length only when well formed; non-letter methods become OTHER", () => {
    const base = {
      service: "s",
      url: "https://x.test/a?password=p",
      route: "",
      status: 200,
      startedAt: 1000,
      endedAt: 1012,
      responseHasBody: true,
    };
    const r = buildRecord({
      ...base,
      method: "M-SEARCH",
      requestHeaders: new Headers({ "Content-Length": "12x" }),
      responseHeaders: new Headers({ "Content-Length": "0" }),
    });
    expect(r).toEqual({
      timestamp: 1000,
      service: "s",
      method: "OTHER",
      path: "/a?password=[redacted]",
      status: 200,
      latency_ms: 12,
      response_bytes: 0,
      response_empty: true,
    });
    expect(
      buildRecord({
        ...base,
        method: "HEAD",
        status: 200,
        responseHasBody: false,
        requestHeaders: new Headers(),
        responseHeaders: new Headers(),
      })?.response_empty,
    ).toBeUndefined();
  });
});
