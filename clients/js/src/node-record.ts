/**
 * What the Node adapters (`http`, Express, Fastify) share: structural types for Node's request
 * and response (so the package needs no `@types/node`), the record of one finished exchange, and
 * the hook that builds it when the response is done. Recording happens on the response's
 * `finish` (or `close`, when the client went away first), after the app has answered.
 */
import { templateRoute } from "../../../src/ingest/route-template.js";
import { createClient, type ClientOptions, type MonitorClient } from "./client.js";
import { buildRecord, type HeaderReader } from "./request-record.js";

/** The part of Node's `IncomingMessage` the adapters read. */
export interface NodeRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** The part of Node's `ServerResponse` the adapters read. */
export interface NodeResponse {
  statusCode: number;
  writableFinished?: boolean;
  getHeader(name: string): number | string | string[] | undefined;
  once(event: "finish" | "close", listener: () => void): unknown;
}

/** A client, or the options to create one. */
export type ClientOrOptions = MonitorClient | ClientOptions;

/**
 * The given client, or a new one from options. Told apart by shape, not `instanceof`: each entry
 * point of the built package bundles its own copy of the class.
 */
export function toClient(value: ClientOrOptions): MonitorClient {
  return "record" in value && typeof value.record === "function" ? value : createClient(value as ClientOptions);
}

function first(value: number | string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : String(value);
}

/** Node request headers as a `HeaderReader`. */
export function requestHeaders(req: NodeRequest): HeaderReader {
  return { get: (name) => first(req.headers[name.toLowerCase()]) };
}

/** Node response headers as a `HeaderReader`. */
export function responseHeaders(res: NodeResponse): HeaderReader {
  return { get: (name) => first(res.getHeader(name)) };
}

/** A route from the path alone, with the monitor's own templating (`/orders/123` is `/orders/:id`). */
export function routeFromUrl(url: string): string {
  const pathname = url.split(/[?#]/, 1)[0] ?? "/";
  return templateRoute(pathname.startsWith("/") ? pathname : `/${pathname}`);
}

/**
 * Records the exchange once its response is done. `route` is called then, when the framework
 * has matched the request (undefined or "" when it matched nothing: the monitor templates the path).
 */
export function recordWhenDone(
  client: MonitorClient,
  req: NodeRequest,
  res: NodeResponse,
  url: string,
  route: () => string | undefined,
): void {
  const startedAt = Date.now();
  const started = performance.now();
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    try {
      const aborted = res.writableFinished === false;
      const record = buildRecord({
        service: client.service,
        method: req.method ?? "GET",
        url: url.startsWith("/") ? url : `/${url}`,
        route: route() ?? "",
        status: aborted && res.statusCode < 400 ? 499 : res.statusCode,
        startedAt,
        endedAt: startedAt + (performance.now() - started),
        requestHeaders: requestHeaders(req),
        responseHeaders: responseHeaders(res),
        responseHasBody: true,
        error: aborted ? "the client closed the connection before the response was sent" : undefined,
        redactEmails: client.redactEmails,
      });
      if (record) client.record(record);
    } catch {
      // A record that cannot be built is not worth failing the app for.
    }
  };
  res.once("finish", finish);
  res.once("close", finish);
}
