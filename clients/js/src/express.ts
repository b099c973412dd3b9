/**
 * `edge-monitor-client/express`: an Express middleware (4 and 5). The route is Express's own
 * template, read when the response is done: `req.baseUrl` (the mount path of the router that
 * answered) joined with `req.route.path`. A request no route matched (a 404) has none, and the
 * monitor templates its path.
 */
import type { MonitorClient } from "./client.js";
import { recordWhenDone, toClient, type ClientOrOptions, type NodeRequest, type NodeResponse } from "./node-record.js";

/** The part of Express's request the middleware reads. */
export interface ExpressRequest extends NodeRequest {
  originalUrl?: string;
  baseUrl?: string;
  route?: { path?: unknown };
}

/** Express's route template of a request, or undefined when no route matched it. */
export function expressRoute(req: ExpressRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path !== "string") return undefined;
  const joined = `${req.baseUrl ?? ""}${path === "/" && req.baseUrl ? "" : path}`;
  return joined === "" ? "/" : joined;
}

/** An Express middleware that also holds its client (for `stats()`, `flush()`, `shutdown()`). */
export type ExpressMonitor = ((req: ExpressRequest, res: NodeResponse, next: () => void) => void) & {
  client: MonitorClient;
};

/** Reports each request of an Express app: `app.use(expressMonitor(clientOrOptions))`, before the routes. */
export function expressMonitor(clientOrOptions: ClientOrOptions): ExpressMonitor {
  const client = toClient(clientOrOptions);
  const middleware = (req: ExpressRequest, res: NodeResponse, next: () => void): void => {
    recordWhenDone(client, req, res, req.originalUrl ?? req.url ?? "/", () => expressRoute(req));
    next();
  };
  return Object.assign(middleware, { client });
}
