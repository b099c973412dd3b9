/** `GET /v1/logs` (filters, keyset paging) and `GET /v1/logs/live` (the newest N). */
import { Hono } from "hono";
import { drizzle } from "drizzle-orm/d1";
import * as z from "zod";
import { requireKey } from "../auth/keys";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { parseOr400 } from "../http/validate";
import { buildLogsQuery, decodeCursor, encodeCursor, logFilters, SAMPLING_NOTE, serviceSpan, toApiLog } from "./logs-query";

export const liveQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

export const logsQueryApp = new Hono<AppEnv>()
  .get("/", requireKey("read"), async (c) => {
    const filters = parseOr400(logFilters, c.req.query());
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
  })
  .get("/live", requireKey("read"), async (c) => {
    const { limit } = parseOr400(liveQuery, c.req.query());
    const rows = (await buildLogsQuery(drizzle(c.env.DB), { limit }, null).all()).slice(0, limit);
    return c.json({ logs: rows.map(toApiLog), sampled: rows.some((r) => r.weight !== 1), sampling: SAMPLING_NOTE });
  });
