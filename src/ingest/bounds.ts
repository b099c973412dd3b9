/**
 * Upper bounds of the numeric fields of a record, and the clamp that applies them to values
 * already stored. Ingest rejects a record past a bound (a per-record error), so every sum the
 * aggregation, the stats and the detector take stays finite and far from 2^63: a billion rows at
 * the byte bound sum to about 2^71 as a float, and as integers 2^23 rows per endpoint-hour stay
 * under 2^63. Rows written before the bounds existed, or straight into D1, are clamped to them
 * when they are summed (non-numeric text counts at the bound). Pure.
 */

/** Latency and time to first byte: at most one day, in ms. */
export const MAX_LATENCY_MS = 86_400_000;
/** Request and response body sizes: at most 1 TiB each. */
export const MAX_BYTES = 2 ** 40;
/** Numeric attribute values: within ±(2^53 − 1), the integers a float holds exactly. */
export const MAX_ATTRIBUTE_NUMBER = Number.MAX_SAFE_INTEGER;

/** `value` within [0, max]: NaN and negatives count as 0, +∞ and anything larger as `max`. */
export function clampTo(value: number, max: number): number {
  if (Number.isNaN(value) || value <= 0) return 0;
  return value > max ? max : value;
}

/** A latency as the aggregation and the detector count it. */
export const boundedLatency = (ms: number): number => clampTo(ms, MAX_LATENCY_MS);

/** A byte count as the aggregation and the detector count it (null stays null). */
export const boundedBytes = (bytes: number | null | undefined): number | null =>
  bytes === null || bytes === undefined ? null : clampTo(bytes, MAX_BYTES);

/**
 * The SQL expression of a column clamped to [0, max]: NULL counts as 0, and text (which SQLite
 * sorts after every number) as `max`. Sum it with total(), which adds in floating point and so
 * never raises `integer overflow`.
 */
export function sqlClamp(column: string, max: number): string {
  return `min(max(coalesce(${column}, 0), 0), ${max})`;
}

/** The SQL condition that a column holds a value past [0, max] (text included); NULL is within. */
export function sqlPastBounds(column: string, max: number): string {
  return `coalesce(${column} < 0 OR ${column} > ${max}, 0)`;
}
