/**
 * Backpressure on background hand-offs. The worker answers 202 far faster than the endpoint
 * objects absorb records (under `wrangler dev` they share one thread), so hand-offs left to
 * `waitUntil` would pile up without bound, each holding its records in memory. This isolate
 * counts the records whose background hand-off has not settled; past `INGEST_MAX_IN_FLIGHT`
 * a request hands its records off before answering (as `?sync=1` does), which slows the
 * client to the rate the objects absorb and keeps memory bounded.
 */

/** Default bound on records in background hand-offs per isolate (40 batches of 500). */
import { config, DEFAULT_MAX_IN_FLIGHT } from "../config";

export { DEFAULT_MAX_IN_FLIGHT };

let inFlight = 0;

/** Records of this isolate whose background hand-off has not settled yet. */
export function inFlightRecords(): number {
  return inFlight;
}

/** The bound from `INGEST_MAX_IN_FLIGHT` (a positive integer; otherwise the default). */
export function maxInFlight(env: Env): number {
  return config(env).INGEST_MAX_IN_FLIGHT;
}

/** Whether `records` more would pass the bound, so that the request must hand off before answering. */
export function mustHandOffNow(env: Env, records: number): boolean {
  return inFlight + records > maxInFlight(env);
}

/** Counts `records` as in flight (their background hand-off has started or is about to). */
export function addInFlight(records: number): void {
  inFlight += records;
}

/** Their background hand-off settled (stored, fallen back or counted as dropped). */
export function settleInFlight(records: number): void {
  inFlight = Math.max(0, inFlight - records);
}
