/**
 * Regression tests for three review fixes of issue 12 (commit a1d4f53) that had none: rows
 * quarantined before D1's quarantine index existed (in the row layout of that version) are
 * published, listed and replayed; a quarantine change made while its count is being published
 * keeps the flag (a token, not a boolean), so the newer count is published too; the isolate's
 * route cache is bounded in entries across all services.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LOG_COLUMNS, toLogRow } from "../src/db/log-writer";
import { capRoutes, MAX_CACHED_ENTRIES, routeCacheEntries } from "../src/ingest/handoff";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import { ADMIN_KEY, call, countLogs, endpointStub, getJson, postLogs, record } from "./helpers";

type QuarantineList = {
  records: { record_key: string; service: string; error: string; record: Record<string, unknown> }[];
  next_cursor: string | null;
};

function logRecord(service: string, overrides: Record<string, unknown>): LogRecord {
  const result = normaliseRecord(record(service, overrides), {
    now: Date.now(),
    retentionMs: 7 * 86_400_000,
    newKey: () => crypto.randomUUID(),
  });
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.record;
}

async function indexed(service: string): Promise<number | null> {
  const row = await env.DB.prepare("SELECT records FROM quarantined_endpoints WHERE service = ?")
    .bind(service)
    .first<{ records: number }>();
  return row?.records ?? null;
}

async function runAlarms(stub: DurableObjectStub<EndpointMonitor>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await runDurableObjectAlarm(stub);
}

describe("review fixes of issue 12", () => {
  it("rows quarantined before the D1 index (older row layout) are published, listed and replayed", async () => {
    const service = "rv-old-quarantine";
    const stub = endpointStub(service, "GET", "/orders");
    await postLogs([record(service, { id: "first", path: "/orders" })], { sync: true });
    await runAlarms(stub, 2);
    // What an older version left: a quarantined row without the `inconsistent` column (appended
    // to the layout later), no entry in D1's index, and none of the flags that publish it.
    const key = `c:${service}:GET:/orders#old-row`;
    const old = await runInDurableObject(stub, (_i: EndpointMonitor, state) => {
      const values: unknown[] = toLogRow(logRecord(service, { id: "old-row", path: "/orders" }));
      values[LOG_COLUMNS.indexOf("record_key")] = key;
      values[LOG_COLUMNS.indexOf("client_id")] = "old-row";
      const oldLayout = values.slice(0, LOG_COLUMNS.indexOf("inconsistent"));
      state.storage.sql.exec(
        "INSERT INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, ?, ?)",
        key,
        JSON.stringify(oldLayout),
        "D1_ERROR: from an older version",
        Date.now() - 86_400_000,
      );
      state.storage.sql.exec("DELETE FROM meta WHERE key IN ('quarantine_indexed', 'quarantine_unpublished')");
      return oldLayout.length;
    });
    expect(old).toBe(LOG_COLUMNS.indexOf("inconsistent"));
    await env.DB.prepare("DELETE FROM quarantined_endpoints WHERE service = ?").bind(service).run();
    expect(
      (await getJson<QuarantineList>(`/v1/control/quarantine?service=${service}`, ADMIN_KEY)).body.records,
    ).toEqual([]);

    // The new version starts (the object is loaded again), and its next alarm publishes the rows.
    await evictDurableObject(stub);
    await postLogs([record(service, { id: "second", path: "/orders" })], { sync: true });
    await runAlarms(stub, 2);
    expect(await indexed(service)).toBe(1);
    const { body } = await getJson<QuarantineList>(`/v1/control/quarantine?service=${service}`, ADMIN_KEY);
    expect(body.records.map((r) => r.record_key)).toEqual([key]);
    expect(body.records[0]?.record).toMatchObject({ service, client_id: "old-row", inconsistent: null });

    const replay = await call(`/v1/control/quarantine/replay?service=${service}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(await replay.json()).toMatchObject({ replayed: 1, failed: 0, remaining: 0 });
    expect(await countLogs(service)).toBe(3);
    const stored = await env.DB.prepare("SELECT inconsistent FROM request_logs WHERE record_key = ?")
      .bind(key)
      .first<{ inconsistent: number }>();
    expect(stored?.inconsistent).toBe(0);
    expect(await indexed(service)).toBe(0);
  });

  it("a quarantine change while its count is being published keeps the flag: the newer count follows", async () => {
    const service = "rv-token";
    const stub = endpointStub(service, "GET", "/orders");
    await postLogs([record(service, { id: "a", path: "/orders" })], { sync: true });
    await runAlarms(stub, 2);
    // D1's write of the count is slow: while it is in flight a flush quarantines one more row.
    await runInDurableObject(stub, (instance: EndpointMonitor, state) => {
      const sql = state.storage.sql;
      const body = JSON.stringify(toLogRow(logRecord(service, { id: "q", path: "/orders" })));
      sql.exec(
        "INSERT INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, 'D1_ERROR: x', ?)",
        `${service}#q1`,
        body,
        Date.now(),
      );
      sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('quarantine_unpublished', 'first-change')");
      const real = env.DB;
      let raced = false;
      instance.logsDb = new Proxy(real, {
        get(target, prop) {
          if (prop === "batch" || prop === "prepare") {
            const fn = Reflect.get(target, prop) as (...a: unknown[]) => unknown;
            return (...args: unknown[]) => {
              const text = JSON.stringify(args[0] ?? "");
              if (!raced && prop === "prepare" && text.includes("quarantined_endpoints")) {
                raced = true;
                sql.exec(
                  "INSERT INTO quarantine (record_key, body, error, quarantined_at) VALUES (?, ?, 'D1_ERROR: y', ?)",
                  `${service}#q2`,
                  body,
                  Date.now(),
                );
                sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('quarantine_unpublished', 'second-change')");
              }
              return fn.apply(target, args);
            };
          }
          const v: unknown = Reflect.get(target, prop);
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    });
    await postLogs([record(service, { id: "b", path: "/orders" })], { sync: true });
    await runDurableObjectAlarm(stub);
    // The publish that raced wrote the count it read (1 or 2); the flag of the later change stays.
    const flag = await runInDurableObject(
      stub,
      (_i: EndpointMonitor, state) =>
        state.storage.sql
          .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'quarantine_unpublished'")
          .toArray()[0]?.value ?? null,
    );
    expect(flag).toBe("second-change");
    await postLogs([record(service, { id: "c", path: "/orders" })], { sync: true });
    await runDurableObjectAlarm(stub);
    expect(await indexed(service)).toBe(2);
  });

  it("the isolate's route cache stays within its bound across many services", async () => {
    const services = 10;
    const perService = Math.ceil((MAX_CACHED_ENTRIES * 1.25) / services);
    for (let s = 0; s < services; s++) {
      const records = Array.from({ length: perService }, (_, i) =>
        logRecord(`rv-cache-${s}`, { path: `/r${i}`, route: `/r${i}` }),
      );
      await capRoutes(env, records);
      expect(routeCacheEntries()).toBeLessThanOrEqual(MAX_CACHED_ENTRIES);
      // Every record still got an answer: its own route (admitted) or the overflow route.
      expect(records.every((r) => r.route === `/r${records.indexOf(r)}` || r.route === "/:other")).toBe(true);
    }
    expect(routeCacheEntries()).toBeGreaterThan(0);
  });
});
