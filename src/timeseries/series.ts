/**
 * Re-bucketing source buckets (an endpoint object's windows or D1 summaries) into the points of
 * one metric at a fixed step. Pure.
 *
 * Counts add up. Percentiles: when the source buckets carry their latency sketches (the D1
 * summaries store them), the sketches of a step are merged and the percentile read from the
 * merged sketch, which is exact up to the sketch's 1% relative error whatever the step. The
 * object's windows hand over per-bucket percentiles only; a step spanning several of those
 * takes the largest of them, an upper bound of the step's percentile (it equals it when a step
 * is one bucket, which is what the default step gives).
 */
import { LatencySketch, type SketchData } from "../detect/sketch";
import type { SourcePlan } from "./plan";

export const METRICS = [
  "requests",
  "rpm",
  "error_rate",
  "client_error_rate",
  "silent_failure_rate",
  "p50_ms",
  "p95_ms",
  "p99_ms",
  "max_ms",
] as const;
export type Metric = (typeof METRICS)[number];

/** One source bucket: its counts, and either its sketch or its own percentiles. */
export interface SourceBucket {
  start: number;
  count: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  max_ms: number | null;
  p50_ms?: number | null;
  p95_ms?: number | null;
  p99_ms?: number | null;
  sketch?: SketchData;
}

/** `[t_ms, value]`: the step starting at t, null where the metric has no value (no requests). */
export type Point = [number, number | null];

const QUANTILE = { p50_ms: 0.5, p95_ms: 0.95, p99_ms: 0.99 } as const;

interface Step {
  count: number;
  status_4xx: number;
  status_5xx: number;
  silent_failures: number;
  max: number | null;
  /** Largest per-bucket percentile of each quantile (windows). */
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  /** Bucket pairs and zero counts of the sketches (summaries), merged when read. */
  pairs: [number, number][];
  zero: number;
  accuracy: number | null;
}

const larger = (a: number | null, b: number | null | undefined) =>
  b === null || b === undefined ? a : a === null ? b : Math.max(a, b);

function emptyStep(): Step {
  return {
    count: 0,
    status_4xx: 0,
    status_5xx: 0,
    silent_failures: 0,
    max: null,
    p50_ms: null,
    p95_ms: null,
    p99_ms: null,
    pairs: [],
    zero: 0,
    accuracy: null,
  };
}

function value(s: Step, metric: Metric, stepMs: number): number | null {
  const rate = (n: number) => (s.count > 0 ? n / s.count : null);
  switch (metric) {
    case "requests":
      return s.count;
    case "rpm":
      return s.count / (stepMs / 60_000);
    case "error_rate":
      return rate(s.status_5xx);
    case "client_error_rate":
      return rate(s.status_4xx);
    case "silent_failure_rate":
      return rate(s.silent_failures);
    case "max_ms":
      return s.count > 0 ? s.max : null;
    case "p50_ms":
    case "p95_ms":
    case "p99_ms": {
      if (s.count === 0) return null;
      if (s.accuracy === null) return s[metric];
      const merged = LatencySketch.fromBuckets(s.pairs, {
        zeroCount: s.zero,
        max: s.max ?? undefined,
        relativeAccuracy: s.accuracy,
      });
      return merged.quantile(QUANTILE[metric]);
    }
  }
}

/** The metric's points over the plan's steps, from buckets of the plan's grain (any order). */
export function rebucket(buckets: readonly SourceBucket[], plan: SourcePlan, metric: Metric): Point[] {
  const steps = Array.from({ length: plan.points }, emptyStep);
  for (const b of buckets) {
    const i = Math.floor((b.start - plan.from) / plan.step);
    const s = steps[i];
    if (!s || b.count <= 0) continue;
    s.count += b.count;
    s.status_4xx += b.status_4xx;
    s.status_5xx += b.status_5xx;
    s.silent_failures += b.silent_failures;
    s.max = larger(s.max, b.max_ms);
    s.p50_ms = larger(s.p50_ms, b.p50_ms);
    s.p95_ms = larger(s.p95_ms, b.p95_ms);
    s.p99_ms = larger(s.p99_ms, b.p99_ms);
    if (b.sketch) {
      s.accuracy = b.sketch.a;
      s.zero += b.sketch.z;
      for (const pair of b.sketch.b) s.pairs.push(pair);
    }
  }
  return steps.map((s, i) => [plan.from + i * plan.step, value(s, metric, plan.step)]);
}

/** Whether a metric reads latency percentiles (the summaries' sketches are only read for these). */
export function needsSketch(metric: Metric): boolean {
  return metric in QUANTILE;
}
