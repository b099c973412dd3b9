/** `GET /v1/logs` (filters, keyset paging) and `GET /v1/logs/live` (the newest N). */
import { Hono } from "hono";
import { drizzle } from "drizzle-orm/d1";
import * as z from "zod";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { defineRoute } from "../http/route";
import {
  buildLogsQuery,
  decodeCursor,
  encodeCursor,
  logFilters,
  SAMPLING_NOTE,
  serviceSpan,
  toApiLog,
} from "./logs-query";
import { liveLogsSchema, logsPageSchema } from "./schemas";

export const liveQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

export const logsQueryApp = new Hono<AppEnv>();

defineRoute(
  logsQueryApp,
  {
    method: "GET",
    path: "/",
    key: "read",
    tag: "Logs",
    summary: "Search logs, newest first, keyset pages",
    description:
      "Each log carries `weight`: how many records it stands for. `sampled` is true when a row of the page stands for more than itself (its service's plain successes are sampled, see `raw_logs` in the service settings); `sampling` says how to read weights. Evidence (status >= 400, silent failures, inconsistent records, error text, probes, slow requests) is never sampled out: a status or error filter returns every such record. `from` and `to` are optional (no default: the whole raw retention). With `service`, only the span of hours in which that service has stored rows is read, so an unknown service or one without rows answers an empty page at once; without `service` and `from`, a filter that matches few rows reads the table newest first until the page is full: pass `from` to bound it.",
    request: { query: logFilters },
    responses: { 200: { description: "a page", schema: logsPageSchema } },
  },
  async (c, { query: filters }) => {
    const cursor = filters.cursor === undefined ? null : decodeCursor(filters.cursor);
    if (filters.cursor !== undefined && cursor === null) {
      throw new ApiError(400, "invalid_request", "invalid query", ["cursor: not a cursor returned by this API"]);
    }
    const db = drizzle(c.env.DB);
    // A service filter reads only the span of the service's hours; none: nothing to read.
    const span = filters.service === undefined ? undefined : await serviceSpan(db, filters.service, filters, cursor);
    if (span === null) return c.json({ logs: [], next_cursor: null, sampled: false, sampling: SAMPLING_NOTE });
    const rows = await buildLogsQuery(db, filters, cursor, span).all();
    const page = rows.slice(0, filters.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > filters.limit && last ? encodeCursor(last.timestamp, last.recordKey) : null;
    const sampled = page.some((r) => r.weight !== 1);
    return c.json({ logs: page.map(toApiLog), next_cursor: nextCursor, sampled, sampling: SAMPLING_NOTE });
  },
);

defineRoute(
  logsQueryApp,
  {
    method: "GET",
    path: "/live",
    key: "read",
    tag: "Logs",
    summary: "The newest N logs",
    description:
      "`sampled` and `sampling` as in `GET /v1/logs`: rows of sampled services carry the `weight` they stand for.",
    request: { query: liveQuery },
    responses: { 200: { description: "newest first", schema: liveLogsSchema } },
  },
  async (c, { query: { limit } }) => {
    const rows = (await buildLogsQuery(drizzle(c.env.DB), { limit }, null).all()).slice(0, limit);
    return c.json({ logs: rows.map(toApiLog), sampled: rows.some((r) => r.weight !== 1), sampling: SAMPLING_NOTE });
  },
);
