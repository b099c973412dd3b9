/**
 * The one exponential backoff: `firstMs * factor^(attempt-1)`, capped at `maxMs`, then spread
 * by ±`jitter` so that many retries of one failure do not land at the same instant. Pure (the
 * random source is a parameter, for tests).
 */
export interface Backoff {
  /** Delay before the first retry (attempt 1), before jitter. */
  firstMs: number;
  /** Growth per attempt (2 doubles). */
  factor: number;
  /** Cap on the delay before jitter. */
  maxMs: number;
  /** Relative spread: 0.25 gives a delay in [0.75, 1.25) of the base. */
  jitter: number;
  /** Whether the jittered delay is capped at `maxMs` too (otherwise it may exceed it by the jitter). */
  capJittered?: boolean;
}

/** The delay in ms before retry `attempt` (1-based; attempts below 1 count as 1), rounded to whole ms. */
export function backoffMs(b: Backoff, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(b.maxMs, b.firstMs * b.factor ** Math.max(0, attempt - 1));
  const delay = Math.round(base * (1 - b.jitter + random() * 2 * b.jitter));
  return b.capJittered === true ? Math.min(b.maxMs, delay) : delay;
}
