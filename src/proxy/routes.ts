/**
 * Where proxied requests come in: a request whose Host is one of a service's hostnames is
 * proxied whole (production: the worker routed on the API's own hostname); on any host,
 * `/proxy/:service/*` proxies to that service's origin with the prefix stripped. Unknown
 * services are a JSON 404 and never forwarded anywhere. The path-prefixed proxy shares the
 * dashboard's origin, so what it serves is isolated (isolation.ts) and it never serves a service
 * worker's script; a service hostname is its own origin and is proxied as is.
 */
import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { serviceDirectory } from "../services/store";
import { proxyRequest } from "./handler";
import { isServiceWorkerScript } from "./isolation";
import { pathBelow } from "./target";

/** Middleware: proxies the whole request when its Host belongs to a service. */
export const hostRouting = createMiddleware<AppEnv>(async (c, next) => {
  const url = new URL(c.req.url);
  const directory = await serviceDirectory(c.env, (p) => c.executionCtx.waitUntil(p));
  const service = directory.byHost.get(url.hostname.toLowerCase());
  if (!service) return next();
  return proxyRequest(c, service, { path: url.pathname, search: url.search }, new URL(url.origin), false);
});

async function proxyByName(c: Context<AppEnv>, name: string): Promise<Response> {
  const directory = await serviceDirectory(c.env, (p) => c.executionCtx.waitUntil(p));
  const service = directory.byName.get(name);
  if (!service) throw new ApiError(404, "service_not_found", `no service named ${name} is configured for proxying`);
  const url = new URL(c.req.url);
  const prefix = `/proxy/${encodeURIComponent(name)}`;
  const below = pathBelow(url, prefix);
  if (!below) throw new ApiError(404, "service_not_found", `no service named ${name} is configured for proxying`);
  // Defence in depth (the sandbox already gives proxied pages no service workers): a worker
  // registered from this origin would control the dashboard too.
  if (isServiceWorkerScript(c.req.raw.headers)) {
    throw new ApiError(
      403,
      "service_worker_refused",
      "a service worker cannot be served through the path-prefixed proxy: it would control the monitor's origin; use the service's own hostname",
    );
  }
  return proxyRequest(c, service, below, new URL(`${url.origin}${prefix}`), true);
}

export const proxyApp = new Hono<AppEnv>()
  .all("/:service", (c) => proxyByName(c, c.req.param("service")))
  .all("/:service/*", (c) => proxyByName(c, c.req.param("service")));
