/**
 * Ingest counters of this isolate (accepted, rejected, hand-off retries, fallbacks, drops),
 * reported by `/health` and, later, `/metrics`. Per isolate: they reset when it is recycled.
 */
export const ingestCounters = {
  requests: 0,
  accepted: 0,
  rejected: 0,
  handoff_retries: 0,
  /** Hand-offs an endpoint object refused as overloaded (not retried: their records went to D1). */
  handoff_overloaded: 0,
  /** Registry calls that failed or timed out (records kept their own route). */
  route_cap_unavailable: 0,
  fallback_to_d1: 0,
  /** Fallback records whose archive write failed (they are in D1 only). */
  fallback_archive_failed: 0,
  /** Requests that handed off before answering because too many records were in flight (in-flight.ts). */
  backpressured_requests: 0,
  /** The most records in flight seen when a request was held back. */
  backpressured_max_in_flight: 0,
  dropped: 0,
};
