/**
 * Route templating: a concrete path such as `/users/123/orders/9f86d081884c7d65` becomes the
 * endpoint's route `/users/:id/orders/:id`, so that one endpoint does not split into one
 * Durable Object per id. Segments that look like secrets never reach a route (src/redact/path.ts).
 * Pure, no bindings.
 */
import {
  decodeSegment,
  EMAIL_REDACTED,
  isRedactedMarker,
  isSecretSegment,
  redactEmails,
  type ScrubOptions,
  splitMatrix,
} from "../redact";

const INTEGER = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONG_HEX = /^(?=.*\d)[0-9a-f]{8,}$/i;
// Base64/base64url-like tokens and prefixed ids (`cus_9s6XKzkNRiz8i3`): long, letters and digits mixed.
const TOKEN = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-+.~]{16,}={0,2}$/;
const SEPARATORS = /[-_.~+]/;

/**
 * A slug such as `oauth2-callback-v2` or `payment-methods-v2`: every separated part is a word
 * or short. Token-shaped by length, but a fixed name, so it is kept.
 */
function isSlug(segment: string): boolean {
  if (!SEPARATORS.test(segment)) return false;
  return segment.split(SEPARATORS).every((part) => part.length < 8 || /^[A-Za-z]+$/.test(part));
}
const EMAIL = /^[^@\s/]+@[^@\s/]+\.[^@\s/]+$/;

export const ROUTE_MAX_CHARS = 256;

/** True when a path segment looks like an identifier rather than a fixed name. */
export function isIdLike(segment: string): boolean {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // keep the raw segment
  }
  return (
    INTEGER.test(decoded) ||
    UUID.test(decoded) ||
    LONG_HEX.test(decoded) ||
    EMAIL.test(decoded) ||
    (TOKEN.test(decoded) && !isSlug(decoded))
  );
}

/** Normalises a route: no query, no repeated or trailing slash, bounded length. */
export function cleanRoute(route: string): string {
  const q = route.search(/[?#]/);
  const pathname = q === -1 ? route : route.slice(0, q);
  const segments = pathname.split("/").filter((s) => s.length > 0);
  const cleaned = `/${segments.join("/")}`;
  return cleaned.length > ROUTE_MAX_CHARS ? cleaned.slice(0, ROUTE_MAX_CHARS) : cleaned;
}

/** The placeholder of a segment whose value looks like a secret but not like an id. */
export const REDACTED_SEGMENT = ":redacted";

/**
 * The route form of one concrete path segment: matrix parameters dropped, an id `:id` (as
 * before: secrets that are id-shaped, such as card numbers or JWTs, stay `:id` so an endpoint
 * does not split), any other secret `:redacted`, a fixed name as written.
 */
function templateSegment(segment: string): string {
  const { base } = splitMatrix(segment);
  if (isRedactedMarker(base)) return base.includes(EMAIL_REDACTED) ? ":id" : REDACTED_SEGMENT;
  if (isIdLike(base)) return ":id";
  return isSecretSegment(base) ? REDACTED_SEGMENT : base;
}

/** Pathname segments, the query and fragment cut off. */
function segmentsOf(path: string): string[] {
  const q = path.search(/[?#]/);
  return (q === -1 ? path : path.slice(0, q)).split("/").filter((s) => s.length > 0);
}

/**
 * Derives a route template from a concrete path: ids become `:id`, other secret-shaped
 * segments `:redacted`, matrix parameters are dropped. Every segment is judged whole before
 * the route is cut to length, so a cut never leaves part of a secret.
 */
export function templateRoute(pathname: string): string {
  return cleanRoute(`/${segmentsOf(pathname).map(templateSegment).join("/")}`);
}

/**
 * A route as a client named it (`/orders/:id`, OpenTelemetry's `http.route`, a Hono pattern),
 * kept as written except that matrix parameters are dropped and a segment that looks like a
 * secret becomes `:id` or `:redacted` (a client that sends its raw path as the route).
 */
export function redactRoute(route: string, options: ScrubOptions = {}): string {
  const segments = segmentsOf(route).map((segment) => {
    const { base } = splitMatrix(segment);
    if (isRedactedMarker(base) || isSecretSegment(base)) return templateSegment(base);
    if (options.emails && redactEmails(decodeSegment(base)).includes(EMAIL_REDACTED)) return ":id";
    return base;
  });
  return cleanRoute(`/${segments.join("/")}`);
}

/** The route every record is counted under once a service has reached its cap of distinct routes. */
export const OVERFLOW_ROUTE = "/:other";
