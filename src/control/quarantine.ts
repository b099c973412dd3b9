/**
 * The quarantine across endpoints (admin key). The rows live in each endpoint object's SQLite;
 * D1's `quarantined_endpoints` (published by the objects) says which objects hold some.
 * - `GET /v1/control/quarantine?service=&method=&route=&limit=&cursor=`: the quarantined records
 *   with D1's error, in (endpoint, record key) order, keyset-paged.
 * - `POST /v1/control/quarantine/replay?service=&method=&route=`: tries them again.
 */
import { and, asc, eq, gt, or, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import * as z from "zod";
import { quarantinedEndpoints } from "../db/schema";
import { ApiError } from "../http/errors";
import { endpointFilterFields } from "../http/filters";
import { log } from "../lib/log";
import { withTimeout } from "../lib/timeout";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { endpointObject } from "../monitor/endpoint-object";
import type { Endpoint } from "../detect/incident";
import { errorMessage } from "../lib/errors";
import { quarantinePageSchema, quarantineReplaySchema } from "./answer-schemas";

export const quarantineListQuery = z.object({
  ...endpointFilterFields,
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(2000).optional(),
});
export const quarantineReplayQuery = z.object(endpointFilterFields);

/** Endpoints read from the index per round, replayed this many at a time; one object's answer may take this long. */
const ENDPOINTS_PER_ROUND = 50;
const REPLAY_CONCURRENCY = 6;
const CALL_TIMEOUT_MS = 10_000;
const REPLAY_TIMEOUT_MS = 25_000;

interface Position {
  endpoint: Endpoint;
  /** The last record key listed of that endpoint. */
  key: string;
}

/** The position after the last record of a page, as an opaque base64url string. */
export function encodePosition(p: Position): string {
  const text = encodeURIComponent(JSON.stringify([p.endpoint.service, p.endpoint.method, p.endpoint.route, p.key]));
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a cursor, or null when it is not one of ours. */
export function decodePosition(cursor: string): Position | null {
  try {
    const value: unknown = JSON.parse(decodeURIComponent(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))));
    if (!Array.isArray(value) || value.length !== 4 || !value.every((v) => typeof v === "string")) return null;
    const [service, method, route, key] = value as [string, string, string, string];
    return { endpoint: { service, method, route }, key };
  } catch {
    return null;
  }
}

function scope(f: { service?: string; method?: string; route?: string }): SQL[] {
  const t = quarantinedEndpoints;
  const out: SQL[] = [sql`${t.records} > 0`];
  if (f.service !== undefined) out.push(eq(t.service, f.service));
  if (f.method !== undefined) out.push(eq(t.method, f.method));
  if (f.route !== undefined) out.push(eq(t.route, f.route));
  return out;
}

/** Endpoints holding quarantined rows, in key order, from `from` on (inclusive). */
async function endpointsFrom(
  db: D1Database,
  filters: SQL[],
  from: Endpoint | null,
  limit: number,
): Promise<Endpoint[]> {
  const t = quarantinedEndpoints;
  const after = from
    ? or(
        gt(t.service, from.service),
        and(eq(t.service, from.service), gt(t.method, from.method)),
        and(eq(t.service, from.service), eq(t.method, from.method), sql`${t.route} >= ${from.route}`),
      )
    : undefined;
  return drizzle(db)
    .select({ service: t.service, method: t.method, route: t.route })
    .from(t)
    .where(and(...filters, after))
    .orderBy(asc(t.service), asc(t.method), asc(t.route))
    .limit(limit)
    .all();
}

function monitor(env: Env, e: Endpoint) {
  return endpointObject(env, e);
}

const same = (a: Endpoint, b: Endpoint) => a.service === b.service && a.method === b.method && a.route === b.route;

export const quarantineApp = new Hono<AppEnv>();

defineRoute(
  quarantineApp,
  {
    method: "GET",
    path: "/quarantine",
    key: "admin",
    tag: "Control",
    summary: "Records D1 refused on their own, with its error, across endpoints (keyset pages)",
    request: { query: quarantineListQuery },
    responses: { 200: { description: "a page", schema: quarantinePageSchema } },
  },
  async (c, { query: q }) => {
    const position = q.cursor === undefined ? null : decodePosition(q.cursor);
    if (q.cursor !== undefined && !position)
      throw new ApiError(400, "invalid_query", "cursor: not a cursor of this API");
    const filters = scope(q);
    const records: Record<string, unknown>[] = [];
    let from = position?.endpoint ?? null;
    let afterKey = position?.key ?? null;
    let last: Position | null = null;
    let more = false;
    // Endpoint by endpoint until the page is full; an endpoint is resumed after its last listed key.
    for (;;) {
      const endpoints = await endpointsFrom(c.env.DB, filters, from, ENDPOINTS_PER_ROUND);
      for (const e of endpoints) {
        const after = from && same(e, from) ? afterKey : null;
        const want = q.limit - records.length;
        const rows = await withTimeout(monitor(c.env, e).quarantined(after, want + 1), CALL_TIMEOUT_MS);
        for (const r of rows.slice(0, want)) {
          records.push({ ...e, ...r });
          last = { endpoint: e, key: r.record_key };
        }
        if (rows.length > want) {
          more = true;
          break;
        }
      }
      const lastEndpoint = endpoints[endpoints.length - 1];
      if (more || endpoints.length < ENDPOINTS_PER_ROUND || !lastEndpoint) break;
      // The next round starts after the last endpoint of this one (its rows are all listed).
      from = { ...lastEndpoint, route: `${lastEndpoint.route}\u0000` };
      afterKey = null;
    }
    // A full page may end exactly at the last row: the next page is then empty.
    if (!more && records.length === q.limit && last) more = true;
    return c.json({ records, next_cursor: more && last ? encodePosition(last) : null });
  },
);

defineRoute(
  quarantineApp,
  {
    method: "POST",
    path: "/quarantine/replay",
    key: "admin",
    tag: "Control",
    summary: "Try quarantined records again (an endpoint, a service or all): rows D1 takes leave the quarantine",
    request: { query: quarantineReplayQuery },
    responses: {
      200: { description: "totals and each endpoint's result or error", schema: quarantineReplaySchema },
    },
  },
  async (c, { query: q }) => {
    const filters = scope(q);
    const results: Record<string, unknown>[] = [];
    let from: Endpoint | null = null;
    for (;;) {
      const endpoints = await endpointsFrom(c.env.DB, filters, from, ENDPOINTS_PER_ROUND);
      for (let i = 0; i < endpoints.length; i += REPLAY_CONCURRENCY) {
        const slice = endpoints.slice(i, i + REPLAY_CONCURRENCY);
        const settled = await Promise.allSettled(
          slice.map((e) => withTimeout(monitor(c.env, e).replayQuarantine(e), REPLAY_TIMEOUT_MS)),
        );
        settled.forEach((outcome, j) => {
          const e = slice[j];
          if (!e) return;
          if (outcome.status === "fulfilled") results.push({ ...e, ...outcome.value });
          else {
            const message = errorMessage(outcome.reason);
            log("error", "quarantine_replay_failed", { ...e, message });
            results.push({ ...e, error: message });
          }
        });
      }
      const lastEndpoint = endpoints[endpoints.length - 1];
      if (endpoints.length < ENDPOINTS_PER_ROUND || !lastEndpoint) break;
      from = { ...lastEndpoint, route: `${lastEndpoint.route}\u0000` };
    }
    const sum = (k: "replayed" | "failed" | "remaining") =>
      results.reduce((n, r) => n + (typeof r[k] === "number" ? r[k] : 0), 0);
    return c.json({
      replayed: sum("replayed"),
      failed: sum("failed"),
      remaining: sum("remaining"),
      endpoints: results,
    });
  },
);
