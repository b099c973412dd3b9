/**
 * The traffic detector: requests per minute learnt on a log scale (half an hour of memory, moved
 * by the daily profile), judged for a drop or a stop on the shortest window expecting enough
 * requests, and for a surge (src/detect/surge.ts) named a warning only when trouble rose with it.
 * A surge is not learnt as the usual traffic, nor its 429s as the usual share, unless it lasts. Pure.
 */
import type { DetectionConfig } from "./config";
import { clamp01, type DetectorState } from "./detector-state";
import { LATENCY_PARAMS } from "./latency-detector";
import { metricStep, type MetricParams } from "./metric";
import {
  CLIENT_RATE_PARAMS,
  ERROR_RATE_PARAMS,
  emptyRateState,
  poissonCdf,
  rateStep,
  usualRate,
  type RateParams,
} from "./rates";
import { deseason, judgedOffset, offsetAt, reseason, slotOffsets, type SeasonProfile } from "./season";
import { DIP_RATIO, dipStep, emptyDip, emptySilence, silenceStep, unusualSilence } from "./silence";
import { emptySurge, surgeSignal, surgeStep, troubleWithSurge } from "./surge";
import type { Signal, Snapshot } from "./types";

/** Requests per minute: log scale, half an hour of memory, so diurnal swings are followed. */
export const TRAFFIC_PARAMS: MetricParams = {
  direction: "down",
  transform: "log",
  alpha: 1 / 30,
  alpha_scale: 1 / 30,
  warmup: 30,
  z_threshold: Number.POSITIVE_INFINITY,
  cusum_k: 1,
  cusum_h: Number.POSITIVE_INFINITY,
  cusum_clip: Number.POSITIVE_INFINITY,
  sd_floor: 0.1,
  sd_floor_relative: 0,
  clip: 3,
  scale_clip: 3,
  novelty_margin: 0,
  novelty_memory: 0,
};
/** A drop: at most this share of the expected requests, and less likely than this by chance. */
export const TRAFFIC_DROP_RATIO = DIP_RATIO;
export const TRAFFIC_P_VALUE = 1e-6;
/** Expected requests a window needs before a drop (30) or a stop (20, none at all) is judged. */
const DROP_MIN_EXPECTED = 30;
const STOP_MIN_EXPECTED = 20;
/**
 * A drop starts only beyond this many of the traffic's own swings (the learnt spread of its log
 * rate beyond what chance alone gives at its level): traffic that routinely halves for a few
 * minutes (bursty, periodic batches) is not a drop each time it does.
 */
export const DROP_SWING_SDS = 2;

/** The 429 share is only learnt (it never fires alone: 429s are a 4xx, the client's `info`); a surge is judged with it. */
const RATE_LIMITED_PARAMS: RateParams = {
  ...CLIENT_RATE_PARAMS,
  floor: 0.001,
  h: Number.POSITIVE_INFINITY,
  step_ratio: 0,
  step_p_value: 0,
};

type TrafficState = Pick<DetectorState, "traffic" | "surge" | "rate_limited" | "silence" | "dip">;

export interface TrafficInput {
  s: Snapshot;
  state: DetectorState;
  cfg: DetectionConfig;
  profile: SeasonProfile | null;
  /** The daily profile's latency offset for the minute (a surge's latency is judged against it). */
  latency_offset: number;
  /** The signals the other detectors raised this minute (a surge with latency or 5xx trouble is a warning). */
  earlier: readonly Signal[];
}

/** Judges the minute's traffic; `state` holds the parts it learnt (the dip only when a drop was judged). */
export function trafficSignals(input: TrafficInput): { signals: Signal[]; state: Partial<TrafficState> } {
  const { s, state, cfg, latency_offset: latencyOffset } = input;
  const signals: Signal[] = [];
  const learnt: Partial<TrafficState> = {};
  const guard = { min_requests: cfg.min_requests, min_events: cfg.min_events };
  const trafficOffsets = slotOffsets(input.profile, "traffic");
  const trafficOffset = offsetAt(trafficOffsets, s.minute_start);
  const trafficStep = metricStep(state.traffic, deseason(s.minute.count, trafficOffset), TRAFFIC_PARAMS);
  const warm = state.traffic.ewma.n >= TRAFFIC_PARAMS.warmup;
  // The requests expected in the minute starting at `t` (judging drops, or surges), and in the `m` minutes up to this one.
  const expectedAt = (t: number, direction: "up" | "down" = "down"): number =>
    reseason(state.traffic.ewma.mean, judgedOffset(trafficOffsets, t, direction));
  const over = new Map<number, number>();
  const expectedOver = (m: number): number => {
    if (!trafficOffsets) return m * expectedAt(s.minute_start);
    let sum = over.get(m);
    if (sum === undefined) {
      sum = 0;
      for (let i = 0; i < m; i++) sum += expectedAt(s.minute_start - i * 60_000);
      over.set(m, sum);
    }
    return sum;
  };
  const surge = surgeStep(state.surge ?? emptySurge(), {
    minute_start: s.minute_start,
    minute: s.minute,
    w5: s.w5,
    expected: warm ? expectedAt(s.minute_start, "up") : null,
  });
  learnt.surge = surge.state;
  // A surge is not learnt as the usual traffic (its end would look like a drop) unless it lasts.
  learnt.traffic = surge.hold ? state.traffic : trafficStep.state;
  // Nor are its 429s learnt as usual.
  const rateLimited = state.rate_limited ?? emptyRateState();
  if (!surge.hold)
    learnt.rate_limited = rateStep(
      rateLimited,
      { bad: s.minute.status_429, count: s.minute.count },
      [],
      guard,
      RATE_LIMITED_PARAMS,
    ).state;
  if (surge.surge) {
    const p95Learnt = state.latency_p95.ewma.n >= LATENCY_PARAMS.warmup;
    const trouble = troubleWithSurge({
      signals: input.earlier,
      p95: s.latency?.p95 ?? null,
      p95_baseline: p95Learnt ? reseason(state.latency_p95.ewma.mean, latencyOffset) : null,
      w5: s.w5,
      usual_error_rate: usualRate(state.errors, ERROR_RATE_PARAMS),
      usual_429_rate: usualRate(rateLimited, RATE_LIMITED_PARAMS),
      min_events: cfg.min_events,
    });
    signals.push(surgeSignal(surge.surge, trouble));
  }
  const silence = silenceStep(state.silence ?? emptySilence(), s.minute.count);
  learnt.silence = silence;
  if (warm) {
    const perMinute = expectedAt(s.minute_start);
    const windows = [
      [5, s.w5],
      [15, s.w15],
      [30, s.w30],
      [60, s.w60],
    ] as const;
    const stop = windows.find(([m]) => expectedOver(m) >= STOP_MIN_EXPECTED);
    // A dip going on keeps to its short window while it expects STOP_MIN_EXPECTED (an expected level
    // wavering around DROP_MIN_EXPECTED would otherwise switch it to a longer window that still holds
    // the minutes before the fall, and end the dip at once).
    const inDip = (state.dip?.current ?? null) !== null;
    const drop = windows.find(([m]) => expectedOver(m) >= (inDip ? STOP_MIN_EXPECTED : DROP_MIN_EXPECTED));
    if (stop && stop[1].count === 0 && unusualSilence(silence)) {
      signals.push({
        kind: "traffic_stop",
        family: "traffic",
        level: "warning",
        observed: 0,
        baseline: perMinute,
        threshold: null,
        unit: "per_minute",
        window: `${stop[0]}m`,
        strength: 1,
      });
    } else if (drop) {
      const [m, t] = drop;
      const expected = expectedOver(m);
      // A window with no request at all is a silence: judged as one (a usual silence is no drop either).
      const silentAsUsual = t.count === 0 && !unusualSilence(silence);
      const dipState = state.dip ?? emptyDip();
      const swing = Math.sqrt(Math.max(0, state.traffic.ewma.variance - 1 / Math.max(1, perMinute)));
      const beyondSwing = dipState.dropping || t.count <= Math.exp(-DROP_SWING_SDS * swing) * expected;
      const dip = dipStep(
        dipState,
        t.count / expected,
        !silentAsUsual &&
          beyondSwing &&
          t.count <= TRAFFIC_DROP_RATIO * expected &&
          poissonCdf(t.count, expected) < TRAFFIC_P_VALUE,
      );
      learnt.dip = dip.state;
      if (dip.fired) {
        signals.push({
          kind: "traffic_drop",
          family: "traffic",
          level: "warning",
          observed: t.count / m,
          baseline: expected / m,
          threshold: TRAFFIC_DROP_RATIO,
          unit: "per_minute",
          window: `${m}m`,
          strength: clamp01(1 - t.count / expected),
        });
      }
    }
  }
  return { signals, state: learnt };
}
