/**
 * Every route of the API with the key scope it requires, read from the routes' own definitions
 * (the `defineRoute` specs in the app's route table), so a new route cannot skip the auth tests.
 * Here only what a route needs to be called: a concrete path, a body, and its answer with the
 * right key when that is not a 2xx.
 */
import type { KeyScope } from "../src/auth/keys";
import { app } from "../src/app";
import { documentedRoutes } from "../src/openapi/document";

type Fixture = { path?: string; body?: unknown; status?: number };

/** Keyed by method and OpenAPI path. Without `path`, the route's pattern (`:id`) is called as is. */
export const FIXTURES: Record<string, Fixture> = {
  "POST /v1/otlp/v1/traces": { body: { resourceSpans: [] } },
  // Without service and from the right key gets a 400.
  "GET /v1/archive/logs": { status: 400 },
  "GET /v1/endpoints/{service}/{method}/{route}": { path: "/v1/endpoints/svc/GET/%2Fitems" },
  "GET /v1/endpoints/{service}/{method}/{route}/breakdown": { path: "/v1/endpoints/svc/GET/%2Fitems/breakdown" },
  "GET /v1/incidents/{id}": { path: "/v1/incidents/inc_none_x", status: 404 },
  // The path is the route pattern itself: ":id" is no incident id, so the right key gets a 404.
  "POST /v1/incidents/{id}/summarize": { status: 404 },
  "POST /v1/analysis": { body: { lookback_minutes: 60 } },
  "PUT /v1/control/switches": { body: {} },
  "GET /v1/services/{name}/detection": { path: "/v1/services/shop/detection" },
  "PUT /v1/services/{name}/detection": {
    path: "/v1/services/auth-check/detection",
    body: { slo: { availability: 0.999 } },
  },
  "DELETE /v1/services/{name}/detection": { path: "/v1/services/auth-check/detection" },
  "GET /v1/services/{name}": { path: "/v1/services/shop" },
  "PUT /v1/services/{name}": { path: "/v1/services/auth-check" },
  "DELETE /v1/services/{name}": { path: "/v1/services/auth-check" },
  "POST /v1/alert-channels": {
    body: { type: "slack", name: "auth-check", url: "https://hooks.example.com/services/T1/B1/x", enabled: false },
  },
  // Called with their patterns: with the right key, an unknown channel id is a 404.
  "GET /v1/alert-channels/{id}": { status: 404 },
  "PUT /v1/alert-channels/{id}": {
    body: { type: "slack", name: "x", url: "https://hooks.example.com/a" },
    status: 404,
  },
  "DELETE /v1/alert-channels/{id}": { status: 404 },
  "POST /v1/alert-channels/{id}/test": { body: {}, status: 404 },
  "POST /v1/maintenance": { body: { service: "auth-check", duration_minutes: 1 }, status: 201 },
  // The path is the route pattern: ":id" is no window id, so the right key gets a 404.
  "DELETE /v1/maintenance/{id}": { status: 404 },
  "POST /v1/deploys": { body: { service: "auth-check", version: "v1" }, status: 201 },
  // Without service, method, route and metric the right key gets a 400.
  "GET /v1/timeseries": { status: 400 },
  // The proxy passes the origin's answer through; an unknown service is a 404.
  "ALL /proxy/{service}": { path: "/proxy/shop", status: 404 },
  "ALL /proxy/{service}/{path}": { path: "/proxy/shop/items" },
};

const ROUTES = documentedRoutes(app.routes);
const called = (r: { method: string; path: string }) => {
  const f = FIXTURES[`${r.method} ${r.path}`] ?? {};
  return { method: r.method, path: f.path ?? r.path.replace(/\{([^}]+)\}/g, ":$1"), body: f.body, status: f.status };
};

/** `body`: what to send (JSON) instead of the default; `status`: the answer with the right key, when not 2xx. */
export const PROTECTED_ROUTES: { method: string; path: string; scope: KeyScope; body?: unknown; status?: number }[] =
  ROUTES.flatMap((r) => (r.scope === "none" ? [] : [{ ...called(r), scope: r.scope }]));

/** Routes without a key, and the status each answers here. `/metrics` is public only with METRICS_PUBLIC (test/metrics.test.ts). */
export const PUBLIC_ROUTES: { method: string; path: string; status: number }[] = ROUTES.flatMap((r) => {
  if (r.scope !== "none") return [];
  const { method, path, status } = called(r);
  return [{ method, path, status: status ?? 200 }];
});
