/**
 * CORS for the API when the dashboard is served from another origin (Cloudflare Pages with
 * VITE_API_BASE pointing here). Off unless `CORS_ORIGINS` lists origins (comma-separated, exact
 * `https://dash.example.com`; `*` allows any): no header is added for an origin not listed, and a
 * preflight from it is answered without them, so the browser refuses. Mounted on /v1/* only, after
 * host routing: proxied traffic passes through untouched (the origin's own CORS stands).
 */
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { allowedOrigins, config } from "../config";
import type { AppEnv } from "./types";

export { allowedOrigins };

/** Middleware: CORS headers for the origins in `CORS_ORIGINS`, nothing when it is empty. */
export const apiCors = createMiddleware<AppEnv>(async (c, next) => {
  const origins = config(c.env).CORS_ORIGINS;
  if (origins.length === 0) return next();
  const anyOrigin = origins.includes("*");
  return cors({
    origin: (origin) => (anyOrigin || origins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "X-Request-ID"],
    exposeHeaders: ["X-Request-ID", "Retry-After"],
    maxAge: 600,
  })(c, next);
});
