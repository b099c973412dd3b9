import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import {
  BASE,
  INGEST_KEY,
  countLogs,
  endpointStub,
  eventually,
  flushAll,
  getJson,
  postLogs,
  record,
  storeAllRawLogs,
} from "./helpers";

type IngestBody = { accepted: number; rejected: { index: number; errors: string[] }[]; stored?: number };
type ErrorBody = { error: { code: string; message: string; details?: unknown } };

describe("POST /v1/logs", () => {
  it("accepts one JSON record and it reaches the Durable Object and D1 after the response", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/v1/logs`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(record("single", { path: "/users/42", id: "r-1" })),
      }),
      env,
      ctx,
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, rejected: [] });
    await waitOnExecutionContext(ctx);
    const stats = await endpointStub("single", "GET", "/users/:id").stats();
    expect(stats.received).toBe(1);
    expect(stats.backlog).toBe(1);
    await flushAll();
    expect(await countLogs("single")).toBe(1);
    const after = await endpointStub("single", "GET", "/users/:id").stats();
    expect(after.backlog).toBe(0);
    expect(after.flushed).toBe(1);
  });

  it("accepts a JSON array and NDJSON", async () => {
    const arr = await postLogs([record("multi"), record("multi", { method: "post", path: "/orders" })], { sync: true });
    expect(arr.status).toBe(202);
    expect((await arr.json<IngestBody>()).accepted).toBe(2);
    const ndjson = [record("multi"), record("multi"), record("multi")].map((r) => JSON.stringify(r)).join("\n");
    const nd = await postLogs(ndjson, { raw: true, contentType: "application/x-ndjson", sync: true });
    expect(nd.status).toBe(202);
    expect((await nd.json<IngestBody>()).accepted).toBe(3);
    await flushAll();
    expect(await countLogs("multi")).toBe(5);
    const { body } = await getJson<{ logs: { method: string; route: string }[] }>("/v1/logs?service=multi&method=POST");
    expect(body.logs).toHaveLength(1);
    expect(body.logs[0]?.route).toBe("/orders");
  });

  it("reports invalid records by index with field-level messages and keeps the valid ones", async () => {
    const res = await postLogs(
      [
        record("partial"),
        { ...record("partial"), status: 700 },
        { service: "partial" },
        record("partial", { service: "bad name!" }),
      ],
      { sync: true },
    );
    expect(res.status).toBe(202);
    const body = await res.json<IngestBody>();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r) => r.index)).toEqual([1, 2, 3]);
    expect(body.rejected[0]?.errors.join(" ")).toMatch(/status/);
    const missing = body.rejected[1]?.errors.join(" ") ?? "";
    for (const field of ["timestamp", "method", "path", "status", "latency_ms"]) expect(missing).toContain(field);
    expect(body.rejected[2]?.errors.join(" ")).toMatch(/service/);
  });

  it("ignores a `sync` value other than 1 or true (answers at once, as without it) rather than refusing the batch", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/v1/logs?sync=yes`, {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(record("sync-other")),
      }),
      env,
      ctx,
    );
    expect(res.status).toBe(202);
    await waitOnExecutionContext(ctx);
    // Answered before the hand-off: no `stored` count, which only `?sync=1` waits for.
    expect(await res.json<IngestBody>()).toEqual({ accepted: 1, rejected: [] });
  });

  it("answers 400 invalid_records when every record is rejected, with the rejected list, and stores nothing", async () => {
    for (const sync of [false, true]) {
      const res = await postLogs([{ ...record("all-rejected"), status: 700 }, { service: "all-rejected" }], { sync });
      expect(res.status, `sync=${sync}`).toBe(400);
      const body = await res.json<{ error: { code: string; message: string; details: IngestBody } }>();
      expect(body.error.code).toBe("invalid_records");
      expect(body.error.details.accepted).toBe(0);
      expect(body.error.details.rejected.map((r) => r.index)).toEqual([0, 1]);
      expect(body.error.details.rejected[0]?.errors.join(" ")).toMatch(/status/);
    }
    // NDJSON: a line that is not JSON and a record that is not valid: still nothing accepted.
    const nd = await postLogs(`not json\n${JSON.stringify({ ...record("all-rejected"), latency_ms: -1 })}`, {
      raw: true,
      contentType: "application/x-ndjson",
    });
    expect(nd.status).toBe(400);
    const ndBody = await nd.json<{ error: { code: string; details: IngestBody } }>();
    expect(ndBody.error.code).toBe("invalid_records");
    expect(ndBody.error.details.rejected.map((r) => r.index)).toEqual([0, 1]);
    await flushAll();
    expect(await countLogs("all-rejected")).toBe(0);
  });

  it("rejects timestamps too far ahead or older than the retention, with that reason", async () => {
    const res = await postLogs([
      record("times", { timestamp: Date.now() + 10 * 60_000 }),
      record("times", { timestamp: Date.now() - 8 * 24 * 3_600_000 }),
      record("times", { timestamp: new Date(Date.now() - 60_000).toISOString() }),
    ]);
    const body = await res.json<IngestBody>();
    expect(body.accepted).toBe(1);
    expect(body.rejected[0]?.errors[0]).toMatch(/future/);
    expect(body.rejected[1]?.errors[0]).toMatch(/retention/);
  });

  it("answers 400 for a body that is neither JSON nor NDJSON, or empty", async () => {
    for (const raw of ["this is not json", "", "42", '{"a": 1']) {
      const res = await postLogs(raw, { raw: true });
      expect(res.status, raw).toBe(400);
      const body = await res.json<ErrorBody>();
      expect(body.error.code).toBe("invalid_body");
    }
  });

  it("answers 413 past 1 MiB or 1,000 records, and stores nothing", async () => {
    const big = JSON.stringify([record("too-big", { error: "x".repeat(1024 * 1024) })]);
    const res = await postLogs(big, { raw: true, sync: true });
    expect(res.status).toBe(413);
    expect((await res.json<ErrorBody>()).error.code).toBe("payload_too_large");

    const many = Array.from({ length: 1001 }, () => record("too-many"));
    const res2 = await postLogs(many, { sync: true });
    expect(res2.status).toBe(413);
    expect((await res2.json<ErrorBody>()).error.code).toBe("too_many_records");

    await storeAllRawLogs("thousand");
    const exactly = Array.from({ length: 1000 }, (_, i) => record("thousand", { id: `t-${i}` }));
    const res3 = await postLogs(exactly, { sync: true });
    expect(res3.status).toBe(202);
    await flushAll();
    expect(await countLogs("too-many")).toBe(0);
    expect(await countLogs("too-big")).toBe(0);
    expect(await countLogs("thousand")).toBe(1000);
  });

  it("stores a record with the same id once, however often it is sent", async () => {
    const r = record("idem", { id: "same-id" });
    const first = await (await postLogs(r, { sync: true })).json<{ stored: number; duplicates: number }>();
    expect(first.stored).toBe(1);
    const second = await (await postLogs(r, { sync: true })).json<{ stored: number; duplicates: number }>();
    expect(second).toMatchObject({ stored: 0, duplicates: 1 });
    await flushAll();
    await postLogs(r, { sync: true }); // again after the flush: recognised, D1 still has one row
    await flushAll();
    expect(await countLogs("idem")).toBe(1);
  });

  it("keeps two records with the same client id on different endpoints: ids are unique per endpoint", async () => {
    const a = record("id-clash", { id: "evt-1", path: "/orders" });
    const b = record("id-clash", { id: "evt-1", path: "/carts", method: "POST" });
    const res = await (await postLogs([a, b], { sync: true })).json<{ stored: number }>();
    expect(res.stored).toBe(2);
    await flushAll();
    const { body } = await getJson<{ logs: { id: string; method: string; route: string }[] }>(
      "/v1/logs?service=id-clash",
    );
    expect(body.logs.map((l) => `${l.method} ${l.route} ${l.id}`).sort()).toEqual([
      "GET /orders evt-1",
      "POST /carts evt-1",
    ]);
    // The same two records again are duplicates, each on its own endpoint.
    expect(await (await postLogs([a, b], { sync: true })).json()).toMatchObject({ stored: 0, duplicates: 2 });
    await flushAll();
    expect(await countLogs("id-clash")).toBe(2);
  });

  it("sends one RPC per endpoint per request: records are grouped by (service, method, route)", async () => {
    const records = [
      record("grouped", { path: "/a/1" }),
      record("grouped", { path: "/a/2" }),
      record("grouped", { path: "/b" }),
      record("grouped", { path: "/a/3", method: "DELETE" }),
    ];
    await postLogs(records, { sync: true });
    expect((await endpointStub("grouped", "GET", "/a/:id").stats()).received).toBe(2);
    expect((await endpointStub("grouped", "GET", "/b").stats()).received).toBe(1);
    expect((await endpointStub("grouped", "DELETE", "/a/:id").stats()).received).toBe(1);
  });

  it("caps distinct routes per service and counts the overflow under /:other", async () => {
    // MAX_ROUTES_PER_SERVICE is 5 in the test configuration.
    const records = ["a", "b", "c", "d", "e", "f", "g"].map((seg) => record("capped", { path: `/${seg}` }));
    await postLogs(records.slice(0, 3), { sync: true });
    await postLogs(records.slice(3), { sync: true });
    await flushAll();
    const { body } = await getJson<{ logs: { route: string; path: string }[] }>("/v1/logs?service=capped");
    const routes = new Set(body.logs.map((l) => l.route));
    expect(routes.size).toBe(6);
    expect(routes).toContain("/:other");
    expect(
      body.logs
        .filter((l) => l.route === "/:other")
        .map((l) => l.path)
        .sort(),
    ).toEqual(["/f", "/g"]);
    // A route admitted before the cap keeps its own endpoint.
    await postLogs([record("capped", { path: "/a" })], { sync: true });
    expect((await endpointStub("capped", "GET", "/a").stats()).received).toBe(2);
  });

  it("keeps routes another isolate admitted before the cap, even when this isolate meets the overflow first", async () => {
    // The registry already holds five routes (the cap), as if admitted through other isolates.
    const registry = env.SERVICE_REGISTRY.get(env.SERVICE_REGISTRY.idFromName("capped-elsewhere"));
    const vouched = ["/a", "/b", "/c", "/d", "/e"].map((route) => ({ route, vouched: true, exists: true }));
    await registry.decide(vouched, { maxRoutes: 5, ttlMs: Number.MAX_SAFE_INTEGER, ratePerHour: 1, burst: 1 });
    await postLogs([record("capped-elsewhere", { path: "/zzz" })], { sync: true });
    await postLogs([record("capped-elsewhere", { path: "/a" })], { sync: true });
    expect((await endpointStub("capped-elsewhere", "GET", "/a").stats()).received).toBe(1);
    expect((await endpointStub("capped-elsewhere", "GET", "/:other").stats()).received).toBe(1);
  });

  it("counts non-standard methods as OTHER so they cannot multiply endpoints", async () => {
    await postLogs([record("methods", { method: "AAAA" }), record("methods", { method: "aaab" })], { sync: true });
    expect((await endpointStub("methods", "OTHER", "/items/:id").stats()).received).toBe(2);
  });

  it("hands off in waitUntil without ?sync and the data still lands", async () => {
    const res = await postLogs([record("async-path", { id: "x1" }), record("async-path", { id: "x2" })]);
    expect(res.status).toBe(202);
    await eventually(async () => (await endpointStub("async-path", "GET", "/items/:id").stats()).received === 2);
    await flushAll();
    expect(await countLogs("async-path")).toBe(2);
  });

  it("stores normalised and redacted values", async () => {
    // ISO 8601 with an explicit offset, an hour ago.
    const ts = new Date(Date.now() - 3_600_000);
    // The same instant written in UTC+02:00 wall-clock time.
    const offset = new Date(ts.getTime() + 2 * 3_600_000).toISOString().replace("Z", "+02:00");
    await postLogs(
      record("normal", {
        method: "patch",
        path: "/users/123/orders/9f86d081884c7d65?api_key=sekret&page=2",
        error: "upstream said Bearer abc.def.ghi for card 4111 1111 1111 1111",
        attributes: { callback: "https://user:pw@example.com/cb", retries: 2, cached: false },
        timestamp: offset,
        id: "norm-1",
      }),
      { sync: true },
    );
    await flushAll();
    const { body } = await getJson<{ logs: Record<string, unknown>[] }>("/v1/logs?service=normal&limit=1000");
    const log = body.logs.find((l) => l.id === "norm-1");
    expect(log).toMatchObject({
      method: "PATCH",
      route: "/users/:id/orders/:id",
      path: "/users/123/orders/9f86d081884c7d65?api_key=[redacted]&page=2",
      timestamp: ts.getTime(),
      attributes: { callback: "https://[redacted]@example.com/cb", retries: 2, cached: false },
    });
    expect(String(log?.error)).not.toContain("abc.def.ghi");
    expect(String(log?.error)).not.toContain("4111");
  });

  it("round-trips every field through the Durable Object buffer and D1", async () => {
    const ts = Date.now() - 120_000;
    const input = record("fields", {
      timestamp: ts,
      id: "all-fields",
      method: "put",
      path: "/carts/77?page=3",
      route: "/carts/:cart_id",
      status: 201,
      latency_ms: 12.75,
      ttfb_ms: 3.5,
      request_bytes: 321,
      response_bytes: 0,
      error: "partial write",
      response_empty: true,
      inconsistent: true,
      request_id: "req-77",
      client_ip: "203.0.113.9",
      user_agent: "curl/8.5",
      consumer: "acme-co",
      region: "weur",
      attributes: { plan: "pro", retries: 0, beta: true },
      unknown_field: "ignored",
    });
    await postLogs(input, { sync: true });
    await flushAll();
    const { body } = await getJson<{ logs: Record<string, unknown>[] }>("/v1/logs?service=fields");
    expect(body.logs).toHaveLength(1);
    const log = body.logs[0] ?? {};
    expect(log).toEqual({
      log_id: "c:fields:PUT:/carts/:cart_id#all-fields",
      id: "all-fields",
      timestamp: ts,
      time: new Date(ts).toISOString(),
      received_at: expect.any(Number),
      service: "fields",
      method: "PUT",
      route: "/carts/:cart_id",
      path: "/carts/77?page=3",
      status: 201,
      latency_ms: 12.75,
      ttfb_ms: 3.5,
      request_bytes: 321,
      response_bytes: 0,
      error: "partial write",
      response_empty: true,
      inconsistent: true,
      request_id: "req-77",
      client_ip: "203.0.113.9",
      user_agent: "curl/8.5",
      consumer: "acme-co",
      region: "weur",
      attributes: { plan: "pro", retries: 0, beta: true },
      source: "ingest",
      weight: 1,
    });
    expect(Math.abs(Number(log.received_at) - Date.now())).toBeLessThan(60_000);
  });
});

describe("GET /v1/endpoints/:service/:method/:route", () => {
  it("reports an endpoint's counters and backlog, and zeros for an unknown one", async () => {
    await postLogs([record("ep", { path: "/carts/1", status: 503 }), record("ep", { path: "/carts/2" })], {
      sync: true,
    });
    const { status, body } = await getJson<Record<string, unknown>>(
      `/v1/endpoints/ep/get/${encodeURIComponent("/carts/:id")}`,
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({
      service: "ep",
      method: "GET",
      route: "/carts/:id",
      received: 2,
      backlog: 2,
      flushed: 0,
    });
    const minutes = body.minutes as { count: number; status_5xx: number }[];
    expect(minutes.reduce((n, m) => n + m.status_5xx, 0)).toBe(1);
    const unknown = await getJson<Record<string, unknown>>(`/v1/endpoints/ep/GET/${encodeURIComponent("/never")}`);
    expect(unknown.body).toMatchObject({ service: "ep", route: "/never", received: 0, backlog: 0 });
  });

  it("rejects a malformed endpoint with 400", async () => {
    for (const path of [
      "/v1/endpoints/bad%20name/GET/%2Fx",
      "/v1/endpoints/ok/G3T/%2Fx",
      "/v1/endpoints/ok/GET/no-slash",
    ]) {
      const { status, body } = await getJson<{ error: { code: string } }>(path);
      expect(status, path).toBe(400);
      expect(body.error.code).toBe("invalid_request");
    }
  });
});
