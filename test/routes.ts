/**
 * Every route of the API with the key scope it requires. The auth tests iterate this list, and
 * a test compares it with the app's own route table so that a new route cannot skip auth.
 */
import type { KeyScope } from "../src/auth/keys";

export const PROTECTED_ROUTES: { method: string; path: string; scope: KeyScope }[] = [
  { method: "POST", path: "/v1/logs", scope: "ingest" },
  { method: "GET", path: "/v1/logs", scope: "read" },
  { method: "GET", path: "/v1/logs/live", scope: "read" },
  { method: "GET", path: "/v1/endpoints/svc/GET/%2Fitems", scope: "read" },
];

export const PUBLIC_ROUTES: { method: string; path: string }[] = [
  { method: "GET", path: "/health" },
  { method: "GET", path: "/health/live" },
  { method: "GET", path: "/health/ready" },
  { method: "GET", path: "/health/db" },
];
