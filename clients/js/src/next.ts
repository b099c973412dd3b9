/**
 * `edge-monitor-client/next`: wraps a Next.js App Router route handler (`app/.../route.ts`).
 * A handler does not know its own file's route at run time, so the wrapper is given it, as the
 * folder spells it (`/api/orders/[id]`), and reports it in the monitor's form (`/api/orders/:id`,
 * catch-alls as `*`). Without one, the path is templated by the monitor's rules.
 */
import type { MonitorClient, ClientOptions } from "./client.js";
import { routeFromUrl, toClient } from "./node-record.js";
import { buildRecord } from "./request-record.js";

/** A Next.js folder route (`/shop/[id]/[...rest]`) in the monitor's template form (`/shop/:id/*`). */
export function nextRoute(folderRoute: string): string {
  const route = folderRoute
    .split("/")
    .filter((s) => !/^\(.*\)$/.test(s)) // route groups `(shop)` are not part of the URL
    .map((s) => (/^\[\[?\.\.\./.test(s) ? "*" : /^\[.+\]$/.test(s) ? `:${s.slice(1, -1)}` : s))
    .join("/");
  return route.startsWith("/") ? route : `/${route}`;
}

/** Reports each call of a route handler: `export const GET = withMonitor(client, "/api/orders/[id]", handler)`. */
export function withMonitor<Args extends unknown[]>(
  clientOrOptions: MonitorClient | ClientOptions,
  route: string | undefined,
  handler: (request: Request, ...rest: Args) => Response | Promise<Response>,
): (request: Request, ...rest: Args) => Promise<Response> {
  const client = toClient(clientOrOptions);
  const template = route === undefined ? undefined : nextRoute(route);
  return async (request, ...rest) => {
    const startedAt = Date.now();
    const started = performance.now();
    let response: Response | undefined;
    let error: unknown;
    try {
      response = await handler(request, ...rest);
      return response;
    } catch (err) {
      error = err;
      throw err;
    } finally {
      try {
        const record = buildRecord({
          service: client.service,
          method: request.method,
          url: request.url,
          route: template ?? routeFromUrl(new URL(request.url).pathname),
          status: response?.status ?? 500,
          startedAt,
          endedAt: startedAt + (performance.now() - started),
          requestHeaders: request.headers,
          responseHeaders: response?.headers ?? new Headers(),
          responseHasBody: response?.body !== null,
          error,
          redactEmails: client.redactEmails,
        });
        if (record) client.record(record);
      } catch {
        // Never fail the handler for the monitor's sake.
      }
    }
  };
}
