/**
 * The latency detector: the p95 against its static threshold, and p95 and p50 against their learnt
 * baselines (log scale, about an hour of memory, drifts summed by CUSUM), moved by the daily
 * profile's offset for the minute. A baseline signal also needs a real change, relative and in ms,
 * and a drift is gated on the recent level rather than on one noisy window. Pure.
 */
import type { DetectionConfig } from "./config";
import { clamp01, type DetectorState } from "./detector-state";
import { metricStep, type MetricParams } from "./metric";
import { deseason, reseason } from "./season";
import type { LatencySample, Signal } from "./types";

/**
 * Latency percentiles per minute: log scale, about an hour of memory, drifts summed by CUSUM.
 * z enters the CUSUM clipped at 3 (it was 4): a minute or two of slow requests stays in five
 * overlapping 5-minute windows, and at 4 those five views of the same requests added up to h
 * (the `periodic-bursts` control opened a WARNING so); a real shift keeps adding minute after minute.
 */
export const LATENCY_PARAMS: MetricParams = {
  direction: "up",
  transform: "log",
  alpha: 1 / 60,
  alpha_scale: 1 / 60,
  warmup: 30,
  z_threshold: 5,
  cusum_k: 1,
  cusum_h: 15,
  cusum_clip: 3,
  sd_floor: 0.05,
  sd_floor_relative: 0,
  clip: 2,
  scale_clip: 3,
  novelty_margin: 0,
  novelty_memory: 0,
};
/**
 * A latency signal also needs this much change, relative and absolute (ms): 1.3x for a spike,
 * 1.15x for a drift (the CUSUM already says the rise has lasted).
 */
export const LATENCY_MIN_RATIO = 1.3;
export const LATENCY_DRIFT_MIN_RATIO = 1.15;
/** Weight of a new minute in the recent latency level (about 3 minutes of memory). */
const RECENT_ALPHA = 0.3;
export const LATENCY_MIN_DELTA_MS = 20;

type LatencyState = Pick<DetectorState, "latency_p95" | "latency_p50" | "recent">;

export interface LatencyInput {
  latency: LatencySample;
  minute_start: number;
  state: DetectorState;
  cfg: DetectionConfig;
  /** The p95 threshold is being learnt: not judged yet. */
  threshold_pending: boolean;
  /** The daily profile's offset (log scale) for the minute. */
  offset: number;
}

/** Judges one minute's latency sample; `state` holds only the parts it learnt (none for a minute not judged). */
export function latencySignals(input: LatencyInput): { signals: Signal[]; state: Partial<LatencyState> } {
  const { latency: lat, state, cfg, offset } = input;
  const signals: Signal[] = [];
  const learnt: Partial<LatencyState> = {};
  const win = `${lat.window_minutes}m`;
  if (lat.p95 > cfg.thresholds.p95_ms && !input.threshold_pending) {
    signals.push({
      kind: "latency_p95_threshold",
      family: "latency",
      level: "warning",
      observed: lat.p95,
      baseline: null,
      threshold: cfg.thresholds.p95_ms,
      unit: "ms",
      window: win,
      strength: clamp01(lat.p95 / cfg.thresholds.p95_ms - 1),
    });
  }
  // A widened window (a quiet endpoint) is judged once per its own length, so that the
  // baselines see independent observations rather than 30 views of mostly the same requests.
  const judged = lat.window_minutes <= 5 || Math.round(input.minute_start / 60_000) % lat.window_minutes === 0;
  for (const [key, kind, value] of judged
    ? ([
        ["latency_p95", "latency_p95_baseline", lat.p95],
        ["latency_p50", "latency_p50_baseline", lat.p50],
      ] as const)
    : []) {
    const step = metricStep(state[key], deseason(value, offset), LATENCY_PARAMS);
    learnt[key] = step.state;
    const baseline = reseason(Math.log1p(step.baseline), offset);
    // A drift is gated on the recent level (a short EWMA), not on one noisy window, so that a
    // creeping endpoint does not flicker in and out of the gate.
    const previous = state.recent?.[key];
    const recent =
      previous === undefined
        ? value
        : Math.expm1(RECENT_ALPHA * Math.log1p(value) + (1 - RECENT_ALPHA) * Math.log1p(previous));
    learnt.recent = { ...(learnt.recent ?? state.recent), [key]: recent };
    const level = step.reason === "drift" ? Math.max(value, recent) : value;
    const minRatio = step.reason === "drift" ? LATENCY_DRIFT_MIN_RATIO : LATENCY_MIN_RATIO;
    if (step.fired && level >= baseline * minRatio && level - baseline >= LATENCY_MIN_DELTA_MS) {
      signals.push({
        kind,
        family: "latency",
        level: "warning",
        observed: value,
        baseline,
        threshold: null,
        unit: "ms",
        window: win,
        strength: clamp01((value / baseline - 1) / 2),
      });
    }
  }
  return { signals, state: learnt };
}
