/**
 * The endpoint object's schema in numbered steps (src/monitor/object-schema.ts): a new object gets
 * the latest version, an object written before the steps (version 3, without the breakdown column)
 * is brought up to date once, a wake at the latest version runs no step, and stored JSON of an
 * unexpected shape fails naming its key (src/monitor/stored-json.ts).
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EndpointMonitor } from "../src/monitor/endpoint-monitor";
import {
  migrateObjectSchema,
  OBJECT_SCHEMA_VERSION,
  storedSchemaVersion,
  type SchemaStep,
} from "../src/monitor/object-schema";
import { BufferMarksSchema, parseStored } from "../src/monitor/stored-json";
import { normaliseRecord } from "../src/ingest/record";
import { endpointStub, record } from "./helpers";

const columns = (sql: SqlStorage, table: string) =>
  sql
    .exec<{ name: string }>(`PRAGMA table_info(${table})`)
    .toArray()
    .map((c) => c.name);

describe("endpoint object schema", () => {
  it("a new object is at the latest version; an object of version 3 without the breakdown column is migrated once", async () => {
    const stub = endpointStub("schema-svc", "GET", "/orders");
    expect((await stub.stats()).received).toBe(0);
    const fresh = await runInDurableObject(stub, (_i: EndpointMonitor, state) =>
      storedSchemaVersion(state.storage.sql),
    );
    expect(fresh).toBe(OBJECT_SCHEMA_VERSION);

    // As the code before the steps left an object: version "3", windows without `breakdown`, no outbox.
    await runInDurableObject(stub, (_i: EndpointMonitor, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE windows");
      sql.exec(
        "CREATE TABLE windows (grain INTEGER NOT NULL, start INTEGER NOT NULL, count INTEGER NOT NULL, status_2xx INTEGER NOT NULL, status_3xx INTEGER NOT NULL, status_4xx INTEGER NOT NULL, status_5xx INTEGER NOT NULL, silent_failures INTEGER NOT NULL, inconsistent INTEGER NOT NULL, slow INTEGER NOT NULL, latency_sum REAL NOT NULL, latency_max REAL NOT NULL, bytes INTEGER NOT NULL, sketch TEXT NOT NULL, PRIMARY KEY (grain, start)) WITHOUT ROWID",
      );
      sql.exec("DROP TABLE alert_outbox");
      sql.exec("UPDATE meta SET value = '3' WHERE key = 'schema_version'");
    });
    await evictDurableObject(stub);
    const woken = endpointStub("schema-svc", "GET", "/orders");
    // The migrated object takes records (their windows need the breakdown column).
    const one = normaliseRecord(record("schema-svc", { id: "schema-1", path: "/orders" }), {
      now: Date.now(),
      retentionMs: 86_400_000,
      newKey: () => crypto.randomUUID(),
    });
    if (!one.ok) throw new Error(one.errors.join("; "));
    expect(await woken.ingest([one.record])).toMatchObject({ stored: 1 });
    const after = await runInDurableObject(woken, (_i: EndpointMonitor, state) => {
      const sql = state.storage.sql;
      return {
        version: storedSchemaVersion(sql),
        breakdown: columns(sql, "windows").includes("breakdown"),
        outbox: columns(sql, "alert_outbox").length > 0,
      };
    });
    expect(after).toEqual({ version: OBJECT_SCHEMA_VERSION, breakdown: true, outbox: true });
  });

  it("an object of version 4 (windows without status_429) gets the column once (step 5); older rows count no 429s, new records do", async () => {
    const stub = endpointStub("schema-429", "GET", "/orders");
    const ctx = { now: Date.now(), retentionMs: 86_400_000, newKey: () => crypto.randomUUID() };
    const at = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
    const one = (id: string, status: number) => {
      const out = normaliseRecord(record("schema-429", { id, path: "/orders", status, timestamp: at + 1_000 }), ctx);
      if (!out.ok) throw new Error(out.errors.join("; "));
      return out.record;
    };
    expect(await stub.ingest([one("a", 429)])).toMatchObject({ stored: 1 });
    await runInDurableObject(stub, (instance: EndpointMonitor) => instance.jobs.checkpoint.persist(Date.now(), true));
    // As version 4 left it: the windows without status_429 (the row's 429 not counted apart).
    await runInDurableObject(stub, (_i: EndpointMonitor, state) => {
      const sql = state.storage.sql;
      sql.exec("ALTER TABLE windows DROP COLUMN status_429");
      sql.exec("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
    });
    await evictDurableObject(stub);
    const woken = endpointStub("schema-429", "GET", "/orders");
    expect(await woken.ingest([one("b", 429), one("c", 200)])).toMatchObject({ stored: 2 });
    await runInDurableObject(woken, (instance: EndpointMonitor) => instance.jobs.checkpoint.persist(Date.now(), true));
    const after = await runInDurableObject(woken, (_i: EndpointMonitor, state) => {
      const sql = state.storage.sql;
      const row = sql
        .exec<{ count: number; status_4xx: number; status_429: number }>(
          "SELECT count, status_4xx, status_429 FROM windows WHERE grain = 60000 AND start = ?",
          at,
        )
        .one();
      return { version: storedSchemaVersion(sql), row, again: migrateObjectSchema(sql).ran };
    });
    expect(after).toEqual({ version: 5, row: { count: 3, status_4xx: 2, status_429: 1 }, again: [] });
    expect(OBJECT_SCHEMA_VERSION).toBe(5);
  });

  it("runs only the steps above the stored version, in order, and none at the latest", async () => {
    const stub = endpointStub("schema-steps", "GET", "/orders");
    await stub.stats();
    const out = await runInDurableObject(stub, (_i: EndpointMonitor, state) => {
      const sql = state.storage.sql;
      const ran: number[] = [];
      const step = (version: number, statement: string): SchemaStep => ({
        version,
        what: statement,
        run: (s) => (ran.push(version), s.exec(statement)),
      });
      const steps = [
        step(OBJECT_SCHEMA_VERSION + 2, "ALTER TABLE scratch ADD COLUMN b TEXT"),
        step(OBJECT_SCHEMA_VERSION + 1, "CREATE TABLE scratch (a TEXT)"),
      ];
      const first = migrateObjectSchema(sql, steps);
      const again = migrateObjectSchema(sql, steps);
      return { first, again, ran, scratch: columns(sql, "scratch"), stored: storedSchemaVersion(sql) };
    });
    expect(out.first).toEqual({
      from: OBJECT_SCHEMA_VERSION,
      to: OBJECT_SCHEMA_VERSION + 2,
      ran: [OBJECT_SCHEMA_VERSION + 1, OBJECT_SCHEMA_VERSION + 2],
    });
    expect(out.again.ran).toEqual([]);
    expect(out.ran).toEqual([OBJECT_SCHEMA_VERSION + 1, OBJECT_SCHEMA_VERSION + 2]);
    expect(out.scratch).toEqual(["a", "b"]);
    expect(out.stored).toBe(OBJECT_SCHEMA_VERSION + 2);
  });

  it("stored JSON of an unexpected shape fails naming its key; a valid value parses", () => {
    expect(
      parseStored(
        BufferMarksSchema,
        "buffer_marks",
        JSON.stringify({ d1: { seq: 3, offset: 0 }, r2: 2, r2_pass: [2, 5] }),
      ),
    ).toEqual({ d1: { seq: 3, offset: 0 }, r2: 2, r2_pass: [2, 5] });
    expect(() => parseStored(BufferMarksSchema, "buffer_marks", JSON.stringify({ d1: 3, r2: "x" }))).toThrow(
      /stored buffer_marks has an unexpected shape/,
    );
  });
});
