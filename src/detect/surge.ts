/**
 * Traffic surges: requests well above the endpoint's learnt level (SURGE_RATIO for SURGE_MINUTES
 * minutes in a row, with enough volume and far beyond chance). A surge alone is shown (an `info`
 * signal on the endpoint), never paged: a busy hour, a campaign or a batch is not an incident.
 * With trouble at the same time (latency above its baseline, a 5xx rate or a share of 429s from
 * a rate limiter above its usual one) it becomes a `warning` that names the surge (and the 429s),
 * so the incident it opens says where the load came from. Other 4xx do not count: a client's own
 * bad requests (a scanner's 404s) are no trouble of the endpoint. While a surge lasts the traffic
 * baseline (and the usual 429 share) does not learn it (so that its end is not mistaken for a
 * drop), unless it lasts SURGE_LEARN_AFTER_MINUTES: then it is the new level. Pure.
 */
import { poissonUpperTail } from "./rates";
import type { RateLimited, Signal, Totals } from "./types";

export const SURGE_RATIO = 3;
export const SURGE_MINUTES = 5;
/** Requests the 5-minute window needs before a surge is judged. */
export const SURGE_MIN_REQUESTS = 50;
export const SURGE_P_VALUE = 1e-6;
export const SURGE_LEARN_AFTER_MINUTES = 60;
/** Latency counts as rising with the surge at this ratio of its baseline (below the latency detector's own 1.3x). */
export const SURGE_LATENCY_RATIO = 1.2;

export interface SurgeState {
  /** Consecutive minutes at SURGE_RATIO or more of the learnt level, and the first of them. */
  run: number;
  since: number | null;
}

export const emptySurge = (): SurgeState => ({ run: 0, since: null });

export interface SurgeInput {
  minute_start: number;
  minute: Totals;
  w5: Totals;
  /** The learnt requests per minute (null while the traffic baseline warms up). */
  expected: number | null;
}

export interface SurgeStep {
  state: SurgeState;
  /** The surge, as requests per minute over 5 minutes against the learnt level (null: none). */
  surge: { observed: number; expected: number; since: number } | null;
  /** Whether the traffic baseline should skip this minute. */
  hold: boolean;
}

/** Judges one minute's traffic against the learnt level. */
export function surgeStep(state: SurgeState, input: SurgeInput): SurgeStep {
  const expected = input.expected;
  if (expected === null || expected <= 0) return { state: emptySurge(), surge: null, hold: false };
  const high = input.minute.count >= SURGE_RATIO * expected;
  const next: SurgeState = high ? { run: state.run + 1, since: state.since ?? input.minute_start } : emptySurge();
  const w5 = input.w5.count;
  const surging =
    high &&
    next.run >= SURGE_MINUTES &&
    w5 >= SURGE_MIN_REQUESTS &&
    w5 >= SURGE_RATIO * 5 * expected &&
    poissonUpperTail(w5, 5 * expected) < SURGE_P_VALUE;
  return {
    state: next,
    surge: surging ? { observed: w5 / 5, expected, since: next.since ?? input.minute_start } : null,
    hold: high && next.run < SURGE_LEARN_AFTER_MINUTES,
  };
}

/** What else a surge is judged with: the signals of the minute and how the other rates moved. */
export interface SurgeContext {
  signals: readonly Signal[];
  /** The current p95 and its learnt baseline (ms; null when unknown). */
  p95: number | null;
  p95_baseline: number | null;
  w5: Totals;
  usual_error_rate: number;
  /** The usual share of 429s (src/detect/traffic-detector.ts learns it). */
  usual_429_rate: number;
  min_events: number;
}

/** What rose with a surge: any trouble, and the 429 share when that rose (null: it did not). */
export interface SurgeTrouble {
  trouble: boolean;
  rate_limited: RateLimited | null;
}

/** Whether latency, 5xx or 429s rose with the surge (a share rises at twice its usual and 1 point more, with min_events of them). */
export function troubleWithSurge(c: SurgeContext): SurgeTrouble {
  const rose = (bad: number, usual: number): boolean =>
    bad >= c.min_events && c.w5.count > 0 && bad / c.w5.count >= Math.max(2 * usual, usual + 0.01);
  const rate_limited = rose(c.w5.status_429, c.usual_429_rate)
    ? { share: c.w5.status_429 / c.w5.count, usual: c.usual_429_rate }
    : null;
  const latency =
    c.p95 !== null && c.p95_baseline !== null && c.p95_baseline > 0 && c.p95 >= SURGE_LATENCY_RATIO * c.p95_baseline;
  const signalled = c.signals.some(
    (s) => (s.family === "latency" || s.family === "availability") && (s.level === "warning" || s.level === "page"),
  );
  return {
    trouble: signalled || latency || rose(c.w5.status_5xx, c.usual_error_rate) || rate_limited !== null,
    rate_limited,
  };
}

/** The surge signal: `warning` with trouble at the same time (naming the 429s when they rose), `info` otherwise. */
export function surgeSignal(surge: NonNullable<SurgeStep["surge"]>, rose: SurgeTrouble): Signal {
  const ratio = surge.observed / surge.expected;
  const trouble = rose.trouble;
  return {
    kind: "traffic_surge",
    family: "traffic",
    level: trouble ? "warning" : "info",
    observed: surge.observed,
    baseline: surge.expected,
    threshold: SURGE_RATIO,
    unit: "per_minute",
    window: "5m",
    strength: Math.max(0, Math.min(1, (ratio - SURGE_RATIO) / (4 * SURGE_RATIO))),
    ...(rose.rate_limited ? { rate_limited: rose.rate_limited } : {}),
  };
}
