import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkDb, LATEST_MIGRATION } from "../src/health/checks";
import worker from "../src/index";
import { BASE, call } from "./helpers";

type ErrorBody = { error: { code: string; message: string } };

describe("health", () => {
  it("GET /health reports status, version and time", async () => {
    const res = await call("/health");
    const body = await res.json<{ status: string; version: string; time: string }>();
    expect(res.status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Math.abs(Date.parse(body.time) - Date.now())).toBeLessThan(60_000);
  });

  it("GET /health/live answers without touching D1", async () => {
    const broken = { ...env, DB: undefined as unknown as D1Database };
    const res = await worker.fetch(new Request(`${BASE}/health/live`), broken, createExecutionContext());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("GET /health/ready and /health/db check D1 and the latest migration", async () => {
    for (const path of ["/health/ready", "/health/db"]) {
      const res = await call(path);
      expect(res.status, path).toBe(200);
      expect(JSON.stringify(await res.json())).toContain(LATEST_MIGRATION);
    }
  });

  it("LATEST_MIGRATION is the newest file in migrations/", () => {
    const names = env.TEST_MIGRATIONS.map((m) => m.name).sort();
    expect(names[names.length - 1]).toBe(LATEST_MIGRATION);
  });

  it("reports 503 when D1 fails or the migrations are missing", async () => {
    const failing = {
      prepare: () => {
        throw new Error("D1_ERROR: network connection lost");
      },
    } as unknown as D1Database;
    const res = await worker.fetch(new Request(`${BASE}/health/db`), { ...env, DB: failing }, createExecutionContext());
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "unavailable", ok: false, reason: "D1 is not reachable" });

    const unmigrated = {
      prepare: () => {
        throw new Error("D1_ERROR: no such table: d1_migrations: SQLITE_ERROR");
      },
    } as unknown as D1Database;
    expect(await checkDb(unmigrated)).toEqual({ ok: false, reason: expect.stringContaining("migrations apply") });
  });
});

describe("errors and request ids", () => {
  it("unknown routes get a JSON 404 in the envelope", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect((await res.json<ErrorBody>()).error.code).toBe("not_found");
  });

  it("every response carries X-Request-ID, generated or kept", async () => {
    const generated = await call("/health/live");
    expect(generated.headers.get("X-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await call("/health/live", { headers: { "X-Request-ID": "abc-123" } });
    expect(kept.headers.get("X-Request-ID")).toBe("abc-123");
    const notFound = await call("/nope", { headers: { "X-Request-ID": "req-404" } });
    expect(notFound.headers.get("X-Request-ID")).toBe("req-404");
  });

  it("an unexpected failure is a generic 500 without a stack trace", async () => {
    // A D1 binding that throws inside a route the app does not guard.
    const exploding = {
      prepare: () => {
        throw new Error("secret internal detail at line 42");
      },
    } as unknown as D1Database;
    const res = await worker.fetch(
      new Request(`${BASE}/v1/logs`, { headers: { Authorization: "Bearer test-read-key" } }),
      { ...env, DB: exploding },
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "internal_error", message: "internal server error" } });
    expect(text).not.toContain("line 42");
    expect(res.headers.get("X-Request-ID")).toBeTruthy();
  });
});
