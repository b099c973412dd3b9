/**
 * One error type and one JSON envelope for every error the API returns:
 * `{"error": {"code", "message", "details"?}}`. Unexpected errors are logged with the
 * request id and answered with a generic 500, never a stack trace.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { log } from "../lib/log";

/** An error with a stable machine-readable `code`, turned into the JSON envelope by `onError`. */
export class ApiError extends HTTPException {
  readonly code: string;
  readonly details: unknown;

  constructor(status: ContentfulStatusCode, code: string, message: string, details?: unknown) {
    super(status, { message });
    this.code = code;
    this.details = details;
  }
}

/** The error envelope body. */
export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Hono `onError` handler: ApiError and HTTPException become the envelope, anything else a 500. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    return c.json(errorBody(err.code, err.message, err.details), err.status);
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "http_error";
    return c.json(errorBody(code, err.message || "request failed"), status);
  }
  log("error", "unhandled_error", {
    request_id: c.get("requestId"),
    path: new URL(c.req.url).pathname,
    message: err.message,
    stack: err.stack,
  });
  return c.json(errorBody("internal_error", "internal server error"), 500);
}

/** Hono `notFound` handler: unknown routes get a JSON 404. */
export function handleNotFound(c: Context): Response {
  return c.json(errorBody("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404);
}
