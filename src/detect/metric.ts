/**
 * The baseline detector of one metric: an EWMA mean and variance of what the metric usually is,
 * a z-score of each new observation against it (sudden changes), and a CUSUM of the z-scores
 * (slow drifts a z-score misses). Used by the endpoint detectors for latency and traffic, and
 * replayed on the NAB corpus by `npm run bench:detection` with the same code. Pure: the state
 * is a plain object (a handful of numbers) the endpoint Durable Object stores as JSON.
 *
 * Guards that keep it quiet on noise (the endpoint latency and traffic detectors leave the
 * looser variance, the CUSUM clip and novelty off, so once warm they behave as they always did):
 * - the deviation has a floor (absolute and relative to the mean), so that a metric that was
 *   flat for hours does not turn a tiny wobble into a huge z;
 * - observations are clipped to mean ± clip·sd before they move the mean, so that a burst or
 *   an outage does not drag the baseline along (a lasting change is still learnt, at the clip's
 *   pace); the variance learns from residuals clipped much more loosely (`scale_clip`) and
 *   more slowly (`alpha_scale`), because clipping it at 3 sd too shrinks it on heavy-tailed
 *   metrics until every ordinary burst looks like a 10-sd event;
 * - z is clipped before it enters the CUSUM (`cusum_clip`, a robust CUSUM), so one burst cannot
 *   pass for a drift: a drift needs several steps of sustained shift;
 * - novelty (`novelty_margin`, `novelty_memory`): a spike must also go beyond the most extreme
 *   value of the recent past by a margin. Bursty metrics (batch jobs, cron, autoscaling) repeat
 *   the same excursion again and again; the first is news, the next ones are not. The recent
 *   extremes fade towards the mean, so that an equal excursion is news again after about
 *   `novelty_memory` steps. Once a novel spike has fired it keeps firing while z stays past
 *   the threshold, so one long anomaly stays one firing run.
 */
import { emptyEwma, type Ewma } from "./baseline";

export type Direction = "up" | "down" | "both";

export interface MetricParams {
  /** Which way is bad: latency up, traffic down, a generic metric either way. */
  direction: Direction;
  /** Applied before anything else: `log` for latencies and counts (ratios matter, not differences). */
  transform: "linear" | "log";
  /** EWMA weight of a new observation in the mean. */
  alpha: number;
  /** EWMA weight of a new squared residual in the variance (slower than `alpha`: spread is learnt over a longer past). */
  alpha_scale: number;
  /** Observations learnt before the detector may fire. */
  warmup: number;
  /** |z| at which one observation alone fires. */
  z_threshold: number;
  /** CUSUM slack, in standard deviations, and decision threshold. */
  cusum_k: number;
  cusum_h: number;
  /** z is clipped to ±cusum_clip before it enters the CUSUM (Infinity: unclipped). */
  cusum_clip: number;
  /** Floors of the standard deviation: absolute (in transformed units) and relative to |mean|. */
  sd_floor: number;
  sd_floor_relative: number;
  /** Observations are clipped to mean ± clip·sd before updating the mean. */
  clip: number;
  /** Residuals are clipped to ±scale_clip·sd before updating the variance (with scale_clip = clip and alpha_scale = alpha: the classic EWMA of the clipped value). */
  scale_clip: number;
  /** A spike must exceed the recent extreme's distance from the mean by this share (0.1: 10% further out). */
  novelty_margin: number;
  /** Steps after which an excursion equal to a past extreme counts as new again; 0 turns the novelty test off. */
  novelty_memory: number;
}

export interface MetricState {
  /** Mean and variance (transformed units) and the observations seen. */
  ewma: Ewma;
  /** Upward and downward CUSUM sums. */
  up: number;
  down: number;
  /** Recent extremes (transformed units), fading towards the mean. */
  high: number;
  low: number;
  /** The direction of the spike that fired on the previous observation, if any. */
  spiking: "up" | "down" | null;
}

export interface MetricStep {
  state: MetricState;
  /** Whether this observation is anomalous in the bad direction (spike or drift). */
  fired: boolean;
  /** How the observation fired, when it did. */
  reason: "spike" | "drift" | null;
  /** z-score against the baseline before this observation (0 during warm-up). */
  z: number;
  /** The CUSUM sum in the bad direction (the larger one for `both`). */
  cusum: number;
  /** The baseline (mean, back in the metric's own units) the observation was judged against. */
  baseline: number;
}

/**
 * The parameters the product ships for a generic metric in either direction (and NAB replays).
 * NAB steps are 5 minutes: the mean remembers about 200 steps (17 h), the spread about 500
 * (1.7 days), and an excursion as large as a past one is news again after 864 steps (3 days).
 * Chosen on the API subset and checked on the rest of NAB (tweets, taxi, artificial) so as not
 * to fit one corpus; every neighbouring value scores within a few points.
 */
export const NAB_PARAMS: MetricParams = {
  direction: "both",
  transform: "linear",
  alpha: 0.005,
  alpha_scale: 0.002,
  warmup: 60,
  z_threshold: 4,
  cusum_k: 1.5,
  cusum_h: 12,
  cusum_clip: 3,
  sd_floor: 1e-6,
  sd_floor_relative: 0.02,
  clip: 3,
  scale_clip: 20,
  novelty_margin: 0.1,
  novelty_memory: 864,
};

export const emptyMetricState = (): MetricState => ({
  ewma: emptyEwma(),
  up: 0,
  down: 0,
  high: 0,
  low: 0,
  spiking: null,
});

function transform(value: number, params: MetricParams): number {
  return params.transform === "log" ? Math.log1p(Math.max(0, value)) : value;
}

function untransform(value: number, params: MetricParams): number {
  return params.transform === "log" ? Math.expm1(value) : value;
}

const clamp = (x: number, limit: number): number => Math.min(limit, Math.max(-limit, x));

/** Standard deviation of the baseline with its floors. */
export function baselineSd(state: MetricState, params: MetricParams): number {
  return Math.max(
    Math.sqrt(state.ewma.variance),
    params.sd_floor,
    params.sd_floor_relative * Math.abs(state.ewma.mean),
  );
}

/**
 * Folds one observation into the baseline: the mean moves by `alpha` of the residual clipped at
 * clip·sd, the variance by `alpha_scale` of the residual clipped at scale_clip·sd (incremental
 * EWMA variance, as `ewmaUpdate`), and the recent extremes fade towards the new mean. During
 * warm-up nothing is clipped and the weights are at least 1/n, so the baseline is the plain
 * mean and variance of what was seen (an EWMA started from nothing over-weights its first
 * value and under-estimates the variance, which would inflate the first z-scores).
 */
function learn(
  state: MetricState,
  x: number,
  sd: number,
  params: MetricParams,
): Pick<MetricState, "ewma" | "high" | "low"> {
  const { mean, variance, n } = state.ewma;
  if (n === 0) return { ewma: { mean: x, variance: 0, n: 1 }, high: x, low: x };
  const warming = n < params.warmup;
  // Residuals of the value clipped to mean ± c·sd (written as the product always did, so that
  // callers with scale_clip = clip and alpha_scale = alpha get bit-identical baselines).
  const clipped = (c: number): number =>
    (warming || c === Number.POSITIVE_INFINITY ? x : Math.min(mean + c * sd, Math.max(mean - c * sd, x))) - mean;
  const d = clipped(params.clip);
  const r = clipped(params.scale_clip);
  const am = warming ? Math.max(params.alpha, 1 / (n + 1)) : params.alpha;
  const a = warming ? Math.max(params.alpha_scale, 1 / (n + 1)) : params.alpha_scale;
  const next = mean + am * d;
  const ewma = { mean: next, variance: (1 - a) * (variance + r * (a * r)), n: n + 1 };
  if (params.novelty_memory <= 0) return { ewma, high: x, low: x };
  const fade = Math.pow(1 + params.novelty_margin, -1 / params.novelty_memory);
  return {
    ewma,
    high: Math.max(x, next + (state.high - next) * fade),
    low: Math.min(x, next + (state.low - next) * fade),
  };
}

/** Judges one observation against the baseline, then folds it into the baseline. */
export function metricStep(state: MetricState, value: number, params: MetricParams): MetricStep {
  const x = transform(value, params);
  const baseline = untransform(state.ewma.mean, params);
  if (!Number.isFinite(x)) return { state, fired: false, reason: null, z: 0, cusum: 0, baseline };
  if (state.ewma.n < params.warmup) {
    return {
      state: { ...learn(state, x, 0, params), up: 0, down: 0, spiking: null },
      fired: false,
      reason: null,
      z: 0,
      cusum: 0,
      baseline,
    };
  }
  const mean = state.ewma.mean;
  const sd = baselineSd(state, params);
  const z = (x - mean) / sd;
  const zc = clamp(z, params.cusum_clip);
  const cap = 2 * params.cusum_h;
  const up = Math.min(cap, Math.max(0, state.up + zc - params.cusum_k));
  const down = Math.min(cap, Math.max(0, state.down - zc - params.cusum_k));
  const watchUp = params.direction !== "down";
  const watchDown = params.direction !== "up";
  // Novelty: beyond the recent extreme by the margin, or the continuation of a spike that was.
  const noveltyOff = params.novelty_memory <= 0;
  const margin = 1 + params.novelty_margin;
  const spikeUp =
    watchUp &&
    z >= params.z_threshold &&
    (noveltyOff || state.spiking === "up" || x - mean > margin * (state.high - mean));
  const spikeDown =
    watchDown &&
    z <= -params.z_threshold &&
    (noveltyOff || state.spiking === "down" || mean - x > margin * (mean - state.low));
  const spike = spikeUp || spikeDown;
  const drift = (watchUp && up >= params.cusum_h) || (watchDown && down >= params.cusum_h);
  const cusum = params.direction === "up" ? up : params.direction === "down" ? down : Math.max(up, down);
  return {
    state: { ...learn(state, x, sd, params), up, down, spiking: spikeUp ? "up" : spikeDown ? "down" : null },
    fired: spike || drift,
    reason: spike ? "spike" : drift ? "drift" : null,
    z,
    cusum,
    baseline,
  };
}
