/**
 * When an endpoint object flushes to D1 and writes through to R2. The sample of
 * src/storage/sampling.ts is taken per (flush, event minute): with a flush 250 ms after the first
 * buffered record, an endpoint with a few records a minute flushes one or two at a time and
 * nothing is sampled out, and R2 gets about one object per flush. So an endpoint that samples
 * flushes once a minute instead, just after the minute boundary plus a grace (late hand-offs of
 * the minute's events still make it): one flush holds a whole arrival minute and the sample is
 * `sample_size` per minute. `all` keeps the short delay (the live explorer shows records within a
 * second). `auto` waits only above its rate (more than `autoAbove` records arrived in the last
 * minute): below it a minute of a flush is kept whole anyway, and records stay visible at once. Pure.
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

/**
 * Whether the flush waits for the minute under `policy` (null: D1 at its cap, only R2 is written),
 * given how many records arrived since the start of the previous flush window.
 */
export function waitsForMinute(policy: SamplingPolicy | null, recentRecords: number): boolean {
  if (policy === null) return true;
  if (policy.mode === "sampled") return true;
  if (policy.mode === "auto") return recentRecords > policy.autoAbove;
  return false;
}
