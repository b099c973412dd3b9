/**
 * Objectives of named consumers ("acme: at most 1% 5xx, p95 under 800 ms"), judged on the
 * consumer's own figures in the endpoint's per-minute breakdown (src/breakdown/top-k.ts) over the
 * last CONSUMER_WINDOW_MINUTES: no state and no storage of their own, so a re-evaluation judges
 * them as the live traffic did. Only minutes where the consumer was among the named groups count
 * (a consumer that fell into "other" cannot be judged there), and a window needs a minimum volume
 * of the consumer's own requests and failures, so a consumer with 3 requests never pages. A
 * breach becomes a `consumer_objective` warning signal of its own family. Pure.
 */
import type { ConsumerObjective } from "../detect/config";
import type { ConsumerBreach, Signal } from "../detect/types";
import { emptyBreakdown, groupView, mergeBreakdowns, type Breakdown } from "./top-k";

/** Minutes of the window a consumer is judged on. */
export const CONSUMER_WINDOW_MINUTES = 15;
/** Requests a consumer's window needs before its p95 is judged (unless its objective sets `min_requests`). */
export const CONSUMER_MIN_LATENCY_REQUESTS = 50;

/** Volume guards of the endpoint (its `min_requests` and `min_events`). */
export interface VolumeGuard {
  min_requests: number;
  min_events: number;
}

/** The named consumers' groups of several minute buckets, summed per name (every other group left out). */
export function namedConsumers(buckets: readonly Breakdown[], names: ReadonlySet<string>): Breakdown {
  const only = buckets.map((b) => ({
    ...emptyBreakdown(),
    consumer: { top: b.consumer.top.filter((g) => names.has(g.k)), other: emptyBreakdown().consumer.other },
  }));
  return mergeBreakdowns(only, Math.max(1, names.size));
}

/** Every objective a named consumer breaks in `window` (the sum of its minutes), judged only with enough volume. */
export function consumerBreaches(
  window: Breakdown,
  objectives: Readonly<Record<string, ConsumerObjective>>,
  guard: VolumeGuard,
  windowMinutes = CONSUMER_WINDOW_MINUTES,
): ConsumerBreach[] {
  const out: ConsumerBreach[] = [];
  for (const [consumer, objective] of Object.entries(objectives)) {
    const group = window.consumer.top.find((g) => g.k === consumer);
    if (!group) continue;
    const view = groupView(consumer, group);
    const requests = view.requests;
    const breach = (o: ConsumerBreach["objective"], observed: number, target: number): void => {
      out.push({ consumer, objective: o, observed, target, requests, window_minutes: windowMinutes });
    };
    const minRequests = objective.min_requests ?? guard.min_requests;
    if (requests >= minRequests) {
      if (
        objective.error_rate !== undefined &&
        view.status_5xx >= guard.min_events &&
        view.status_5xx / requests > objective.error_rate
      )
        breach("error_rate", view.status_5xx / requests, objective.error_rate);
      if (
        objective.silent_failure_rate !== undefined &&
        view.silent_failures >= guard.min_events &&
        view.silent_failures / requests > objective.silent_failure_rate
      ) {
        breach("silent_failure_rate", view.silent_failures / requests, objective.silent_failure_rate);
      }
    }
    const p95 = view.p95_ms;
    if (
      objective.latency_p95_ms !== undefined &&
      p95 !== null &&
      requests >= (objective.min_requests ?? CONSUMER_MIN_LATENCY_REQUESTS) &&
      p95 > objective.latency_p95_ms
    ) {
      breach("latency_p95_ms", p95, objective.latency_p95_ms);
    }
  }
  return out;
}

/**
 * The signals of the breaches: `warning`, family `consumer` (so one consumer past its objective
 * is a WARNING of the endpoint, never a CRITICAL by itself), strength by how far past it is.
 */
export function consumerSignals(breaches: readonly ConsumerBreach[]): Signal[] {
  return breaches.map((b) => ({
    kind: "consumer_objective",
    family: "consumer",
    level: "warning",
    observed: b.observed,
    baseline: null,
    threshold: b.target,
    unit: b.objective === "latency_p95_ms" ? "ms" : "ratio",
    window: `${b.window_minutes}m`,
    strength: Math.min(1, Math.max(0, (b.observed / b.target - 1) / 4)),
    consumer: b.consumer,
    objective: b.objective,
    requests: b.requests,
  }));
}
