/**
 * Baselines for the detectors of the detection issue: an exponentially weighted mean and
 * variance (for z-scores against what a metric usually is) and a one-sided CUSUM (for slow
 * drifts a z-score misses). Plain state objects, updated by pure functions, so that the endpoint
 * Durable Object can store them as JSON and replays in event time give the same results. Not
 * wired into the endpoint object yet.
 */

/** EWMA mean and variance of one metric. */
export interface Ewma {
  mean: number;
  variance: number;
  /** Observations seen, to know when the baseline is warm enough to judge by. */
  n: number;
}

export const emptyEwma = (): Ewma => ({ mean: 0, variance: 0, n: 0 });

/**
 * Folds one observation into the baseline with smoothing `alpha` (0..1; the weight of the new
 * value). The first observation sets the mean. Incremental EWMA variance (West, 1979 / Finch, 2009).
 */
export function ewmaUpdate(state: Ewma, value: number, alpha: number): Ewma {
  if (!Number.isFinite(value)) return state;
  if (state.n === 0) return { mean: value, variance: 0, n: 1 };
  const diff = value - state.mean;
  const increment = alpha * diff;
  return {
    mean: state.mean + increment,
    variance: (1 - alpha) * (state.variance + diff * increment),
    n: state.n + 1,
  };
}

/**
 * How many standard deviations `value` lies above the baseline; `floor` bounds the deviation
 * from below so that a near-constant metric does not turn a tiny change into a huge score.
 */
export function zScore(state: Ewma, value: number, floor: number): number {
  const sd = Math.max(Math.sqrt(state.variance), floor);
  return (value - state.mean) / sd;
}

/** One-sided (upward) CUSUM state. */
export interface Cusum {
  sum: number;
}

/**
 * Adds one standardised observation: `z` above the slack `k` accumulates, below it drains; the
 * drift is signalled once the sum passes the decision threshold `h` (the caller compares).
 */
export function cusumUpdate(state: Cusum, z: number, k: number): Cusum {
  if (!Number.isFinite(z)) return state;
  return { sum: Math.max(0, state.sum + z - k) };
}
