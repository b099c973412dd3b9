/**
 * The day-of-week part of the seasonal profile (src/detect/season.ts), once a week of history
 * exists: per metric, the mean level (log scale) of each day of the week over the last
 * WEEK_KEEP weeks, and from it each weekday's offset from the week's mean (a Saturday at half a
 * weekday's traffic is expected, not a drop). The hour-of-day slots then learn each hour minus
 * its weekday's offset, so that their day-to-day spread is no longer widened by the weekend and
 * an odd hour on any day stands out. A day is learnt when it is over, from the hours the profile
 * learnt on it (at least WEEK_MIN_HOURS). Offsets are halved while a weekday has one week and
 * shrunk by the standard error of the median after that, as the hourly ones are. Pure.
 */
import type { SeasonMetric } from "./types";

/** Weeks each weekday keeps. */
export const WEEK_KEEP = 4;
/** Hours learnt on a day before its level counts for its weekday. */
export const WEEK_MIN_HOURS = 18;
const DAY_HOURS = 24;

/** Per metric, per weekday (epoch day mod 7), the daily levels of the last weeks (newest last). */
export type WeekLevels = Record<SeasonMetric, number[][]>;

/** Sums of the hourly levels of the day being learnt. */
export interface DaySums {
  /** Epoch day (hours / 24, floored). */
  day: number;
  sum: Record<SeasonMetric, number>;
  n: Record<SeasonMetric, number>;
}

export interface WeekState {
  levels: WeekLevels;
  today: DaySums | null;
}

const METRICS: readonly SeasonMetric[] = ["traffic", "latency", "errors"];
const emptyLevels = (): WeekLevels => ({
  traffic: Array.from({ length: 7 }, () => []),
  latency: Array.from({ length: 7 }, () => []),
  errors: Array.from({ length: 7 }, () => []),
});
const emptySums = (day: number): DaySums => ({
  day,
  sum: { traffic: 0, latency: 0, errors: 0 },
  n: { traffic: 0, latency: 0, errors: 0 },
});

/** The weekday slot of an epoch hour. */
export const weekdayOf = (hour: number): number => ((Math.floor(hour / DAY_HOURS) % 7) + 7) % 7;

/** Adds one learnt hour (raw levels, null: none) to the week state; a new day folds the previous one in. */
export function weekLearn(
  state: WeekState | undefined,
  hour: number,
  values: Record<SeasonMetric, number | null>,
): WeekState {
  const day = Math.floor(hour / DAY_HOURS);
  let levels = state?.levels ?? emptyLevels();
  let today = state?.today ?? null;
  if (today && today.day !== day) {
    const done = today;
    const slot = ((done.day % 7) + 7) % 7;
    const next = { ...levels };
    for (const m of METRICS) {
      if (done.n[m] >= WEEK_MIN_HOURS)
        next[m] = levels[m].map((weeks, i) =>
          i === slot ? [...weeks, done.sum[m] / done.n[m]].slice(-WEEK_KEEP) : weeks,
        );
    }
    levels = next;
    today = null;
  }
  const sums = today ?? emptySums(day);
  const added: DaySums = { day, sum: { ...sums.sum }, n: { ...sums.n } };
  for (const m of METRICS) {
    const v = values[m];
    if (v === null) continue;
    added.sum[m] += v;
    added.n[m] += 1;
  }
  return { levels, today: added };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Each weekday's offset from the week's mean level (log scale), or null until every weekday has a level. */
export function weekOffsets(state: WeekState | undefined, metric: SeasonMetric): number[] | null {
  const days = state?.levels[metric];
  if (!days || days.length !== 7 || days.some((w) => w.length === 0)) return null;
  const levels = days.map((w) => median(w));
  const mean = levels.reduce((a, b) => a + b, 0) / 7;
  return days.map((weeks, i) => {
    const offset = (levels[i] ?? mean) - mean;
    if (weeks.length === 1) return offset / 2;
    const mad = 1.4826 * median(weeks.map((v) => Math.abs(v - (levels[i] ?? mean))));
    const se = (1.25 * mad) / Math.sqrt(weeks.length);
    return offset === 0 ? 0 : (offset * offset * offset) / (offset * offset + se * se);
  });
}
