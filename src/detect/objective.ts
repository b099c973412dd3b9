/**
 * Learned default objectives. A latency objective or p95 threshold the user did not set is not
 * absolute: it starts at the level the endpoint has actually met over its first hours, so that
 * an endpoint that is slow by nature is never paged for its steady state (only shown as slower
 * than the default objective). The 5xx-rate threshold and the availability objective the user did
 * not set follow the endpoint's usual 5xx rate likewise (an endpoint that always fails a few
 * percent is not on a permanent page). A user-set objective is used as given. Pure.
 */
import type { DetectionConfig } from "./config";
import { ERROR_RATE_PARAMS, usualRate, type RateSeason, type RateState } from "./rates";
import type { LatencySample } from "./types";

/** Latency samples (one per evaluated minute with a sample) learnt before the objective is set. */
export const OBJECTIVE_LEARN_SAMPLES = 180;
/** The learnt latency objective: this many times the median p99 met while learning. */
export const OBJECTIVE_P99_MARGIN = 1.25;
/** The learnt static p95 threshold: this many times the median p95 met while learning. */
export const OBJECTIVE_P95_MARGIN = 3;

export interface ObjectiveState {
  /** Per-minute p95 and p99 (ms, rounded) while learning; emptied once learnt. */
  p95: number[];
  p99: number[];
  /** The learnt levels (null while learning); never below the defaults. */
  latency_ms: number | null;
  p95_ms: number | null;
  /** Event time (minute start) the objective was learnt at; windows older than that counted against the default. */
  learnt_at?: number;
  /** Whether the endpoint's own level is past the default objective or threshold. */
  slower_than_default: boolean;
}

export const emptyObjective = (): ObjectiveState => ({
  p95: [],
  p99: [],
  latency_ms: null,
  p95_ms: null,
  slower_than_default: false,
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Whether any default objective of `cfg` is learnt rather than absolute. */
export function learnsObjective(cfg: DetectionConfig): boolean {
  return cfg.learn?.latency_slo === true || cfg.learn?.p95_threshold === true;
}

/** Folds one minute's latency sample into the objective being learnt (unchanged once learnt). */
export function learnObjective(
  state: ObjectiveState,
  sample: LatencySample | null,
  cfg: DetectionConfig,
  minute: number,
): ObjectiveState {
  if (!learnsObjective(cfg) || state.latency_ms !== null || !sample) return state;
  const p95 = [...state.p95, Math.round(sample.p95)];
  const p99 = [...state.p99, Math.round(sample.p99)];
  const slower = median(p99) > cfg.slo.latency_ms || median(p95) > cfg.thresholds.p95_ms;
  if (p95.length < OBJECTIVE_LEARN_SAMPLES) return { ...state, p95, p99, slower_than_default: slower };
  return {
    p95: [],
    p99: [],
    latency_ms: Math.max(cfg.slo.latency_ms, Math.ceil((OBJECTIVE_P99_MARGIN * median(p99)) / 10) * 10),
    p95_ms: Math.max(cfg.thresholds.p95_ms, Math.ceil((OBJECTIVE_P95_MARGIN * median(p95)) / 10) * 10),
    learnt_at: minute + 60_000,
    slower_than_default: slower,
  };
}

/** Whether a learnt objective is still being learnt (its signals are held back meanwhile). */
export function objectivePending(
  state: ObjectiveState | undefined,
  cfg: DetectionConfig,
): { latency_slo: boolean; p95_threshold: boolean } {
  const learning = (state?.latency_ms ?? null) === null;
  return {
    latency_slo: cfg.learn?.latency_slo === true && learning,
    p95_threshold: cfg.learn?.p95_threshold === true && learning,
  };
}

/**
 * Whether a window of `minutes` ending with `minute` only holds requests counted against the
 * learnt objective (a window reaching into the learning counted them against the default).
 */
export function windowCountedAtObjective(
  state: ObjectiveState | undefined,
  cfg: DetectionConfig,
  minute: number,
  minutes: number,
): boolean {
  if (cfg.learn?.latency_slo !== true || state?.learnt_at === undefined) return true;
  return minute + 60_000 - minutes * 60_000 >= state.learnt_at;
}

/** The settings with the learnt objectives in place of the defaults they replace. */
export function withObjective(cfg: DetectionConfig, state: ObjectiveState | undefined): DetectionConfig {
  if (!state || state.latency_ms === null || state.p95_ms === null) return cfg;
  return {
    ...cfg,
    slo: cfg.learn?.latency_slo ? { ...cfg.slo, latency_ms: state.latency_ms } : cfg.slo,
    thresholds: cfg.learn?.p95_threshold ? { ...cfg.thresholds, p95_ms: state.p95_ms } : cfg.thresholds,
  };
}

/**
 * The 5xx-rate threshold the user did not set is learnt: at least the default, and at least this
 * many times the rate the endpoint usually has at this hour of the day (once its usual rate is
 * learnt), so that an endpoint that always fails a few percent at night is not paged for it.
 */
export const ERROR_THRESHOLD_MARGIN = 3;

/** The 5xx-rate threshold of the minute: as set, or learnt from the usual rate at this hour. */
export function learntErrorThreshold(cfg: DetectionConfig, errors: RateState, season: RateSeason | null): number {
  const given = cfg.thresholds.error_rate;
  if (cfg.learn?.error_rate_threshold !== true || errors.n < ERROR_RATE_PARAMS.warmup) return given;
  const usual = usualRate(errors, ERROR_RATE_PARAMS) * (season?.judge ?? 1);
  return Math.max(given, ERROR_THRESHOLD_MARGIN * usual);
}

/**
 * The availability objective the user did not set is learnt likewise: its error budget is at
 * least the default's and at least this many times the endpoint's usual 5xx rate, so that an
 * endpoint that always fails 1% is not on a permanent burn (its changes are the rate detector's).
 */
export const ERROR_BUDGET_MARGIN = 1.25;

/** The availability error budget (a share of requests) of the minute: as set, or learnt. */
export function learntErrorBudget(cfg: DetectionConfig, errors: RateState): number {
  const given = 1 - cfg.slo.availability;
  if (cfg.learn?.availability_slo !== true || errors.n < ERROR_RATE_PARAMS.warmup) return given;
  return Math.max(given, ERROR_BUDGET_MARGIN * usualRate(errors, ERROR_RATE_PARAMS));
}
