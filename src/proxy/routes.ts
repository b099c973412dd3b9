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
import * as z from "zod";
import { ApiError } from "../http/errors";
import { defineRoute, type ResponseSpec, type RouteSpec } from "../http/route";
import type { AppEnv } from "../http/types";
import { SERVICE_NAME } from "../services/config";
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

const serviceNotFound = (name: string) =>
  new ApiError(404, "service_not_found", `no service named ${name} is configured for proxying`);

async function proxyByName(c: Context<AppEnv>, name: string): Promise<Response> {
  const directory = await serviceDirectory(c.env, (p) => c.executionCtx.waitUntil(p));
  const service = directory.byName.get(name);
  if (!service) throw serviceNotFound(name);
  const url = new URL(c.req.url);
  const prefix = `/proxy/${encodeURIComponent(name)}`;
  const below = pathBelow(url, prefix);
  if (!below) throw serviceNotFound(name);
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

const serviceParams = z.object({ service: z.string().regex(SERVICE_NAME) });
// The wildcard is documented as `{path}` (route.ts's openApiPath); Hono names no parameter for it.
const servicePathParams = serviceParams.extend({
  path: z.string().optional().describe("the path below the service's origin (may hold slashes)"),
});

const responses: Record<number, ResponseSpec> = {
  200: {
    description:
      "the origin's answer, passed through, sandboxed and without Set-Cookie (docs/operations.md: Security: proxied content)",
    contentType: "*/*",
  },
  403: {
    description: "service_worker_refused: a service worker's script (Service-Worker: script) is never served here",
  },
  404: { description: "no such service" },
  502: { description: "origin unreachable" },
  504: { description: "origin timeout" },
};

// Any method, no key (the origin does its own auth), the origin's answer as it came.
const proxyRoute = {
  method: "ALL",
  key: "none",
  tag: "Proxy",
  responses,
  passThrough: true,
} as const satisfies Partial<RouteSpec<z.ZodObject>>;

export const proxyApp = new Hono<AppEnv>();

defineRoute(
  proxyApp,
  {
    ...proxyRoute,
    path: "/:service",
    summary: "Proxy to the service's origin (its base path)",
    // A name no service can have is a 404 like any unknown service, not a 400.
    request: { params: serviceParams, invalidParams: (raw) => serviceNotFound(raw.service ?? "") },
  },
  (c, { params }) => proxyByName(c, params.service),
);

defineRoute(
  proxyApp,
  {
    ...proxyRoute,
    path: "/:service/*",
    summary: "Proxy to a path of the service's origin",
    request: { params: servicePathParams, invalidParams: (raw) => serviceNotFound(raw.service ?? "") },
  },
  (c, { params }) => proxyByName(c, params.service),
);
