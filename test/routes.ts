/**
 * Every route of the API with the key scope it requires. The auth tests iterate this list, and
 * a test compares it with the app's own route table so that a new route cannot skip auth.
 */
import type { KeyScope } from "../src/auth/keys";

/** `body`: what to send (JSON) instead of the default; `status`: the answer with the right key, when not 2xx. */
export const PROTECTED_ROUTES: { method: string; path: string; scope: KeyScope; body?: unknown; status?: number }[] = [
  { method: "POST", path: "/v1/logs", scope: "ingest" },
  { method: "POST", path: "/v1/otlp/v1/traces", scope: "ingest", body: { resourceSpans: [] } },
  { method: "GET", path: "/v1/logs", scope: "read" },
  { method: "GET", path: "/v1/logs/live", scope: "read" },
  // Without service and from the right key gets a 400.
  { method: "GET", path: "/v1/archive/logs", scope: "read", status: 400 },
  { method: "GET", path: "/v1/endpoints", scope: "read" },
  { method: "GET", path: "/v1/endpoints/svc/GET/%2Fitems", scope: "read" },
  { method: "GET", path: "/v1/endpoints/svc/GET/%2Fitems/breakdown", scope: "read" },
  { method: "GET", path: "/v1/incidents", scope: "read" },
  { method: "GET", path: "/v1/incidents/inc_none_x", scope: "read", status: 404 },
  // The path is the route pattern itself: ":id" is no incident id, so the right key gets a 404.
  { method: "POST", path: "/v1/incidents/:id/summarize", scope: "admin", status: 404 },
  { method: "POST", path: "/v1/analysis", scope: "read", body: { lookback_minutes: 60 } },
  { method: "GET", path: "/v1/health/system", scope: "read" },
  { method: "GET", path: "/v1/summaries", scope: "read" },
  { method: "GET", path: "/v1/stats", scope: "read" },
  { method: "POST", path: "/v1/control/re-evaluate", scope: "admin" },
  { method: "POST", path: "/v1/control/aggregate", scope: "admin" },
  { method: "POST", path: "/v1/control/prune", scope: "admin" },
  { method: "POST", path: "/v1/control/probes/run", scope: "admin" },
  { method: "GET", path: "/v1/control/switches", scope: "admin" },
  { method: "PUT", path: "/v1/control/switches", scope: "admin", body: {} },
  { method: "GET", path: "/v1/control/status", scope: "admin" },
  { method: "GET", path: "/v1/control/quarantine", scope: "admin" },
  { method: "POST", path: "/v1/control/quarantine/replay", scope: "admin" },
  { method: "GET", path: "/v1/services/shop/detection", scope: "admin" },
  { method: "PUT", path: "/v1/services/auth-check/detection", scope: "admin", body: { slo: { availability: 0.999 } } },
  { method: "DELETE", path: "/v1/services/auth-check/detection", scope: "admin" },
  { method: "GET", path: "/v1/services", scope: "admin" },
  { method: "GET", path: "/v1/services/shop", scope: "admin" },
  { method: "PUT", path: "/v1/services/auth-check", scope: "admin" },
  { method: "DELETE", path: "/v1/services/auth-check", scope: "admin" },
  { method: "POST", path: "/v1/alert-channels", scope: "admin", body: { type: "slack", name: "auth-check", url: "https://hooks.example.com/services/T1/B1/x", enabled: false } },
  { method: "GET", path: "/v1/alert-channels", scope: "admin" },
  // Listed with their patterns: with the right key, an unknown channel id is a 404.
  { method: "GET", path: "/v1/alert-channels/:id", scope: "admin", status: 404 },
  { method: "PUT", path: "/v1/alert-channels/:id", scope: "admin", body: { type: "slack", name: "x", url: "https://hooks.example.com/a" }, status: 404 },
  { method: "DELETE", path: "/v1/alert-channels/:id", scope: "admin", status: 404 },
  { method: "POST", path: "/v1/alert-channels/:id/test", scope: "admin", body: {}, status: 404 },
  { method: "GET", path: "/v1/alert-deliveries", scope: "read" },
  { method: "POST", path: "/v1/maintenance", scope: "admin", body: { service: "auth-check", duration_minutes: 1 }, status: 201 },
  { method: "GET", path: "/v1/maintenance", scope: "read" },
  // The path is the route pattern: ":id" is no window id, so the right key gets a 404.
  { method: "DELETE", path: "/v1/maintenance/:id", scope: "admin", status: 404 },
  { method: "POST", path: "/v1/deploys", scope: "ingest", body: { service: "auth-check", version: "v1" }, status: 201 },
  { method: "GET", path: "/v1/deploys", scope: "read" },
  { method: "GET", path: "/v1/auth/role", scope: "read" },
  // Without service, method, route and metric the right key gets a 400.
  { method: "GET", path: "/v1/timeseries", scope: "read", status: 400 },
  // Public when METRICS_PUBLIC is "true" (test/metrics.test.ts); behind the read key by default.
  { method: "GET", path: "/metrics", scope: "read" },
];

/** Routes without a key, and the status each answers here. The proxy passes the origin's answer through. */
export const PUBLIC_ROUTES: { method: string; path: string; status: number }[] = [
  { method: "GET", path: "/health", status: 200 },
  { method: "GET", path: "/health/live", status: 200 },
  { method: "GET", path: "/health/ready", status: 200 },
  { method: "GET", path: "/health/db", status: 200 },
  { method: "GET", path: "/openapi.json", status: 200 },
  { method: "GET", path: "/docs", status: 200 },
  { method: "ALL", path: "/proxy/shop", status: 404 },
  { method: "ALL", path: "/proxy/shop/items", status: 200 },
];
