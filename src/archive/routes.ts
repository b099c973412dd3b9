/**
 * `GET /v1/archive/logs`: records of one service and time range read back from the R2 archive as
 * NDJSON, streamed as they are read. Every line but the last is a record in the shape of
 * `GET /v1/logs`; the last line is always `{"next_cursor": ..., ...}` (the status line cannot
 * carry a cursor known only at the end), or `{"error": ...}` when R2 failed mid-stream.
 */
import { Hono } from "hono";
import { ApiError } from "../http/errors";
import { defineRoute } from "../http/route";
import { log } from "../lib/log";
import type { AppEnv } from "../http/types";
import { toApiLog } from "../query/logs-query";
import { archiveQuery, decodeArchiveCursor, encodeArchiveCursor, MAX_TIME_MS } from "./query";
import { scanArchive } from "./read";
import { errorMessage } from "../lib/errors";

export const archiveApp = new Hono<AppEnv>();

defineRoute(
  archiveApp,
  {
    method: "GET",
    path: "/logs",
    key: "read",
    tag: "Logs",
    summary:
      "Records of one service and time range from the R2 archive, oldest hour first, NDJSON streamed, bounded per call",
    description:
      "The filters of `GET /v1/logs` on the archived records (gzip NDJSON objects per service and UTC hour). Hours ascending; within an hour, objects in key order and lines in stored order (parts of an hour may overlap in time). A call stops after `limit` records, `max_objects` objects or `max_bytes` compressed bytes (the first object is always read). Every line but the last is a record as in `GET /v1/logs`; the last line is `{next_cursor, records, objects_read, bytes_read, lists, skipped_lines, stopped_by}` (`next_cursor` null: the range is done; otherwise repeat the call with the same filters and `cursor`), or `{error}` when R2 failed mid-stream. `to` defaults to now.",
    request: { query: archiveQuery },
    responses: {
      200: { description: "NDJSON: records, then the summary line", contentType: "application/x-ndjson" },
      400: {
        description:
          "bad filters, `to` before `from`, or a cursor not from this API for this service (`invalid_request`)",
      },
    },
  },
  (c, { query: q }) => {
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
    return c.body(readable, 200, {
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-store",
    });
  },
);
