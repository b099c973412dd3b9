/**
 * Where a `GET /v1/timeseries` series comes from and at what step, decided before any I/O. Pure.
 *
 * An endpoint object keeps minute buckets for the last 6 hours and hour buckets for the last 3
 * days of its event time (behind its watermark); D1 keeps hourly and daily summaries for as long
 * as retention allows. The worker lists the window plans it would accept, finest data first when
 * the step is left to it (coarsest first when the step is given, so that a bucket of the source is
 * one step whenever possible); the object takes the first one its windows cover, and otherwise
 * the summaries answer. Output buckets are aligned on multiples of the step since the epoch.
 */
import { HOUR_HORIZON_MS, MINUTE_HORIZON_MS } from "../monitor/minute-counts";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../lib/time";

/** At most this many points per series. */
export const MAX_POINTS = 1000;
/** At most this many source buckets read for one series (summary rows carry a sketch each). */
export const MAX_SOURCE_BUCKETS = 5000;
/** The default range when `from` is absent: the hour before `to`. */
export const DEFAULT_RANGE_MS = HOUR_MS;

/** Steps chosen when none is given: the first one that fits the source and MAX_POINTS. */
const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080].map((m) => m * MINUTE_MS);

/** One way to read a series: buckets of `grain` over [from, to), re-bucketed to `step`. */
export interface SourcePlan {
  grain: number;
  step: number;
  /** Aligned start (a multiple of `step`) and exclusive end: `points` steps from `from`. */
  from: number;
  to: number;
  points: number;
}

/** The candidate plans: window plans in preference order, and the summaries' plan or why there is none. */
export interface SeriesPlan {
  windows: SourcePlan[];
  summaries: SourcePlan | { error: string; message: string };
}

function planAt(grain: number, step: number, from: number, to: number): SourcePlan {
  const start = Math.floor(from / step) * step;
  const points = Math.max(1, Math.ceil((to - start) / step));
  return { grain, step, from: start, to: start + points * step, points };
}

/** The summaries' granularity for a step: days when the step is whole days, else hours. */
export function summaryGrain(step: number): number {
  return step % DAY_MS === 0 ? DAY_MS : HOUR_MS;
}

/** The smallest nice step for `grain` giving at most MAX_POINTS points and MAX_SOURCE_BUCKETS source buckets. */
export function defaultStep(
  from: number,
  to: number,
  grain: number,
  sourceGrain: (step: number) => number = () => grain,
): number {
  const fits = (step: number) =>
    step % grain === 0 &&
    planAt(grain, step, from, to).points <= MAX_POINTS &&
    (to - from) / sourceGrain(step) <= MAX_SOURCE_BUCKETS;
  const nice = NICE_STEPS.find(fits);
  if (nice !== undefined) return nice;
  // Longer than about 19 years: whole days.
  return Math.ceil((to - from) / DAY_MS / (MAX_POINTS - 1)) * DAY_MS;
}

/** Whether the object's `grain` buckets hold everything from `from` on, given its watermark. */
export function windowsCover(grain: number, from: number, watermark: number | null): boolean {
  if (watermark === null) return false;
  const horizon = grain === MINUTE_MS ? MINUTE_HORIZON_MS : grain === HOUR_MS ? HOUR_HORIZON_MS : -1;
  if (horizon < 0) return false;
  // The bucket holding watermark − horizon may miss records that were already behind it.
  return from >= Math.ceil((watermark - horizon) / grain) * grain;
}

/**
 * The candidate plans for [from, to) with the given step (ms, a multiple of a minute) or the
 * default one. Throws nothing: a step giving more than MAX_POINTS points is the caller's 400.
 */
export function planSeries(from: number, to: number, step: number | null): SeriesPlan {
  if (step !== null) {
    const windows = [HOUR_MS, MINUTE_MS].filter((g) => step % g === 0).map((g) => planAt(g, step, from, to));
    const grain = summaryGrain(step);
    const summaries =
      step % HOUR_MS !== 0
        ? {
            error: "step_too_fine",
            message: `step must be a multiple of 1 h for this range: minute buckets cover only the last 6 h of the endpoint's event time (hour buckets from D1 summaries answer older ranges)`,
          }
        : (to - from) / grain > MAX_SOURCE_BUCKETS
          ? {
              error: "range_too_long",
              message: `the range needs more than ${MAX_SOURCE_BUCKETS} summary rows at this step: use a step of whole days`,
            }
          : planAt(grain, step, from, to);
    return { windows, summaries };
  }
  const windows = [MINUTE_MS, HOUR_MS].map((g) => planAt(g, defaultStep(from, to, g), from, to));
  const summaryStep = defaultStep(from, to, HOUR_MS, summaryGrain);
  return { windows, summaries: planAt(summaryGrain(summaryStep), summaryStep, from, to) };
}

/** The number of points a step gives over [from, to) (for the MAX_POINTS check). */
export function pointCount(from: number, to: number, step: number): number {
  return planAt(step, step, from, to).points;
}
