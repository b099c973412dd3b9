/**
 * What the detectors learn and carry from one evaluated minute to the next (stored in the endpoint
 * object between minutes), and the small arithmetic every detector shares. Fields added after the
 * first release are optional: state stored before them is read back and learnt afresh. Pure.
 */
import { emptyMetricState, type MetricState } from "./metric";
import type { ObjectiveState } from "./objective";
import { emptyRateState, type RateState } from "./rates";
import type { SeasonAccumulator } from "./season";
import type { DipState, SilenceState } from "./silence";
import type { SurgeState } from "./surge";
import type { Totals } from "./types";

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

/** The state of an endpoint never evaluated. */
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

/** A signal's strength: how far past its line, held to 0..1. */
export const clamp01 = (x: number): number => Math.max(0, Math.min(1, x));

/** The share of a window's requests that `bad` of them are (0 for an empty window). */
export const rateOf = (bad: number, t: Totals): number => (t.count > 0 ? bad / t.count : 0);
