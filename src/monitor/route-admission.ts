/**
 * Which new routes a service's registry admits. Records an ingest, OTLP or tail key vouches for
 * are admitted up to the cap, as before; proxied records (anyone can send them) only when the
 * origin's answer shows the route exists, and at a bounded rate per service (a token bucket),
 * so that junk paths cannot crowd out real routes. Admitted routes unused for the TTL expire.
 * Pure: the clock is passed in.
 */
import * as z from "zod";
import { config, type ConfigEnv } from "../config";
import { shapeOf, storedNumber } from "../lib/stored-schema";
import { DAY_MS, HOUR_MS } from "../lib/time";

export { DEFAULT_ROUTE_BURST, DEFAULT_ROUTE_RATE_PER_HOUR, DEFAULT_ROUTE_TTL_DAYS } from "../config";

/**
 * Statuses that do not show a route exists: 404 Not Found, 405 Method Not Allowed (many
 * frameworks answer it for any path with an unknown method), 410 Gone, 414 URI Too Long, 431
 * Request Header Fields Too Large and 501 Not Implemented. Every other status the origin
 * answered (1xx-3xx, other 4xx such as 401/403/422, 5xx) comes from a handler that exists.
 */
const NOT_A_ROUTE = new Set([404, 405, 410, 414, 431, 501]);

/** True when a proxied response shows its route exists; `originAnswered` false: the proxy's own 502/504. */
export function showsRouteExists(status: number, originAnswered: boolean): boolean {
  return originAnswered && !NOT_A_ROUTE.has(status);
}

/** The limits a registry applies (from the env; the clock may be injected by tests). */
export interface AdmissionSettings {
  maxRoutes: number;
  /** A route not seen for this long is forgotten (frees a place under the cap). */
  ttlMs: number;
  /** New unvouched routes admitted per hour per service, after the burst. */
  ratePerHour: number;
  burst: number;
  now?: number;
}

/** One route asked about: `vouched` when a key vouches for one of its records, `exists` when a response shows it. */
export interface RouteAsk {
  route: string;
  vouched: boolean;
  exists: boolean;
}

/** Admission settings from the env: MAX_ROUTES_PER_SERVICE, ROUTE_TTL_DAYS, PROXY_ROUTES_PER_HOUR, PROXY_ROUTES_BURST. */
export function admissionSettings(env: ConfigEnv, defaultMaxRoutes: number): AdmissionSettings {
  const s = config(env);
  return {
    maxRoutes: Math.floor(s.MAX_ROUTES_PER_SERVICE ?? defaultMaxRoutes),
    ttlMs: s.ROUTE_TTL_DAYS * DAY_MS,
    ratePerHour: s.PROXY_ROUTES_PER_HOUR,
    burst: Math.max(1, Math.floor(s.PROXY_ROUTES_BURST)),
  };
}

/** A token bucket: `tokens` as of `at` (epoch ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

/** A bucket as the registry stores it (`bucket` in its `meta`). */
export const BucketSchema: z.ZodType<Bucket> = z.looseObject(
  shapeOf<Bucket>()({ tokens: storedNumber, at: storedNumber }),
);

/** The bucket refilled up to `now`; a fresh service starts with a full burst. */
export function refill(
  bucket: Bucket | null,
  now: number,
  s: Pick<AdmissionSettings, "ratePerHour" | "burst">,
): Bucket {
  if (!bucket) return { tokens: s.burst, at: now };
  const elapsed = Math.max(0, now - bucket.at);
  return { tokens: Math.min(s.burst, bucket.tokens + (elapsed * s.ratePerHour) / HOUR_MS), at: now };
}

/**
 * How long an isolate may count a route as admitted without telling the registry it was seen:
 * at most a day, and well inside the TTL, so a route in use is touched (one registry write per
 * route per isolate per day) long before it could expire.
 */
export function touchIntervalMs(ttlMs: number): number {
  return Math.min(DAY_MS, ttlMs / 4);
}
