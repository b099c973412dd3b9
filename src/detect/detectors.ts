/**
 * The detectors: pure functions from a snapshot of event-time windows and the learnt baselines
 * to the signals of one evaluated minute, and the baselines updated by it. Each family has its
 * module (latency, rates, burn rates, traffic); this one runs them in a fixed order (a surge is
 * judged with the signals raised before it), adds the probes' signal, the daily profile's
 * learning and the minute's key figures. Every rate needs a minimum volume before it is judged,
 * 4xx never count as the endpoint failing, and burn rates follow the multiwindow rules of the
 * Google SRE workbook.
 */
import { burnSignals } from "./burn-detector";
import type { DetectionConfig } from "./config";
import { clamp01, type DetectorState } from "./detector-state";
import { latencySignals } from "./latency-detector";
import { emptyObjective, learnObjective, objectivePending, withObjective } from "./objective";
import { errorSeasonAt, rateSignals } from "./rate-detector";
import { judgedOffset, seasonLearn, slotOffsets, type SeasonProfile } from "./season";
import { trafficSignals } from "./traffic-detector";
import type { Figures, Signal, Snapshot } from "./types";

/** Consecutive probe failures that make a signal. */
export const PROBE_FAILURES = 2;

export interface Detection {
  signals: Signal[];
  state: DetectorState;
  figures: Figures;
  /** The daily profile after this minute (the same object unless an hour closed). */
  profile: SeasonProfile | null;
}

/**
 * Synthetic probes: two failures in a row (a probe failing alone is a blip). With traffic
 * failing or gone too, the two families agree: the origin is down, not merely unused.
 * (A run whose last probe is over an hour old is stale: probes were removed or paused.)
 */
function probeSignal(s: Snapshot): Signal | null {
  const probe = s.probe;
  const reached = probe?.reached_at ?? null;
  if (!probe || reached === null) return null;
  if (!(reached < s.minute_start + 60_000 && probe.last_at >= s.minute_start - 60 * 60_000)) return null;
  return {
    kind: "probe_failed",
    family: "probe",
    level: "warning",
    observed: probe.failures,
    baseline: null,
    threshold: PROBE_FAILURES,
    unit: "count",
    window: "probes",
    strength: clamp01(probe.failures / 10),
  };
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
  const next: DetectorState = {
    ...state,
    minutes: state.minutes + 1,
    objective: learnObjective(state.objective ?? emptyObjective(), s.latency, given, s.minute_start),
  };
  const latencyOffset = judgedOffset(slotOffsets(profile, "latency"), s.minute_start, "up");

  // Latency: static p95 threshold, then p95/p50 against their baselines.
  if (s.latency) {
    const latency = latencySignals({
      latency: s.latency,
      minute_start: s.minute_start,
      state,
      cfg,
      threshold_pending: pending.p95_threshold,
      offset: latencyOffset,
    });
    signals.push(...latency.signals);
    Object.assign(next, latency.state);
  }

  // 5xx, empty 200s, inconsistencies and 4xx: thresholds and learnt rates.
  const rates = rateSignals(s, state, cfg, errorSeasonAt(profile, s.minute_start));
  signals.push(...rates.signals);
  Object.assign(next, rates.state);

  // SLO burn rates, availability (5xx) and latency (slower than the SLO's threshold).
  const burn = burnSignals({ s, state, cfg, given, latency_pending: pending.latency_slo });
  signals.push(...burn.signals);

  // Traffic: surges, drops and stops.
  const traffic = trafficSignals({ s, state, cfg, profile, latency_offset: latencyOffset, earlier: signals });
  signals.push(...traffic.signals);
  Object.assign(next, traffic.state);

  const probe = probeSignal(s);
  if (probe) signals.push(probe);

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
    availability_burn_1h: s.w60.count > 0 ? (burn.burn_1h.availability ?? null) : null,
    latency_burn_1h: s.w60.count > 0 ? (burn.burn_1h.latency ?? null) : null,
  };
  return { signals, state: next, figures, profile: season.profile };
}
