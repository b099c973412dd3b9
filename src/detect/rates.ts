/**
 * Rates of bad events (5xx, empty 200s, inconsistencies, 4xx) judged against what is usual for
 * the endpoint. The usual rate is a ratio of two EWMAs (bad per minute over requests per
 * minute), so quiet minutes weigh little and busy ones a lot. Change is found with a Poisson
 * CUSUM: each minute adds the log-likelihood ratio of "the rate tripled" against "as usual"
 * given its own request count, so a low-traffic endpoint needs several failures, not one, and a
 * busy one reacts within minutes. A minimum-volume guard on a recent window (enough requests,
 * enough bad events, a rate clearly above the usual one) must agree before it fires. Pure.
 */

export interface RateState {
  /** EWMAs of bad events and of requests per minute. */
  bad: number;
  total: number;
  /** Minutes with traffic learnt. */
  n: number;
  cusum: number;
}

export const emptyRateState = (): RateState => ({ bad: 0, total: 0, n: 0, cusum: 0 });

export interface RateParams {
  /** EWMA weight of one minute (1/240: about four hours of memory). */
  alpha: number;
  /** Lowest usual rate assumed, so that a rate learnt as zero still needs several events. */
  floor: number;
  /** The change the CUSUM looks for: the rate multiplied by this. */
  factor: number;
  /** CUSUM decision threshold (log-likelihood ratio). */
  h: number;
  /** Minutes with traffic learnt before the detector may fire. */
  warmup: number;
  /** The window's rate must be at least usual × this and usual + `min_delta`. */
  min_ratio: number;
  min_delta: number;
  /** The guard window's bad count must be less likely than this at the usual rate (Poisson). */
  p_value: number;
  /**
   * A clear step fires without waiting for the CUSUM: the guard window's rate at least usual ×
   * `step_ratio` and its bad count less likely than `step_p_value` by chance (0: off).
   */
  step_ratio: number;
  step_p_value: number;
}

/**
 * h is the log-likelihood ratio a run of minutes must gather: the CUSUM crosses it by chance about
 * once in e^h minutes (e^11: weeks), where h = 7 (about once a day) got through the volume guard
 * on most weeks of a steady busy endpoint. The CUSUM looks for a fivefold rate (it was threefold
 * with h = 12): a creep from 0.2% to 3% over an hour at 60/min is caught 2-3 minutes sooner
 * (`node bench/rates-sim.mjs`, median 31 -> 28 min, still no false incident in 10 weeks at any
 * rate), and the crash-rate series of the real-data bench open fewer false incidents.
 */
export const ERROR_RATE_PARAMS: RateParams = {
  alpha: 1 / 240,
  floor: 0.001,
  factor: 5,
  h: 11,
  warmup: 30,
  min_ratio: 2,
  min_delta: 0.0025,
  p_value: 1e-3,
  step_ratio: 5,
  step_p_value: 1e-6,
};
export const CLIENT_RATE_PARAMS: RateParams = {
  alpha: 1 / 240,
  floor: 0.01,
  factor: 2,
  h: 10,
  warmup: 30,
  min_ratio: 2,
  min_delta: 0.05,
  p_value: 1e-3,
  step_ratio: 0,
  step_p_value: 0,
};

/** The usual rate (with its floor). */
export function usualRate(state: RateState, params: RateParams): number {
  const learnt = state.total > 0 ? state.bad / state.total : 0;
  return Math.max(learnt, params.floor);
}

export interface RateStep {
  state: RateState;
  fired: boolean;
  /** The usual rate the minute was judged against. */
  usual: number;
  /** The guard window's rate, and its name. */
  rate: number;
  window: string | null;
}

export interface RateWindow {
  bad: number;
  count: number;
  name?: string;
}

/**
 * The usual rate's daily factor at the minute (src/detect/season.ts): `judge` multiplies the
 * usual rate the minute is judged against, `learn` divides the minute's bad events before they
 * are learnt (so the usual rate stays the day's level, not the hour's).
 */
export interface RateSeason {
  judge: number;
  learn: number;
}

/**
 * Judges one minute (`bad` of `count` requests) and the guard windows, then learns the minute
 * unless it fired. `season` moves the usual rate by the hour of day.
 */
export function rateStep(
  state: RateState,
  minute: { bad: number; count: number },
  windows: RateWindow | readonly RateWindow[],
  guard: { min_requests: number; min_events: number },
  params: RateParams,
  season: RateSeason | null = null,
): RateStep {
  const usual = season ? Math.max(params.floor, usualRate(state, params) * season.judge) : usualRate(state, params);
  const expected = minute.count * usual;
  const llr = minute.bad * Math.log(params.factor) - expected * (params.factor - 1);
  const cusum = Math.min(10 * params.h, Math.max(0, state.cusum + llr));
  // The guard window: the shortest one with enough requests and bad events.
  const list: readonly RateWindow[] = Array.isArray(windows) ? windows : [windows as RateWindow];
  const window = list.find((w) => w.count >= guard.min_requests && w.bad >= guard.min_events) ??
    list[list.length - 1] ?? { bad: 0, count: 0 };
  const rate = window.count > 0 ? window.bad / window.count : 0;
  const passes = (w: RateWindow, ratio: number, p: number): boolean => {
    const r = w.count > 0 ? w.bad / w.count : 0;
    return (
      w.count >= guard.min_requests &&
      w.bad >= guard.min_events &&
      r >= usual * ratio &&
      r >= usual + params.min_delta &&
      poissonUpperTail(w.bad, w.count * usual) < p
    );
  };
  // A step far beyond chance in any window is clear at once; anything less must gather evidence in the CUSUM.
  const step =
    params.step_p_value > 0 &&
    list.some((w) => passes(w, Math.max(params.min_ratio, params.step_ratio), params.step_p_value));
  const fired =
    state.n >= params.warmup && (cusum >= params.h || step) && passes(window, params.min_ratio, params.p_value);
  let next: RateState = { ...state, cusum };
  if (!fired && minute.count > 0) {
    // A running mean until 1/alpha minutes are learnt: an EWMA started from the first minute's
    // count (usually 0 bad) would take hours to reach the usual rate and read it low meanwhile.
    const a = Math.max(params.alpha, 1 / (state.n + 1));
    const bad = season ? minute.bad / season.learn : minute.bad;
    next =
      state.n === 0
        ? { bad, total: minute.count, n: 1, cusum }
        : {
            bad: (1 - a) * state.bad + a * bad,
            total: (1 - a) * state.total + a * minute.count,
            n: state.n + 1,
            cusum,
          };
  } else if (!fired && state.total > 0) {
    // A minute without traffic still ages the averages a little, so that the usual volume stays current.
    next = { ...next, bad: (1 - params.alpha) * state.bad, total: (1 - params.alpha) * state.total };
  }
  return { state: next, fired, usual, rate, window: window.name ?? null };
}

/** P(X >= k) for X ~ Poisson(lambda). */
export function poissonUpperTail(k: number, lambda: number): number {
  return k <= 0 ? 1 : Math.max(0, 1 - poissonCdf(k - 1, lambda));
}

/** P(X <= c) for X ~ Poisson(lambda); a normal approximation past lambda 1000. */
export function poissonCdf(c: number, lambda: number): number {
  if (c < 0) return 0;
  if (lambda <= 0) return 1;
  if (lambda > 1000) {
    const z = (c + 0.5 - lambda) / Math.sqrt(lambda);
    return normalCdf(z);
  }
  // Terms in log space: e^-lambda underflows to 0 past lambda 745, which made every sum 0.
  let logTerm = -lambda;
  let sum = Math.exp(logTerm);
  for (let k = 1; k <= c; k++) {
    logTerm += Math.log(lambda / k);
    sum += Math.exp(logTerm);
    if (logTerm < -700 && k > lambda) break;
  }
  return Math.min(1, sum);
}

function normalCdf(z: number): number {
  // Abramowitz and Stegun 7.1.26 on erf.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
