/**
 * What no route takes: the dashboard's static files (the `ASSETS` binding, wrangler.toml
 * [assets], with index.html for unknown paths of the single-page app) for browser GET/HEAD
 * outside the API's own prefixes, the JSON 404 otherwise. The worker runs first for every request
 * (`run_worker_first = true`), so a service's own hostname always reaches the proxy, never the
 * dashboard. Every dashboard response carries the dashboard's security headers
 * (security-headers.ts).
 */
import type { Context } from "hono";
import { handleNotFound } from "./errors";
import { withDashboardHeaders } from "./security-headers";
import type { AppEnv } from "./types";

const API_PATHS = /^\/(v1|health|proxy|metrics|openapi\.json|docs|__scheduled)(\/|$)/;

/**
 * Only `/`, a browser navigation (Accept: text/html) or a file of the build (a path whose last
 * segment has an extension) gets the dashboard: an API client asking for an unknown path keeps
 * getting the JSON 404 of the error envelope.
 */
export async function notFoundOrAsset(c: Context<AppEnv>): Promise<Response> {
  const path = new URL(c.req.url).pathname;
  const read = c.req.method === "GET" || c.req.method === "HEAD";
  const wanted =
    path === "/" ||
    (c.req.header("Accept") ?? "").includes("text/html") ||
    /\.[a-z0-9]+$/i.test(path.split("/").pop() ?? "");
  if (read && wanted && !API_PATHS.test(path)) return withDashboardHeaders(await c.env.ASSETS.fetch(c.req.raw));
  return handleNotFound(c);
}
