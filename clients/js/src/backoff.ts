/**
 * Retry timing for the client: exponential backoff with full jitter (a random wait between 0 and
 * `base * 2^attempt`, capped), so that many app instances whose monitor came back do not retry in
 * step. Pure: the random source is passed in.
 */

/** The wait before retry number `attempt` (0 for the first retry), in ms. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** True when a send that got this HTTP status may succeed if tried again. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** A `Retry-After` header in ms (seconds or an HTTP date), or undefined when absent or malformed. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,7}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
