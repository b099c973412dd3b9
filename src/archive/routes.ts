/**
 * `GET /v1/archive/logs`: records of one service and time range read back from the R2 archive as
 * NDJSON, streamed as they are read. Every line but the last is a record in the shape of
 * `GET /v1/logs`; the last line is always `{"next_cursor": ..., ...}` (the status line cannot
 * carry a cursor known only at the end), or `{"error": ...}` when R2 failed mid-stream.
 */
import { Hono } from "hono";
import { requireKey } from "../auth/keys";
import { ApiError } from "../http/errors";
import { log } from "../lib/log";
import type { AppEnv } from "../http/types";
import { parseOr400 } from "../http/validate";
import { toApiLog } from "../query/logs-query";
import { archiveQuery, decodeArchiveCursor, encodeArchiveCursor, MAX_TIME_MS } from "./query";
import { scanArchive } from "./read";
import { errorMessage } from "../lib/errors";

export const archiveApp = new Hono<AppEnv>().get("/logs", requireKey("read"), (c) => {
  const q = parseOr400(archiveQuery, c.req.query());
  const to = q.to ?? Date.now();
  if (q.from < 0 || to > MAX_TIME_MS)
    throw new ApiError(400, "invalid_request", "invalid query", ["from, to: must lie between 1970 and 9999"]);
  if (to < q.from) throw new ApiError(400, "invalid_request", "invalid query", ["to: must not be before from"]);
  const start = q.cursor === undefined ? null : decodeArchiveCursor(q.cursor, q.service);
  if (q.cursor !== undefined && start === null) {
    throw new ApiError(400, "invalid_request", "invalid query", [
      "cursor: not a cursor returned by this API for this service",
    ]);
  }
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const line = (value: unknown) => writer.write(encoder.encode(`${JSON.stringify(value)}\n`));
  const requestId = c.get("requestId");
  const done = (async () => {
    try {
      const s = await scanArchive(c.env.ARCHIVE, q, to, start, (row) => line(toApiLog(row)));
      await line({ ...s, next: undefined, next_cursor: s.next ? encodeArchiveCursor(s.next) : null });
    } catch (err) {
      const message = errorMessage(err);
      log("error", "archive_read_failed", { request_id: requestId, service: q.service, message });
      await line({
        error: { code: "archive_read_failed", message: "reading the archive failed; repeat this call (same cursor)" },
      }).catch(() => undefined);
    } finally {
      await writer.close().catch(() => undefined);
    }
  })();
  c.executionCtx.waitUntil(done);
  return c.body(readable, 200, { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store" });
});
