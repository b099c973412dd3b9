/**
 * No silent loss (issue 12, item 6): a D1 that refuses writes for capacity keeps the records in
 * the endpoint objects (never quarantined) and degrades /health; quarantined rows can be listed
 * and replayed; a hung registry and an overloaded object still leave every record stored.
 */
import {
  createExecutionContext,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { ingestCounters } from "../src/ingest/counters";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { ADMIN_KEY, BASE, INGEST_KEY, call, countLogs, endpointStub, getJson, record } from "./helpers";

/** D1's message for a database at its size limit (SQLite's SQLITE_FULL, as D1 reports it). */
const FULL_MESSAGE = "D1_ERROR: database or disk is full: SQLITE_FULL";

/**
 * A D1 binding that answers reads but refuses writes: `full` refuses every batch with D1's
 * capacity error; `poison` refuses statements whose bound text holds the marker, with `poisonMessage`.
 */
function faultyD1(db: D1Database) {
  const state = {
    full: false,
    poison: null as string | null,
    poisonMessage: "D1_ERROR: NOT NULL constraint failed: request_logs.status",
  };
  const poisoned = new WeakSet<object>();
  const wrapper = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          return new Proxy(statement, {
            get(st, p) {
              if (p === "bind") {
                return (...args: unknown[]) => {
                  const bound = st.bind(...args);
                  const marker = state.poison;
                  if (marker && args.some((a) => typeof a === "string" && a.includes(marker))) poisoned.add(bound);
                  return bound;
                };
              }
              const v: unknown = Reflect.get(st, p);
              return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(st) : v;
            },
          });
        };
      }
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (state.full) throw new Error(FULL_MESSAGE);
          if (statements.some((st) => poisoned.has(st))) throw new Error(state.poisonMessage);
          return target.batch(statements);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: wrapper, state };
}

async function useDb(stub: DurableObjectStub<EndpointMonitor>, db: D1Database): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    instance.logsDb = db;
  });
}

async function post(body: unknown, testEnv: Env = env, sync = true): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}/v1/logs${sync ? "?sync=1" : ""}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
    testEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

function batch(service: string, n: number, from = 0, overrides: Record<string, unknown> = {}) {
  return Array.from({ length: n }, (_, i) =>
    record(service, { id: `${service}-${from + i}`, path: "/orders", ...overrides }),
  );
}

async function runAlarms(stub: DurableObjectStub<EndpointMonitor>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await runDurableObjectAlarm(stub);
}

describe("a D1 that refuses writes for capacity", () => {
  it("keeps the records in the endpoint object (no quarantine), degrades /health, and flushes them when D1 recovers", async () => {
    const stub = endpointStub("full-db", "GET", "/orders");
    const fault = faultyD1(env.DB);
    await useDb(stub, fault.db);
    fault.state.full = true;
    expect(await (await post(batch("full-db", 20))).json()).toMatchObject({ stored: 20 });
    // Well past the tries after which a failing batch is tried row by row.
    await runAlarms(stub, 6);
    expect(await stub.stats()).toMatchObject({
      backlog: 20,
      quarantined: 0,
      in_quarantine: 0,
      flushed: 0,
      storage: "full",
    });
    expect(await countLogs("full-db")).toBe(0);
    // D1 still answers reads all along: only the error's message tells capacity from a bad row.
    expect(await fault.db.prepare("SELECT 1 AS one").first()).toEqual({ one: 1 });

    // The next hand-off hears it from the object: /health and the control status say so.
    expect(await (await post(batch("full-db", 5, 20))).json()).toMatchObject({ stored: 5 });
    const health = await (await call("/health")).json();
    expect(health).toMatchObject({ status: "degraded", storage: "full", full_since: expect.any(Number) });
    const { body: status } = await getJson<Record<string, unknown>>("/v1/control/status", ADMIN_KEY);
    expect(status).toMatchObject({ storage: "full" });

    // D1 has room again: everything buffered goes in, nothing was lost or quarantined.
    fault.state.full = false;
    await runAlarms(stub, 3);
    expect(await stub.stats()).toMatchObject({ backlog: 0, quarantined: 0, flushed: 25, storage: "ok" });
    expect(await countLogs("full-db")).toBe(25);
    expect(await (await post(batch("full-db", 1, 25))).json()).toMatchObject({ stored: 1 });
    expect(await (await call("/health")).json()).toMatchObject({ status: "ok", storage: "ok" });
  });
});

type QuarantineList = {
  records: {
    service: string;
    method: string;
    route: string;
    record_key: string;
    error: string;
    record: Record<string, unknown>;
  }[];
  next_cursor: string | null;
};

describe("GET /v1/control/quarantine and POST /v1/control/quarantine/replay", () => {
  it("lists quarantined records across endpoints, page by page, and replays them", async () => {
    const orders = endpointStub("quarantine-a", "GET", "/orders");
    const carts = endpointStub("quarantine-b", "POST", "/carts");
    const fault = faultyD1(env.DB);
    fault.state.poison = "pill";
    await useDb(orders, fault.db);
    await useDb(carts, fault.db);
    await post([...batch("quarantine-a", 5), ...batch("quarantine-a", 1, 0, { id: "pill-a" })]);
    await post([
      ...batch("quarantine-b", 3, 0, { path: "/carts", method: "POST" }),
      ...batch("quarantine-b", 2, 0, { path: "/carts", method: "POST" }).map((r, i) => ({ ...r, id: `pill-b${i}` })),
    ]);
    await runAlarms(orders, 6);
    await runAlarms(carts, 6);
    expect(await orders.stats()).toMatchObject({ flushed: 5, quarantined: 1, in_quarantine: 1 });
    expect(await carts.stats()).toMatchObject({ flushed: 3, quarantined: 2, in_quarantine: 2 });

    // Three records on two endpoints, listed one per page.
    const seen: QuarantineList["records"] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res: { status: number; body: QuarantineList } = await getJson<QuarantineList>(
        `/v1/control/quarantine?service=quarantine-a&limit=1${cursor ? `&cursor=${cursor}` : ""}`,
        ADMIN_KEY,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.records);
      cursor = res.body.next_cursor;
      if (!cursor) break;
    }
    expect(seen.map((r) => r.record_key)).toEqual(["c:quarantine-a:GET:/orders#pill-a"]);
    const all: QuarantineList[] = [];
    cursor = null;
    for (let page = 0; page < 6; page++) {
      const { body }: { body: QuarantineList } = await getJson<QuarantineList>(
        `/v1/control/quarantine?limit=1${cursor ? `&cursor=${cursor}` : ""}`,
        ADMIN_KEY,
      );
      all.push(body);
      cursor = body.next_cursor;
      if (!cursor) break;
    }
    const listed = all.flatMap((p) => p.records).filter((r) => r.service.startsWith("quarantine-"));
    expect(listed.map((r) => `${r.service} ${r.method} ${r.route} ${r.record_key}`)).toEqual([
      "quarantine-a GET /orders c:quarantine-a:GET:/orders#pill-a",
      "quarantine-b POST /carts c:quarantine-b:POST:/carts#pill-b0",
      "quarantine-b POST /carts c:quarantine-b:POST:/carts#pill-b1",
    ]);
    expect(listed[0]).toMatchObject({
      error: expect.stringContaining("NOT NULL"),
      record: { service: "quarantine-a", client_id: "pill-a", status: 200 },
    });

    // A replay while D1 still refuses them: they stay, with D1's new error.
    fault.state.poisonMessage = "D1_ERROR: CHECK constraint failed: second try";
    const again = await call("/v1/control/quarantine/replay?service=quarantine-b", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ replayed: 0, failed: 2, remaining: 2 });
    const { body: stillThere } = await getJson<QuarantineList>(
      "/v1/control/quarantine?service=quarantine-b",
      ADMIN_KEY,
    );
    expect(stillThere.records.map((r) => r.error)).toEqual([
      expect.stringContaining("second try"),
      expect.stringContaining("second try"),
    ]);

    // The cause is fixed: a replay of everything moves them to D1 and empties the quarantine.
    fault.state.poison = null;
    const fixed = await call("/v1/control/quarantine/replay", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(await fixed.json()).toMatchObject({ failed: 0, remaining: 0 });
    expect(await countLogs("quarantine-a")).toBe(6);
    expect(await countLogs("quarantine-b")).toBe(5);
    const { body: empty } = await getJson<QuarantineList>("/v1/control/quarantine", ADMIN_KEY);
    expect(empty.records.filter((r) => r.service.startsWith("quarantine-"))).toEqual([]);
    expect(await carts.stats()).toMatchObject({ in_quarantine: 0, quarantined: 2 });
  });

  it("refuses a cursor it did not make, and a limit out of range, with 400 in the envelope", async () => {
    for (const q of ["cursor=not-ours", "limit=0", "limit=501"]) {
      const res = await call(`/v1/control/quarantine?${q}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
  });
});

/** A namespace whose objects answer `method` with `answer` (counting calls); everything else is the real one. */
function wrapNamespace<N extends { get(id: DurableObjectId): object; getByName(name: string): object }>(
  ns: N,
  method: string,
  answer: () => Promise<unknown>,
) {
  const calls = { n: 0 };
  const wrapStub = (real: object) =>
    new Proxy(real, {
      get(stub, p) {
        if (p === method) {
          return () => {
            calls.n++;
            return answer();
          };
        }
        const v: unknown = Reflect.get(stub, p);
        // Reflect.apply, not .bind: an RPC method stub takes any property (bind included) for a remote method.
        return typeof v === "function"
          ? (...a: unknown[]) => Reflect.apply(v as (...b: unknown[]) => unknown, stub, a)
          : v;
      },
    });
  const wrapped = new Proxy(ns, {
    get(target, prop) {
      if (prop === "get") return (id: DurableObjectId) => wrapStub(target.get(id));
      // How src/monitor/endpoint-object.ts reaches an endpoint object.
      if (prop === "getByName") return (name: string) => wrapStub(target.getByName(name));
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { ns: wrapped, calls };
}

describe("hand-off faults of issue 12", () => {
  it("a registry that never answers: the batch is still stored (records keep their route) and the stall is counted", async () => {
    const hung = wrapNamespace(env.SERVICE_REGISTRY, "decide", () => new Promise(() => undefined));
    const before = ingestCounters.route_cap_unavailable;
    const testEnv = { ...env, SERVICE_REGISTRY: hung.ns };
    const res = await post(batch("hung-registry", 4), testEnv);
    expect(await res.json()).toMatchObject({ accepted: 4, stored: 4 });
    // Without ?sync=1 too: the background hand-off (waitUntil) ends and stores the records.
    const res2 = await post(batch("hung-registry-bg", 3), testEnv, false);
    expect(res2.status).toBe(202);
    expect(hung.calls.n).toBe(2);
    expect(ingestCounters.route_cap_unavailable - before).toBe(2);
    await runAlarms(endpointStub("hung-registry", "GET", "/orders"), 1);
    await runAlarms(endpointStub("hung-registry-bg", "GET", "/orders"), 1);
    expect(await countLogs("hung-registry")).toBe(4);
    expect(await countLogs("hung-registry-bg")).toBe(3);
  }, 20_000);

  it("an overloaded Durable Object is not retried: its records go to D1 directly", async () => {
    const overloaded = wrapNamespace(env.ENDPOINT_MONITOR, "ingest", () => {
      const err = new Error("Durable Object is overloaded. Too many requests queued.");
      Object.assign(err, { overloaded: true, retryable: true });
      return Promise.reject(err);
    });
    const retries = ingestCounters.handoff_retries;
    const overloads = ingestCounters.handoff_overloaded;
    const res = await post(batch("overloaded-do", 6), { ...env, ENDPOINT_MONITOR: overloaded.ns });
    expect(await res.json()).toMatchObject({ accepted: 6, stored: 0, stored_directly_in_d1: 6 });
    expect(overloaded.calls.n).toBe(1);
    expect(ingestCounters.handoff_retries - retries).toBe(0);
    expect(ingestCounters.handoff_overloaded - overloads).toBe(1);
    expect(await countLogs("overloaded-do")).toBe(6);
    // Backing off: the next batch for that endpoint goes to D1 without asking the object again.
    const next = await post(batch("overloaded-do", 2, 6), { ...env, ENDPOINT_MONITOR: overloaded.ns });
    expect(await next.json()).toMatchObject({ stored_directly_in_d1: 2 });
    expect(overloaded.calls.n).toBe(1);
  });

  it("an error not marked retryable is not retried either", async () => {
    const broken = wrapNamespace(env.ENDPOINT_MONITOR, "ingest", () => Promise.reject(new TypeError("a bug")));
    const res = await post(batch("unretryable-do", 2), { ...env, ENDPOINT_MONITOR: broken.ns });
    expect(await res.json()).toMatchObject({ stored_directly_in_d1: 2 });
    expect(broken.calls.n).toBe(1);
  });
});
