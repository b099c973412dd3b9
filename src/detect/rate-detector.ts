/**
 * The rate detectors: the 5xx rate against its static (or learnt) threshold, and the shares of
 * 5xx, empty 200s, inconsistent answers and 4xx against their learnt usual rates. Every rate needs
 * a minimum volume (requests and bad events) before it is judged; 4xx never count as the endpoint
 * failing (a 4xx spike is an `info` signal of its own). The usual 5xx rate follows the daily
 * profile, widened by the hour's day-to-day spread. Pure.
 */
import type { DetectionConfig } from "./config";
import { clamp01, rateOf, type DetectorState } from "./detector-state";
import { learntErrorThreshold } from "./objective";
import { CLIENT_RATE_PARAMS, ERROR_RATE_PARAMS, rateStep, type RateSeason } from "./rates";
import { judgedOffset, offsetAt, slotOffsets, type SeasonProfile } from "./season";
import type { Signal, Snapshot, Totals } from "./types";

/** How much of an hour's day-to-day spread widens the usual 5xx rate (the Poisson test already allows for chance). */
export const ERROR_SPREAD = 0.75;

type RateKeys = "errors" | "silent" | "inconsistent" | "client";

/** The daily profile's factor on the usual 5xx rate at `minuteStart`: judged (widened) and learnt; null without a profile. */
export function errorSeasonAt(profile: SeasonProfile | null, minuteStart: number): RateSeason | null {
  const offsets = slotOffsets(profile, "errors");
  return offsets
    ? {
        judge: Math.exp(judgedOffset(offsets, minuteStart, "up", ERROR_SPREAD)),
        learn: Math.exp(offsetAt(offsets, minuteStart)),
      }
    : null;
}

/** The shortest of 5, 15 and 60 minutes holding `min` requests (the 60-minute window otherwise). */
function guardWindow(s: Snapshot, min: number): { t: Totals; name: string } {
  if (s.w5.count >= min) return { t: s.w5, name: "5m" };
  if (s.w15.count >= min) return { t: s.w15, name: "15m" };
  return { t: s.w60, name: "1h" };
}

/** Judges the minute's rates (with `cfg`'s learnt objectives applied); `state` holds the four rates learnt. */
export function rateSignals(
  s: Snapshot,
  state: DetectorState,
  cfg: DetectionConfig,
  errorSeason: RateSeason | null,
): { signals: Signal[]; state: Pick<DetectorState, RateKeys> } {
  const signals: Signal[] = [];
  const learnt: Pick<DetectorState, RateKeys> = {
    errors: state.errors,
    silent: state.silent,
    inconsistent: state.inconsistent,
    client: state.client,
  };
  const guard = { min_requests: cfg.min_requests, min_events: cfg.min_events };
  const g = guardWindow(s, cfg.min_requests);

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
  const rates = [
    ["errors", "status_5xx", "error_rate_baseline", "availability", "warning", cfg.thresholds.error_rate],
    ["silent", "silent", "silent_failures", "silent", "warning", cfg.thresholds.silent_failure_rate],
    ["inconsistent", "inconsistent", "inconsistencies", "consistency", "warning", cfg.thresholds.inconsistency_rate],
    ["client", "status_4xx", "client_errors", "client", "info", null],
  ] as const;
  for (const [key, field, kind, family, level, threshold] of rates) {
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
    learnt[key] = step.state;
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
  return { signals, state: learnt };
}
