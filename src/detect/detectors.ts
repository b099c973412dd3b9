/**
 * The detectors: pure functions from a snapshot of event-time windows and the learnt baselines
 * to the signals of one evaluated minute, and the baselines updated by it. Every rate needs a
 * minimum volume (requests and bad events) before it is judged, 4xx never count as the endpoint
 * failing (a 4xx spike is an `info` signal of its own), and burn rates follow the multiwindow
 * rules of the Google SRE workbook.
 */
import type { DetectionConfig } from "./config";
import { emptyMetricState, metricStep, type MetricParams, type MetricState } from "./metric";
import {
  CLIENT_RATE_PARAMS,
  ERROR_RATE_PARAMS,
  emptyRateState,
  poissonCdf,
  rateStep,
  usualRate,
  type RateParams,
  type RateState,
} from "./rates";
import { emptySurge, surgeSignal, surgeStep, troubleWithSurge, type SurgeState } from "./surge";
import {
  emptyObjective,
  learnObjective,
  learntErrorBudget,
  learntErrorThreshold,
  objectivePending,
  windowCountedAtObjective,
  withObjective,
  type ObjectiveState,
} from "./objective";
import {
  deseason,
  judgedOffset,
  offsetAt,
  reseason,
  seasonLearn,
  slotOffsets,
  type SeasonAccumulator,
  type SeasonProfile,
} from "./season";
import {
  DIP_RATIO,
  dipStep,
  emptyDip,
  emptySilence,
  silenceStep,
  unusualSilence,
  type DipState,
  type SilenceState,
} from "./silence";
import type { Figures, Signal, Snapshot, Totals } from "./types";

export interface DetectorState {
  /** Minutes evaluated. */
  minutes: number;
  latency_p95: MetricState;
  latency_p50: MetricState;
  /** Requests per minute (log). */
  traffic: MetricState;
  errors: RateState;
  silent: RateState;
  inconsistent: RateState;
  client: RateState;
  /** Recent latency levels (ms), for the drift gate; absent in state stored before it existed. */
  recent?: Partial<Record<"latency_p95" | "latency_p50", number>>;
  /** The learnt default objectives (absent in state stored before they existed: learnt afresh). */
  objective?: ObjectiveState;
  /** The current run of surge minutes (absent in older stored state). */
  surge?: SurgeState;
  /** The usual share of 429s, judged only with a surge (absent in older stored state: learnt afresh). */
  rate_limited?: RateState;
  /** The current and the longest recent silence (absent in older stored state). */
  silence?: SilenceState;
  /** The deepest recent traffic dip (absent in older stored state). */
  dip?: DipState;
  /** The minutes of the current hour, for the daily profile (absent in older stored state). */
  season?: SeasonAccumulator;
}

export const emptyDetectorState = (): DetectorState => ({
  minutes: 0,
  latency_p95: emptyMetricState(),
  latency_p50: emptyMetricState(),
  traffic: emptyMetricState(),
  errors: emptyRateState(),
  silent: emptyRateState(),
  inconsistent: emptyRateState(),
  client: emptyRateState(),
});

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

/** The 429 share is only learnt (it never fires alone: 429s are a 4xx, the client's `info`); a surge is judged with it. */
const RATE_LIMITED_PARAMS: RateParams = {
  ...CLIENT_RATE_PARAMS,
  floor: 0.001,
  h: Number.POSITIVE_INFINITY,
  step_ratio: 0,
  step_p_value: 0,
};

/** How much of an hour's day-to-day spread widens the usual 5xx rate (the Poisson test already allows for chance). */
export const ERROR_SPREAD = 0.75;

/** Consecutive probe failures that make a signal. */
export const PROBE_FAILURES = 2;

/** Burn-rate rules (SRE workbook): [long window, short window, factor, level]. */
const BURN_RULES = [
  { long: "w60", short: "w5", factor: 14.4, level: "page", window: "1h+5m", minutes: 60 },
  { long: "w360", short: "w30", factor: 6, level: "page", window: "6h+30m", minutes: 360 },
  { long: "w3d", short: "w360", factor: 1, level: "ticket", window: "3d+6h", minutes: 3 * 1440 },
] as const;

const clamp01 = (x: number): number => Math.max(0, Math.min(1, x));
const rateOf = (bad: number, t: Totals): number => (t.count > 0 ? bad / t.count : 0);

/** The shortest of 5, 15 and 60 minutes holding `min` requests (the 60-minute window otherwise). */
function guardWindow(s: Snapshot, min: number): { t: Totals; name: string } {
  if (s.w5.count >= min) return { t: s.w5, name: "5m" };
  if (s.w15.count >= min) return { t: s.w15, name: "15m" };
  return { t: s.w60, name: "1h" };
}

export interface Detection {
  signals: Signal[];
  state: DetectorState;
  figures: Figures;
  /** The daily profile after this minute (the same object unless an hour closed). */
  profile: SeasonProfile | null;
}

/**
 * Runs every detector on one closed minute. Objectives `cfg` marks as learnt are judged at the
 * learnt level, and not at all while it is being learnt. Traffic and latency are judged against
 * their recent level moved by the daily `profile`'s offset for the minute (src/detect/season.ts).
 */
export function detect(
  s: Snapshot,
  state: DetectorState,
  given: DetectionConfig,
  profile: SeasonProfile | null = null,
): Detection {
  const signals: Signal[] = [];
  const pending = objectivePending(state.objective, given);
  const cfg = withObjective(given, state.objective);
  const guard = { min_requests: cfg.min_requests, min_events: cfg.min_events };
  const g = guardWindow(s, cfg.min_requests);
  const next: DetectorState = {
    ...state,
    minutes: state.minutes + 1,
    objective: learnObjective(state.objective ?? emptyObjective(), s.latency, given, s.minute_start),
  };
  const trafficOffsets = slotOffsets(profile, "traffic");
  const latencyOffset = judgedOffset(slotOffsets(profile, "latency"), s.minute_start, "up");
  const errorOffsets = slotOffsets(profile, "errors");
  const errorSeason = errorOffsets
    ? {
        judge: Math.exp(judgedOffset(errorOffsets, s.minute_start, "up", ERROR_SPREAD)),
        learn: Math.exp(offsetAt(errorOffsets, s.minute_start)),
      }
    : null;

  // Latency: static p95 threshold, then p95/p50 against their baselines.
  if (s.latency) {
    const lat = s.latency;
    const win = `${lat.window_minutes}m`;
    if (lat.p95 > cfg.thresholds.p95_ms && !pending.p95_threshold) {
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
    const judged = lat.window_minutes <= 5 || Math.round(s.minute_start / 60_000) % lat.window_minutes === 0;
    for (const [key, kind, value] of judged
      ? ([
          ["latency_p95", "latency_p95_baseline", lat.p95],
          ["latency_p50", "latency_p50_baseline", lat.p50],
        ] as const)
      : []) {
      const learnt = metricStep(state[key], deseason(value, latencyOffset), LATENCY_PARAMS);
      next[key] = learnt.state;
      const step = { ...learnt, baseline: reseason(Math.log1p(learnt.baseline), latencyOffset) };
      // A drift is gated on the recent level (a short EWMA), not on one noisy window, so that a
      // creeping endpoint does not flicker in and out of the gate.
      const previous = state.recent?.[key];
      const recent =
        previous === undefined
          ? value
          : Math.expm1(RECENT_ALPHA * Math.log1p(value) + (1 - RECENT_ALPHA) * Math.log1p(previous));
      next.recent = { ...next.recent, [key]: recent };
      const level = step.reason === "drift" ? Math.max(value, recent) : value;
      const minRatio = step.reason === "drift" ? LATENCY_DRIFT_MIN_RATIO : LATENCY_MIN_RATIO;
      if (step.fired && level >= step.baseline * minRatio && level - step.baseline >= LATENCY_MIN_DELTA_MS) {
        signals.push({
          kind,
          family: "latency",
          level: "warning",
          observed: value,
          baseline: step.baseline,
          threshold: null,
          unit: "ms",
          window: win,
          strength: clamp01((value / step.baseline - 1) / 2),
        });
      }
    }
  }

  // 5xx: static threshold on the guard window, and the rate against its baseline.
  const errorRate = rateOf(g.t.status_5xx, g.t);
  const errorThreshold = learntErrorThreshold(cfg, state.errors, errorSeason);
  if (g.t.count >= cfg.min_requests && g.t.status_5xx >= cfg.min_events && errorRate >= errorThreshold) {
    signals.push({
      kind: "error_rate_threshold",
      family: "availability",
      level: "warning",
      observed: errorRate,
      baseline: null,
      threshold: errorThreshold,
      unit: "ratio",
      window: g.name,
      strength: clamp01(errorRate / errorThreshold - 1),
    });
  }
  const rateSignals = [
    ["errors", "status_5xx", "error_rate_baseline", "availability", "warning", cfg.thresholds.error_rate],
    ["silent", "silent", "silent_failures", "silent", "warning", cfg.thresholds.silent_failure_rate],
    ["inconsistent", "inconsistent", "inconsistencies", "consistency", "warning", cfg.thresholds.inconsistency_rate],
    ["client", "status_4xx", "client_errors", "client", "info", null],
  ] as const;
  for (const [key, field, kind, family, level, threshold] of rateSignals) {
    const params = key === "client" ? CLIENT_RATE_PARAMS : ERROR_RATE_PARAMS;
    const windows = [
      { bad: s.w5[field], count: s.w5.count, name: "5m" },
      { bad: s.w15[field], count: s.w15.count, name: "15m" },
      { bad: s.w60[field], count: s.w60.count, name: "1h" },
    ];
    const step = rateStep(
      state[key],
      { bad: s.minute[field], count: s.minute.count },
      windows,
      guard,
      params,
      key === "errors" ? errorSeason : null,
    );
    next[key] = step.state;
    // Silent failures and inconsistencies also fire on their static threshold (volume-guarded).
    const overThreshold =
      threshold !== null &&
      key !== "errors" &&
      g.t.count >= cfg.min_requests &&
      g.t[field] >= cfg.min_events &&
      rateOf(g.t[field], g.t) >= threshold;
    if (step.fired || overThreshold) {
      const observed = step.fired ? step.rate : rateOf(g.t[field], g.t);
      signals.push({
        kind,
        family,
        level,
        observed,
        baseline: step.usual,
        threshold: overThreshold ? threshold : null,
        unit: "ratio",
        window: (step.fired ? step.window : null) ?? g.name,
        strength: clamp01(observed / Math.max(step.usual, 1e-6) / 20),
      });
    }
  }

  // SLO burn rates, availability (5xx) and latency (slower than the SLO's threshold).
  const budgets = [
    ["availability", learntErrorBudget(cfg, state.errors), "status_5xx"],
    ["latency", 1 - cfg.slo.latency_target, "slow"],
  ] as const;
  const burn1h: Record<string, number> = {};
  for (const [family, budget, field] of budgets) {
    const burn = (t: Totals): number => rateOf(t[field], t) / budget;
    burn1h[family] = burn(s.w60);
    if (family === "latency" && pending.latency_slo) continue;
    for (const rule of BURN_RULES) {
      // Right after a latency objective is learnt, a window reaching back into the learning counted slow requests against the default.
      if (family === "latency" && !windowCountedAtObjective(state.objective, given, s.minute_start, rule.minutes))
        continue;
      const long = s[rule.long];
      const short = s[rule.short];
      // Volume guards: a page needs min_events in the long window and 2 in the short one (one
      // failure in a quiet 5 minutes is not a burn); a ticket twice that, and 6 h of history.
      const page = rule.level === "page";
      const minEvents = page ? cfg.min_events : 2 * cfg.min_events;
      if (long.count < cfg.min_requests || long[field] < minEvents || short[field] < (page ? 2 : 1)) continue;
      if (!page && state.minutes < 360) continue;
      // The ticket rule also wants the last hour to burn, so that it ends within the hour after the problem (not 6 h).
      const current = rule.level === "page" || burn(s.w60) >= rule.factor;
      if (burn(long) >= rule.factor && burn(short) >= rule.factor && current) {
        const kind =
          `${family === "availability" ? "availability" : "latency"}_burn_${page ? "page" : "ticket"}` as const;
        if (signals.some((x) => x.kind === kind)) continue;
        signals.push({
          kind,
          family,
          level: rule.level,
          observed: burn(long),
          baseline: null,
          threshold: rule.factor,
          unit: "burn_rate",
          window: rule.window,
          strength: clamp01(burn(long) / rule.factor / 4),
        });
      }
    }
  }

  // Traffic: learnt per minute; a drop or a stop is judged on the shortest window expecting enough requests.
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
  next.surge = surge.state;
  // A surge is not learnt as the usual traffic (its end would look like a drop) unless it lasts.
  next.traffic = surge.hold ? state.traffic : trafficStep.state;
  // Nor are its 429s learnt as usual.
  const rateLimited = state.rate_limited ?? emptyRateState();
  if (!surge.hold)
    next.rate_limited = rateStep(
      rateLimited,
      { bad: s.minute.status_429, count: s.minute.count },
      [],
      guard,
      RATE_LIMITED_PARAMS,
    ).state;
  if (surge.surge) {
    const p95Learnt = state.latency_p95.ewma.n >= LATENCY_PARAMS.warmup;
    const trouble = troubleWithSurge({
      signals,
      p95: s.latency?.p95 ?? null,
      p95_baseline: p95Learnt ? reseason(state.latency_p95.ewma.mean, latencyOffset) : null,
      w5: s.w5,
      usual_error_rate: usualRate(state.errors, ERROR_RATE_PARAMS),
      usual_429_rate: usualRate(rateLimited, RATE_LIMITED_PARAMS),
      min_events: cfg.min_events,
    });
    signals.push(surgeSignal(surge.surge, trouble));
  }
  next.silence = silenceStep(state.silence ?? emptySilence(), s.minute.count);
  if (warm) {
    const perMinute = expectedAt(s.minute_start);
    const windows = [
      [5, s.w5],
      [15, s.w15],
      [30, s.w30],
      [60, s.w60],
    ] as const;
    const stop = windows.find(([m]) => expectedOver(m) >= STOP_MIN_EXPECTED);
    const drop = windows.find(([m]) => expectedOver(m) >= DROP_MIN_EXPECTED);
    if (stop && stop[1].count === 0 && unusualSilence(next.silence)) {
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
      const silentAsUsual = t.count === 0 && !unusualSilence(next.silence);
      const dip = dipStep(
        state.dip ?? emptyDip(),
        t.count / expected,
        !silentAsUsual && t.count <= TRAFFIC_DROP_RATIO * expected && poissonCdf(t.count, expected) < TRAFFIC_P_VALUE,
      );
      next.dip = dip.state;
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

  // Synthetic probes: two failures in a row (a probe failing alone is a blip). With traffic
  // failing or gone too, the two families agree: the origin is down, not merely unused.
  // (A run whose last probe is over an hour old is stale: probes were removed or paused.)
  const probe = s.probe;
  if (
    probe &&
    probe.reached_at !== null &&
    probe.reached_at < s.minute_start + 60_000 &&
    probe.last_at >= s.minute_start - 60 * 60_000
  ) {
    signals.push({
      kind: "probe_failed",
      family: "probe",
      level: "warning",
      observed: probe.failures,
      baseline: null,
      threshold: PROBE_FAILURES,
      unit: "count",
      window: "probes",
      strength: clamp01(probe.failures / 10),
    });
  }

  // The daily profile learns every minute (signals included: a daily ramp raises drops and
  // surges until it is learnt); an odd day is outvoted by the median across days.
  const season = seasonLearn(state.season, profile, {
    minute_start: s.minute_start,
    requests: s.minute.count,
    p95: s.latency?.p95 ?? null,
    status_5xx: s.minute.status_5xx,
  });
  next.season = season.acc;

  const figures: Figures = {
    requests_per_minute: s.w5.count / 5,
    error_rate: s.w5.count > 0 ? s.w5.status_5xx / s.w5.count : null,
    client_error_rate: s.w5.count > 0 ? s.w5.status_4xx / s.w5.count : null,
    silent_failure_rate: s.w5.count > 0 ? s.w5.silent / s.w5.count : null,
    p50_ms: s.latency?.p50 ?? null,
    p95_ms: s.latency?.p95 ?? null,
    p99_ms: s.latency?.p99 ?? null,
    availability_burn_1h: s.w60.count > 0 ? (burn1h.availability ?? null) : null,
    latency_burn_1h: s.w60.count > 0 ? (burn1h.latency ?? null) : null,
  };
  return { signals, state: next, figures, profile: season.profile };
}
