/**
 * SLO burn rates, availability (5xx) and latency (requests slower than the SLO's threshold), by
 * the multiwindow rules of the Google SRE workbook: a page when both a long and a short window
 * burn the error budget fast, a ticket for a slow burn over days. Pure.
 */
import type { DetectionConfig } from "./config";
import { clamp01, rateOf, type DetectorState } from "./detector-state";
import { learntErrorBudget, windowCountedAtObjective } from "./objective";
import type { Signal, SignalFamily, Snapshot, Totals } from "./types";

/** Burn-rate rules (SRE workbook): [long window, short window, factor, level]. */
const BURN_RULES = [
  { long: "w60", short: "w5", factor: 14.4, level: "page", window: "1h+5m", minutes: 60 },
  { long: "w360", short: "w30", factor: 6, level: "page", window: "6h+30m", minutes: 360 },
  { long: "w3d", short: "w360", factor: 1, level: "ticket", window: "3d+6h", minutes: 3 * 1440 },
] as const;

export interface BurnInput {
  s: Snapshot;
  state: DetectorState;
  /** The configuration with the learnt objectives applied, and as given (for the learning's timing). */
  cfg: DetectionConfig;
  given: DetectionConfig;
  /** The latency objective is being learnt: its burn is not judged yet. */
  latency_pending: boolean;
}

/** Judges both budgets' burn rates; `burn_1h` is each budget's burn over the last hour (for the figures). */
export function burnSignals(input: BurnInput): { signals: Signal[]; burn_1h: Partial<Record<SignalFamily, number>> } {
  const { s, state, cfg, given } = input;
  const signals: Signal[] = [];
  const budgets = [
    ["availability", learntErrorBudget(cfg, state.errors), "status_5xx"],
    ["latency", 1 - cfg.slo.latency_target, "slow"],
  ] as const;
  const burn1h: Partial<Record<SignalFamily, number>> = {};
  for (const [family, budget, field] of budgets) {
    const burn = (t: Totals): number => rateOf(t[field], t) / budget;
    burn1h[family] = burn(s.w60);
    if (family === "latency" && input.latency_pending) continue;
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
  return { signals, burn_1h: burn1h };
}
