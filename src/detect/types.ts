/**
 * The shapes the detection engine works on: totals of a window of event time, the snapshot of
 * windows an evaluation reads, and the signals detectors raise. Pure types, but for the zod
 * schema of the one shape the endpoint object stores as JSON and parses back (a probe streak).
 */
import * as z from "zod";

/** Totals of one bucket or window of event time. 4xx never count as failures. */
export interface Totals {
  count: number;
  status_4xx: number;
  /** 429s (Too Many Requests), also counted in `status_4xx`: a rate limiter turning load away. */
  status_429: number;
  status_5xx: number;
  /** 2xx answers with an empty body (`response_empty`). */
  silent: number;
  inconsistent: number;
  /** Requests slower than the latency SLO's threshold. */
  slow: number;
  bytes: number;
}

export const emptyTotals = (): Totals => ({
  count: 0,
  status_4xx: 0,
  status_429: 0,
  status_5xx: 0,
  silent: 0,
  inconsistent: 0,
  slow: 0,
  bytes: 0,
});

/** Latency percentiles of the shortest recent window that holds enough requests. */
export interface LatencySample {
  window_minutes: number;
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Everything an evaluation of one closed minute of event time reads. */
export interface Snapshot {
  /** Start of the evaluated minute (epoch ms, event time). */
  minute_start: number;
  minute: Totals;
  /** Windows that end with the evaluated minute. */
  w5: Totals;
  w15: Totals;
  w30: Totals;
  w60: Totals;
  w360: Totals;
  w3d: Totals;
  latency: LatencySample | null;
  /** The synthetic probes' current run of failures, when at least one failed by the end of the minute. */
  probe?: ProbeStreak | null;
  /** Named consumers breaking their own objectives over the window ending with the minute (src/breakdown/objectives.ts). */
  consumers?: ConsumerBreach[];
}

/** The objectives a named consumer can have. */
export type ConsumerObjectiveMetric = "error_rate" | "silent_failure_rate" | "latency_p95_ms";

/** A named consumer past one of its objectives over a window. */
export interface ConsumerBreach {
  consumer: string;
  objective: ConsumerObjectiveMetric;
  /** The consumer's rate (0..1) or p95 (ms) over the window, and the objective. */
  observed: number;
  target: number;
  requests: number;
  window_minutes: number;
}

/** Consecutive failures of an endpoint's synthetic probes (records with `source: "probe"`); stored as `probe_streak`. */
export const ProbeStreakSchema = z.object({
  failures: z.number().int().nonnegative(),
  /** Event time of the first failure of the run, and the last probe's time and status. */
  since: z.number(),
  /** When the run reached the failures that make a signal (null: not yet). */
  reached_at: z.number().nullable(),
  last_at: z.number(),
  last_status: z.number().int(),
});
export type ProbeStreak = z.infer<typeof ProbeStreakSchema>;

/** The metrics the daily and weekly profiles learn (src/detect/season.ts, src/detect/season-week.ts). */
export type SeasonMetric = "traffic" | "latency" | "errors";

export type SignalFamily =
  "latency" | "availability" | "silent" | "consistency" | "traffic" | "probe" | "client" | "consumer";

export type SignalKind =
  | "latency_p95_threshold"
  | "latency_p95_baseline"
  | "latency_p50_baseline"
  | "latency_burn_page"
  | "latency_burn_ticket"
  | "error_rate_threshold"
  | "error_rate_baseline"
  | "availability_burn_page"
  | "availability_burn_ticket"
  | "silent_failures"
  | "inconsistencies"
  | "traffic_drop"
  | "traffic_surge"
  | "traffic_stop"
  | "probe_failed"
  | "client_errors"
  | "consumer_objective";

/**
 * `info` signals are shown but never make an endpoint unhealthy (4xx spikes); `ticket` (a slow
 * error-budget burn, 1x over 3 days) is shown on the endpoint and added to an open incident's
 * evidence, but never opens an incident or changes health by itself: it is a ticket, not a page.
 */
export type SignalLevel = "info" | "ticket" | "warning" | "page";

export interface Signal {
  kind: SignalKind;
  family: SignalFamily;
  level: SignalLevel;
  /** What was observed, in `unit`. */
  observed: number;
  /** What it usually is (the baseline), when the detector has one. */
  baseline: number | null;
  /** The static threshold or burn-rate factor it crossed, when it has one. */
  threshold: number | null;
  unit: "ms" | "ratio" | "per_minute" | "burn_rate" | "count";
  /** The window(s) of event time judged, e.g. "5m" or "1h+5m". */
  window: string;
  /** How far past the line, 0..1 (for the severity score). */
  strength: number;
  /** `consumer_objective` only: the named consumer, which of its objectives, and its requests in the window. */
  consumer?: string;
  objective?: ConsumerObjectiveMetric;
  requests?: number;
  /** `traffic_surge` only: the 429 share of the 5-minute window that rose with the surge, and its usual share. */
  rate_limited?: RateLimited;
}

/** A share of 429s against its usual share (0..1). */
export interface RateLimited {
  share: number;
  usual: number;
}

export type Health = "NORMAL" | "WARNING" | "CRITICAL";
export type Action = "CONTINUE" | "RETRY" | "REPROCESS" | "ESCALATE" | "HALT";

/** Key figures of an endpoint at an evaluation (rates are 0..1, latency in ms, null when unknown). */
export interface Figures {
  requests_per_minute: number;
  error_rate: number | null;
  client_error_rate: number | null;
  silent_failure_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  availability_burn_1h: number | null;
  latency_burn_1h: number | null;
}
