/**
 * One body limit for the whole API, enforced before any route reads a byte: 64 KiB on every
 * `/v1/*` route, more only where the table below says a route needs it (ingest batches). It is
 * mounted once in front of every feature app, so a new route cannot forget it. Hono's
 * `bodyLimit` refuses at once on a `Content-Length` over the limit and counts a chunked body as
 * it streams, stopping at the first byte past the limit; either way the answer is
 * `413 payload_too_large` in the error envelope. A chunked body without a key is never read. The proxy is not under it: it streams bodies
 * to the origin, whose own limits stand.
 */
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { presentsAnyKey } from "../auth/keys";
import { MAX_BODY_BYTES } from "../ingest/body";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Routes allowed a larger body than the default (`:name` matches one path segment): the ingest
 * formats (1 MiB, as documented), and the two settings documents whose largest valid form is
 * over 64 KiB (20 probes with 2 KiB paths and 1 KiB bodies; 200 endpoint overrides).
 */
export const BODY_LIMIT_OVERRIDES: readonly { method: string; path: string; bytes: number }[] = [
  { method: "POST", path: "/v1/logs", bytes: MAX_BODY_BYTES },
  { method: "POST", path: "/v1/otlp/v1/traces", bytes: MAX_BODY_BYTES },
  { method: "PUT", path: "/v1/services/:name", bytes: 256 * 1024 },
  { method: "PUT", path: "/v1/services/:name/detection", bytes: 256 * 1024 },
];

const OVERRIDE_PATTERNS = BODY_LIMIT_OVERRIDES.map((o) => ({
  ...o,
  pattern: new RegExp(
    `^${o.path
      .split("/")
      .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/")}$`,
  ),
}));

/** The largest body, in bytes, that `method path` may carry. */
export function bodyLimitFor(method: string, path: string): number {
  const normalised = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const override = OVERRIDE_PATTERNS.find((o) => o.method === method.toUpperCase() && o.pattern.test(normalised));
  return override?.bytes ?? DEFAULT_BODY_LIMIT_BYTES;
}

/** The 413 every route answers for a body over its limit. */
export function payloadTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`, { max_bytes: maxBytes });
}

/**
 * Middleware for `/v1/*`: refuses a body over the route's limit before anything parses it. A
 * chunked body is buffered up to the limit to be counted, so only for a request that carries a
 * key: without one the body is left unread and the route sees none (every `/v1` route that takes
 * a body needs a key and answers 401 first).
 */
export const apiBodyLimit = createMiddleware<AppEnv>(async (c, next) => {
  const raw = c.req.raw;
  const sized = raw.headers.has("content-length") && !raw.headers.has("transfer-encoding");
  if (raw.body && !sized && !(await presentsAnyKey(c.env, c.req.header("Authorization")))) {
    c.req.raw = new Request(raw, { body: null });
    return next();
  }
  const maxSize = bodyLimitFor(c.req.method, new URL(c.req.url).pathname);
  const limit = bodyLimit({
    maxSize,
    onError: () => {
      throw payloadTooLarge(maxSize);
    },
  });
  return limit(c, next);
});
