import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../src/app";
import worker from "../src/index";
import { ADMIN_KEY, BASE, INGEST_KEY, READ_KEY, call, record } from "./helpers";
import { routeSpecs } from "../src/http/route";
import { FIXTURES, PROTECTED_ROUTES, PUBLIC_ROUTES } from "./routes";

type ErrorBody = { error: { code: string; message: string; details?: { secret?: string } } };

const KEYS = { ingest: INGEST_KEY, read: READ_KEY, admin: ADMIN_KEY } as const;

function init(method: string, key?: string, body?: unknown): RequestInit {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (key !== undefined) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) return { method, headers, body: JSON.stringify(body) };
  if (method === "POST") return { method, headers, body: JSON.stringify(record("auth")) };
  if (method === "PUT") return { method, headers, body: JSON.stringify({ origin: "http://origin.test" }) };
  return { method, headers };
}

describe("auth", () => {
  it("the route list covers every route the app registers: each has a definition with its key", () => {
    const { mounted, undocumented } = routeSpecs(app.routes);
    expect(mounted.length).toBeGreaterThan(50);
    // Registered with plain Hono (a handler or its middleware): served without a spec.
    expect(undocumented, "routes without a defineRoute spec").toEqual([]);
    expect(PROTECTED_ROUTES.length + PUBLIC_ROUTES.length).toBeGreaterThan(50);
    // Every fixture names a route of the app.
    const documented = new Set(mounted.map((m) => `${m.method} ${m.path}`));
    for (const key of Object.keys(FIXTURES)) expect(documented, key).toContain(key);
  });

  for (const route of PROTECTED_ROUTES) {
    describe(`${route.method} ${route.path}`, () => {
      it("answers 401 without a key, with a malformed header, and with a wrong key", async () => {
        for (const [label, req] of [
          ["no header", init(route.method)],
          ["wrong key", init(route.method, "not-a-key")],
          ["basic auth", { ...init(route.method), headers: { Authorization: "Basic dXNlcjpwYXNz" } }],
        ] as const) {
          const res = await call(route.path, req);
          expect(res.status, label).toBe(401);
          const body = await res.json<ErrorBody>();
          expect(body.error.code).toBe("unauthorized");
          expect(res.headers.get("X-Request-ID")).toBeTruthy();
        }
      });

      it("accepts its own key and refuses keys of other scopes", async () => {
        const accepted = (status: number) =>
          route.status === undefined ? expect(status).toBeLessThan(300) : expect(status).toBe(route.status);
        accepted((await call(route.path, init(route.method, KEYS[route.scope], route.body))).status);
        const others = route.scope === "ingest" ? [READ_KEY, ADMIN_KEY] : [INGEST_KEY];
        for (const key of others)
          expect((await call(route.path, init(route.method, key, route.body))).status).toBe(401);
        if (route.scope === "read")
          accepted((await call(route.path, init(route.method, ADMIN_KEY, route.body))).status);
      });

      it("fails closed with 503 naming the secret when no key is configured", async () => {
        const bare = { ...env, INGEST_KEYS: "", READ_KEY: "", ADMIN_KEY: "" };
        const res = await worker.fetch(
          new Request(`${BASE}${route.path}`, init(route.method, KEYS[route.scope])),
          bare,
          createExecutionContext(),
        );
        expect(res.status).toBe(503);
        const body = await res.json<ErrorBody>();
        expect(body.error.code).toBe("auth_not_configured");
        const secret = { ingest: "INGEST_KEYS", read: "READ_KEY", admin: "ADMIN_KEY" }[route.scope];
        expect(body.error.message).toContain(secret);
        expect(body.error.details?.secret).toBe(secret);
      });
    });
  }

  it("accepts every key listed in INGEST_KEYS", async () => {
    const res = await call("/v1/logs", init("POST", "second-ingest-key"));
    expect(res.status).toBe(202);
  });

  it("public routes need no key", async () => {
    for (const route of PUBLIC_ROUTES) {
      const method = route.method === "ALL" ? "GET" : route.method;
      expect((await call(route.path, { method })).status, route.path).toBe(route.status);
    }
  });
});
