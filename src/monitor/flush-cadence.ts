/**
 * When an endpoint object flushes to D1 and writes through to R2. The sample of
 * src/storage/sampling.ts is taken per (flush, event minute): with a flush 250 ms after the first
 * buffered record, an endpoint with a few records a minute flushes one or two at a time and
 * nothing is sampled out, and R2 gets about one object per flush. So an endpoint that samples
 * flushes once a minute instead, just after the minute boundary plus a grace (late hand-offs of
 * the minute's events still make it): one flush holds a whole arrival minute and the sample is
 * `sample_size` per minute. `all` and `auto` keep the short delay (the live tail and the explorer show
 * records within a second; `auto` samples per flush above its rate, which is where flushes are
 * large anyway). Only `sampled` (chosen by the service, or forced past 80% of D1) waits. Pure.
 */
import type { SamplingPolicy } from "../storage/sampling";

const MINUTE_MS = 60_000;
/** How long after a minute boundary the once-a-minute flush runs. */
export const FLUSH_GRACE_MS = 2000;

/** The latest flush boundary (a minute boundary plus the grace) at or before `now`: chunks added before it are due. */
export function flushCut(now: number): number {
  return Math.floor((now - FLUSH_GRACE_MS) / MINUTE_MS) * MINUTE_MS + FLUSH_GRACE_MS;
}

/** The next once-a-minute flush after `now`. */
export function nextMinuteFlushAt(now: number): number {
  return flushCut(now) + MINUTE_MS;
}

/** Whether the flush waits for the minute under `policy` (null: D1 at its cap, only R2 is written). */
export function waitsForMinute(policy: SamplingPolicy | null): boolean {
  if (policy === null) return true;
  if (policy.mode === "sampled") return true;
  // `auto` never waits: a busy endpoint's live tail would lag by up to a minute (its flushes hold
  // many records, so its sample per flush is already small).
  return false;
}
