// Route and cardinality safety (issue 12, item 4): traffic no key vouches for cannot crowd out
// real routes, routes expire, services created by ingest are capped, /health says so.
// Requests go through the worker's own fetch (same module as the caches reset here) with the env
// overridden where a test needs other limits. MAX_ROUTES_PER_SERVICE is 5 in vitest.config.ts.
import {
  createExecutionContext,
  listDurableObjectIds,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import worker from "../src/index";
import { capRoutes } from "../src/ingest/handoff";
import { resetCapCaches } from "../src/ingest/caps";
import type { LogRecord } from "../src/ingest/record";
import type { ServiceRegistry } from "../src/monitor/service-registry";
import { ADMIN_KEY, BASE, INGEST_KEY, READ_KEY, countLogs, flushAll, record } from "./helpers";

type Overrides = Partial<
  Record<
    "MAX_ROUTES_PER_SERVICE" | "PROXY_ROUTES_BURST" | "PROXY_ROUTES_PER_HOUR" | "MAX_SERVICES" | "ROUTE_TTL_DAYS",
    string
  >
>;

interface Answer {
  status: number;
  body: string;
}

/** Sends requests through the worker (in parallel, `chunk` at a time) and waits for their waitUntil work. */
async function send(
  requests: { path: string; init?: RequestInit }[],
  over: Overrides = {},
  chunk = 50,
): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < requests.length; i += chunk) {
    const part = requests.slice(i, i + chunk).map(async ({ path, init }) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, ...over }, ctx);
      const body = await res.text();
      await waitOnExecutionContext(ctx);
      return { status: res.status, body };
    });
    out.push(...(await Promise.all(part)));
  }
  return out;
}

async function one(path: string, init: RequestInit = {}, over: Overrides = {}): Promise<Answer> {
  const [res] = await send([{ path, init }], over);
  if (!res) throw new Error("no response");
  return res;
}

async function createService(name: string): Promise<void> {
  const res = await one(`/v1/services/${name}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ origin: "http://origin.test" }),
  });
  expect([200, 201]).toContain(res.status);
}

async function routesInD1(service: string): Promise<Record<string, number>> {
  await flushAll();
  const { results } = await env.DB.prepare(
    "SELECT route, count(*) AS n FROM request_logs WHERE service = ? GROUP BY route",
  )
    .bind(service)
    .all<{ route: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.route, r.n]));
}

function registry(service: string) {
  return env.SERVICE_REGISTRY.get(env.SERVICE_REGISTRY.idFromName(service));
}

interface Caps {
  known: boolean;
  reached: boolean;
  max_routes_per_service: number;
  services: { max: number; count: number; reached: boolean; refused_at: string | null };
  route_cap_reached: { service?: string; at: string }[];
  route_rate_limited: { service?: string; at: string }[];
}

async function caps(over: Overrides = {}, key: string | null = READ_KEY): Promise<Caps> {
  resetCapCaches();
  const res = await one("/health", key ? { headers: { Authorization: `Bearer ${key}` } } : {}, over);
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { caps: Caps }).caps;
}

beforeEach(() => resetCapCaches());

describe("proxied routes are admitted only when shown, at a bounded rate", () => {
  it("505 anonymous junk GETs the origin answers 404 do not take the place of /orders", async () => {
    await createService("rs-junk404");
    const before = (await listDurableObjectIds(env.ENDPOINT_MONITOR)).length;
    const junk = Array.from({ length: 505 }, (_, i) => ({
      path: `/proxy/rs-junk404/probe-${i}${Math.random().toString(36).slice(2, 6)}`,
    }));
    const answers = await send(junk);
    expect(answers.every((r) => r.status === 404)).toBe(true);
    const orders = await one("/proxy/rs-junk404/orders");
    expect(orders.status).toBe(200);

    const routes = await routesInD1("rs-junk404");
    expect(routes["/orders"]).toBe(1);
    expect(routes["/:other"]).toBe(505);
    expect(Object.keys(routes).sort()).toEqual(["/:other", "/orders"]);
    expect(await registry("rs-junk404").list()).toEqual(["/orders"]);
    // The junk cost one endpoint object (/:other), /orders another: not one per path.
    expect((await listDurableObjectIds(env.ENDPOINT_MONITOR)).length - before).toBe(2);
    // No cap was reached: junk that shows nothing is not even a candidate.
    const c = await caps();
    expect(c.route_cap_reached.map((e) => e.service)).not.toContain("rs-junk404");
    expect(c.route_rate_limited.map((e) => e.service)).not.toContain("rs-junk404");
  }, 60_000);

  it("405, 410 and 501 do not admit a route; 401 and 500 do", async () => {
    await createService("rs-status");
    for (const status of [405, 410, 501]) expect((await one(`/proxy/rs-status/status/${status}`)).status).toBe(status);
    expect(await registry("rs-status").list()).toEqual([]);
    for (const status of [401, 500]) expect((await one(`/proxy/rs-status/status/${status}`)).status).toBe(status);
    // templateRoute keeps the numeric status as :id: one route for both.
    expect(await registry("rs-status").list()).toEqual(["/status/:id"]);
  });

  it("junk that answers 200 beyond the rate is counted under /:other and creates no more objects than the burst", async () => {
    await createService("rs-junk200");
    const over: Overrides = { MAX_ROUTES_PER_SERVICE: "500", PROXY_ROUTES_BURST: "3", PROXY_ROUTES_PER_HOUR: "1" };
    const before = (await listDurableObjectIds(env.ENDPOINT_MONITOR)).length;
    const junk = Array.from({ length: 60 }, (_, i) => ({ path: `/proxy/rs-junk200/wild/probe-${i}` }));
    const answers = await send(junk, over, 20);
    expect(answers.every((r) => r.status === 200)).toBe(true);

    const admitted = await registry("rs-junk200").list();
    expect(admitted).toHaveLength(3);
    const routes = await routesInD1("rs-junk200");
    expect(routes["/:other"]).toBe(57);
    for (const r of admitted) expect(routes[r]).toBe(1);
    expect((await listDurableObjectIds(env.ENDPOINT_MONITOR)).length - before).toBe(4);

    // Keyed traffic is not held by the proxy's rate: an ingested route is still admitted.
    const res = await one(
      "/v1/logs?sync=1",
      {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(record("rs-junk200", { path: "/orders" })),
      },
      over,
    );
    expect(res.status).toBe(202);
    expect(await registry("rs-junk200").list()).toContain("/orders");

    const c = await caps(over);
    expect(c.reached).toBe(true);
    expect(c.route_rate_limited.map((e) => e.service)).toContain("rs-junk200");
  }, 30_000);
});

describe("route expiry", () => {
  const DAY = 24 * 60 * 60 * 1000;
  const rec = (route: string): LogRecord =>
    ({
      key: crypto.randomUUID(),
      service: "rs-expiry",
      method: "GET",
      route,
      path: route,
      status: 200,
      ttfb_ms: null,
      source: "ingest",
    }) as LogRecord;

  it("routes unused for ROUTE_TTL_DAYS free their place; a route in use is touched from the isolate cache and kept", async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const fill = ["/r1", "/r2", "/r3", "/r4", "/r5"].map(rec);
    await capRoutes(env, fill, t0);
    expect(fill.map((r) => r.route)).toEqual(["/r1", "/r2", "/r3", "/r4", "/r5"]);

    // Full (cap 5): a sixth route is counted under /:other.
    const early = [rec("/new")];
    await capRoutes(env, early, t0 + 10 * DAY);
    expect(early[0]?.route).toBe("/:other");

    // /r1 is used again: the isolate's answer is older than a day, so it tells the registry.
    await capRoutes(env, [rec("/r1")], t0 + 20 * DAY);

    // 31 days after t0, /r2-/r5 are past the 30-day TTL; /r1 (seen on day 20) is not.
    const late = [rec("/new")];
    await capRoutes(env, late, t0 + 31 * DAY);
    expect(late[0]?.route).toBe("/new");
    expect((await registry("rs-expiry").list()).sort()).toEqual(["/new", "/r1"]);
  });
});

describe("registry schema", () => {
  it("a registry stored by the previous version (schema 1) keeps its routes, each with a full TTL", async () => {
    const stub = registry("rs-v1");
    await runInDurableObject(stub, (instance: ServiceRegistry, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP INDEX IF EXISTS idx_routes_last_seen");
      sql.exec("DROP TABLE routes");
      sql.exec("CREATE TABLE routes (route TEXT PRIMARY KEY, first_seen_at INTEGER NOT NULL)");
      sql.exec("INSERT INTO routes (route, first_seen_at) VALUES ('/old', 1)");
      sql.exec("UPDATE meta SET value = '1' WHERE key = 'schema_version'");
      (instance as unknown as { migrate(): void }).migrate();
      expect(sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe("2");
    });
    expect(await stub.list()).toEqual(["/old"]);
    const settings = { maxRoutes: 5, ttlMs: 24 * 60 * 60 * 1000, ratePerHour: 1, burst: 1 };
    expect((await stub.decide([{ route: "/old", vouched: false, exists: false }], settings)).routes["/old"]).toBe(
      "/old",
    );
  });
});

describe("MAX_SERVICES", () => {
  it("a record for a new service past the cap is rejected per record; configured services always pass", async () => {
    const start = await caps();
    const over: Overrides = { MAX_SERVICES: String(start.services.count + 2) };
    const body = [
      record("rs-new-1"),
      record("rs-new-2"),
      record("rs-new-3"),
      record("shop", { path: "/capped-services" }),
      record("rs-new-1", { path: "/again" }),
    ];
    const res = await one(
      "/v1/logs?sync=1",
      {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      },
      over,
    );
    expect(res.status).toBe(202);
    const json = JSON.parse(res.body) as { accepted: number; rejected: { index: number; errors: string[] }[] };
    expect(json.accepted).toBe(4);
    expect(json.rejected).toHaveLength(1);
    expect(json.rejected[0]?.index).toBe(2);
    expect(json.rejected[0]?.errors[0]).toMatch(/MAX_SERVICES/);
    await flushAll();
    expect(await countLogs("rs-new-3")).toBe(0);
    expect(await countLogs("rs-new-1")).toBe(2);
    expect(await registry("rs-new-3").list()).toEqual([]);

    const c = await caps(over);
    expect(c.reached).toBe(true);
    expect(c.services).toMatchObject({ max: start.services.count + 2, count: start.services.count + 2, reached: true });
    expect(c.services.refused_at).toEqual(expect.any(String));
  });

  it("OTLP spans of a new service past the cap are refused (400 invalid_records when no span is left)", async () => {
    const start = await caps();
    const over: Overrides = { MAX_SERVICES: String(start.services.count) };
    const now = BigInt(Date.now() - 2000) * 1_000_000n;
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "rs-otlp-new" } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: "5b8efff798038103d269b633813fc60c",
                  spanId: "00000000000000aa",
                  name: "GET /x",
                  kind: 2,
                  startTimeUnixNano: now.toString(),
                  endTimeUnixNano: (now + 5_000_000n).toString(),
                  attributes: [
                    { key: "http.request.method", value: { stringValue: "GET" } },
                    { key: "url.path", value: { stringValue: "/x" } },
                    { key: "http.response.status_code", value: { intValue: "200" } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await one(
      "/v1/otlp/v1/traces",
      {
        method: "POST",
        headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      },
      over,
    );
    // Its only span refused: nothing accepted, so 400 invalid_records (a partial refusal is a 200 partialSuccess).
    expect(res.status).toBe(400);
    const answer = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe("invalid_records");
    expect(answer.error.message).toMatch(/MAX_SERVICES/);
    await flushAll();
    expect(await countLogs("rs-otlp-new")).toBe(0);
  });
});

describe("/health", () => {
  it("names the services whose route cap refused a route", async () => {
    const body = ["/a", "/b", "/c", "/d", "/e", "/f"].map((path) => record("rs-full", { path }));
    const res = await one("/v1/logs?sync=1", {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    const c = await caps();
    expect(c.known).toBe(true);
    expect(c.max_routes_per_service).toBe(5);
    expect(c.route_cap_reached.map((e) => e.service)).toContain("rs-full");
    // Without a read key /health says when, not which service (it is public).
    const anonymous = await caps({}, null);
    expect(anonymous.reached).toBe(true);
    expect(anonymous.route_cap_reached.length).toBeGreaterThan(0);
    expect(anonymous.route_cap_reached.every((e) => e.service === undefined && typeof e.at === "string")).toBe(true);
  });
});
