/**
 * `GET /openapi.json` and `GET /docs`: the document lists every route the app registers (and no
 * other), has the OpenAPI 3.1 shape, carries the routes' own zod schemas and the key scope the
 * auth tests check; the docs page is self-contained HTML whose inline script its CSP allows.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { app } from "../src/app";
import { VERSION } from "../src/health/checks";
import { ALL_METHODS, buildDocument, documentedRoutes } from "../src/openapi/document";
import { routeSpecs } from "../src/http/route";
import { logFilters } from "../src/query/logs-query";
import { METRICS } from "../src/timeseries/series";
import { call } from "./helpers";
import { PROTECTED_ROUTES, PUBLIC_ROUTES } from "./routes";

type Schema = Record<string, unknown>;
type Parameter = { name: string; in: "query" | "path"; required: boolean; schema: Schema };
type Operation = {
  operationId: string;
  tags: string[];
  summary: string;
  security: Record<string, string[]>[];
  "x-key-scope": string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, Schema>;
};
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: {
    securitySchemes: Record<string, { type: string; scheme: string }>;
    schemas: Record<string, Schema>;
    responses: Record<string, Schema>;
  };
};

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

async function fetchDocument(): Promise<Doc> {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toContain("application/json");
  return await res.json<Doc>();
}

function operations(doc: Doc): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  );
}

/** A concrete path (as test/routes.ts lists them) against an OpenAPI template. */
function matches(template: string, path: string): boolean {
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
  return new RegExp(`^${pattern}$`).test(path);
}

describe("GET /openapi.json", () => {
  it("lists every route the app registers, and only those", async () => {
    const doc = await fetchDocument();
    // Middleware is registered as ALL on "/*" paths; the proxy's routes are ALL on real paths.
    const registered = app.routes
      .filter((r) => !r.path.endsWith("/*") || r.path.startsWith("/proxy/"))
      .flatMap((r) => {
        const path = r.path
          .replace(/:([A-Za-z0-9_]+)/g, "{$1}")
          .replace(/\/\*$/, "/{path}")
          .replace(/(.)\/$/, "$1");
        return (r.method === "ALL" ? [...ALL_METHODS] : [r.method.toLowerCase()]).map((m) => `${m} ${path}`);
      });
    const documented = operations(doc).map(({ method, path }) => `${method} ${path}`);
    expect(registered.length).toBeGreaterThan(40);
    expect(new Set(documented)).toEqual(new Set(registered));
    expect(documented).toHaveLength(new Set(documented).size);
  });

  it("has the OpenAPI 3.1 shape: info, paths, operations, security schemes, resolvable refs", async () => {
    const doc = await fetchDocument();
    expect(doc).toEqual(JSON.parse(JSON.stringify(buildDocument(VERSION, documentedRoutes(app.routes)))));
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "edge-monitor", version: VERSION });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["adminKey", "ingestKey", "readKey"]);
    for (const scheme of Object.values(doc.components.securitySchemes))
      expect(scheme).toMatchObject({ type: "http", scheme: "bearer" });
    const ids = new Set<string>();
    for (const { method, path, op } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(path.startsWith("/"), where).toBe(true);
      expect(HTTP_METHODS.has(method), where).toBe(true);
      expect(ids.has(op.operationId), where).toBe(false);
      ids.add(op.operationId);
      expect(op.summary.length, where).toBeGreaterThan(0);
      expect(Object.keys(op.responses).length, where).toBeGreaterThan(0);
      for (const requirement of op.security)
        for (const name of Object.keys(requirement)) expect(doc.components.securitySchemes, where).toHaveProperty(name);
      // Every template parameter is declared as a required path parameter, and no other.
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      expect(declared.map((p) => p.name).sort(), where).toEqual(templated);
      for (const p of declared) expect(p.required, where).toBe(true);
    }
    // Every $ref points at something in the document.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs)
      expect(
        ref.split("/").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], doc),
        ref,
      ).toBeDefined();
  });

  it("carries each route's own zod schemas: GET /v1/logs query, /v1/timeseries metrics, bodies", async () => {
    const doc = await fetchDocument();
    const logs = doc.paths["/v1/logs"]?.get;
    const params = new Map((logs?.parameters ?? []).map((p) => [p.name, p]));
    expect([...params.keys()].sort()).toEqual(Object.keys(logFilters.shape).sort());
    const limit = params.get("limit");
    expect(limit).toMatchObject({
      in: "query",
      required: false,
      schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
    });
    const { $schema: _dialect, ...limitSchema } = z.toJSONSchema(logFilters.shape.limit, { io: "input" });
    expect(limit?.schema).toEqual(limitSchema);
    expect(params.get("status")?.schema).toMatchObject({ type: "string", pattern: "^([1-5]\\d\\d|[1-5]xx)$" });

    const ts = new Map((doc.paths["/v1/timeseries"]?.get?.parameters ?? []).map((p) => [p.name, p]));
    expect(ts.get("metric")).toMatchObject({ required: true, schema: { enum: [...METRICS] } });
    expect(ts.get("step")?.required).toBe(false);
    expect(doc.paths["/v1/timeseries"]?.get?.responses["200"]).toMatchObject({
      content: {
        "application/json": {
          schema: { type: "object", required: expect.arrayContaining(["points", "source", "step_ms"]) },
        },
      },
    });

    const switches = doc.paths["/v1/control/switches"]?.put?.requestBody?.content["application/json"]?.schema;
    expect(switches).toMatchObject({
      type: "object",
      additionalProperties: false,
      properties: { ingestion: { type: "boolean" } },
    });
    // Per-consumer objectives come with the detection settings' own schema.
    const detection = doc.paths["/v1/services/{name}/detection"]?.put?.requestBody?.content["application/json"]?.schema;
    expect(detection).toMatchObject({
      properties: {
        consumer_objectives: {
          type: "object",
          additionalProperties: { properties: { error_rate: { type: "number" }, latency_p95_ms: { type: "number" } } },
        },
      },
    });
    const ingest = doc.paths["/v1/logs"]?.post?.requestBody?.content;
    expect(Object.keys(ingest ?? {})).toEqual(["application/json", "application/x-ndjson"]);
    expect(doc.components.schemas.LogRecord).toMatchObject({
      type: "object",
      required: expect.arrayContaining(["timestamp", "service", "status", "latency_ms"]),
    });
  });

  it("every defined route documents each success answer, with a zod schema for JSON", () => {
    const { mounted } = routeSpecs(app.routes);
    expect(mounted.length).toBeGreaterThan(0);
    for (const { method, path, spec } of mounted) {
      const success = Object.entries(spec.responses).filter(([status]) => Number(status) < 300);
      expect(success.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const [status, r] of success) {
        if (Number(status) === 204 || (r.contentType !== undefined && r.contentType !== "application/json")) continue;
        expect(r.schema instanceof z.ZodType, `${method} ${path} ${status}: no zod schema`).toBe(true);
      }
    }
  });

  it("gives every route the key scope the auth tests check", async () => {
    const doc = await fetchDocument();
    const all = operations(doc);
    const find = (method: string, path: string) => {
      const m = method === "ALL" ? "get" : method.toLowerCase();
      const found = all.filter((o) => o.method === m && matches(o.path, path.split("?")[0] ?? path));
      // A literal path wins over a template (e.g. /v1/logs/live over nothing else, /v1/services/:name).
      return found.find((o) => o.path === path) ?? found[0];
    };
    for (const r of PROTECTED_ROUTES) {
      const o = find(r.method, r.path);
      expect(o, `${r.method} ${r.path}`).toBeDefined();
      expect(o?.op["x-key-scope"], `${r.method} ${r.path}`).toBe(r.scope);
      expect(
        o?.op.security.some((req) => `${r.scope}Key` in req),
        `${r.method} ${r.path}`,
      ).toBe(true);
    }
    for (const r of PUBLIC_ROUTES) {
      const o = find(r.method, r.path);
      expect(o?.op.security, `${r.method} ${r.path}`).toEqual([]);
      expect(o?.op["x-key-scope"]).toBe("none");
    }
  });
});

describe("GET /docs", () => {
  it("is self-contained HTML: no external script, style or other URL; its CSP allows its own inline script", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/<link\b|<iframe\b|<object\b|<embed\b/i);
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? "";
    expect(style.length).toBeGreaterThan(0);
    expect(style).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/(https?:)?\/\/[a-z0-9-]+(\.[a-z0-9-]+)+/i);
    expect(html).toContain("/openapi.json");
    expect(html).toContain("sessionStorage");

    const csp = res.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script));
    expect(csp).toContain(`'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`);
  });
});
