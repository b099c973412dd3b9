/**
 * SLO and error budget over a chart's range, from the same buckets the charts draw: the share of
 * requests that did not fail with a 5xx against the availability objective, and how much of the
 * range's budget (the failures the objective allows) the failures used. Pure.
 */
import type { Slo } from "../../src/api-types";

/** The monitor's default objectives (src/detect/config.ts), used when the settings cannot be read (read key). */
export const DEFAULT_SLO: Slo = { availability: 0.995, latency_target: 0.99, latency_ms: 1000 };

export interface Budget {
  requests: number;
  failures: number;
  /** Share of requests without a 5xx; null with no requests. */
  availability: number | null;
  /** Failures the objective allows over the range. */
  allowed: number;
  /** Share of the budget used (can pass 1); null with no requests. */
  consumed: number | null;
  /** 1 - consumed, at least 0. */
  remaining: number | null;
  met: boolean | null;
}

export function errorBudget(requests: number, failures: number, objective: number): Budget {
  if (requests <= 0)
    return { requests, failures, availability: null, allowed: 0, consumed: null, remaining: null, met: null };
  const availability = 1 - failures / requests;
  const allowed = requests * (1 - objective);
  const consumed = allowed > 0 ? failures / allowed : failures > 0 ? Infinity : 0;
  return {
    requests,
    failures,
    availability,
    allowed,
    consumed,
    remaining: Math.max(0, 1 - consumed),
    met: availability >= objective,
  };
}
