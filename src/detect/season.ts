/**
 * Daily seasonality of traffic and latency: what an endpoint usually does at each hour of the
 * day (UTC), so that a nightly trough is expected rather than a drop and a daily peak rather than
 * a surge. The EWMA baselines of the detectors then learn the deseasonalised series (the metric
 * minus the hour's offset, on the log scale the detectors work on) and judge against the recent
 * level plus the offset of the minute being judged.
 *
 * The profile keeps, per hour-of-day slot, the hourly level (mean of log requests per minute,
 * mean of log p95) of the last SEASON_DAYS days that had one. A slot's level is the median of
 * those days, so one odd day does not move it, and its offset (level minus the mean of the 24
 * levels) is shrunk towards 0 by the standard error of that median (from the MAD across days),
 * and halved while a slot has seen a single day. Offsets are interpolated between slot centres,
 * so that the expectation moves smoothly through the day. The profile is used once every slot has
 * a level (a full day of history); until then the detectors run on the recent level alone, as
 * they always did. Every minute is learnt, signals or not: a daily ramp raises drops and surges
 * until the profile knows it, so leaving those minutes out would keep it from ever being learnt;
 * an odd day (an outage hour) is outvoted by the median once a slot has three days.
 *
 * Bounded state: 24 slots of at most SEASON_DAYS numbers per metric. The minutes of the current
 * hour are summed in a small accumulator (the detector state); the profile changes only when an
 * hour closes, so the endpoint object writes it to its own row at most once an hour. Pure.
 */

import { weekLearn, weekOffsets, weekdayOf, type WeekState } from "./season-week";
import type { SeasonMetric } from "./types";

export const SEASON_SLOTS = 24;
/** Days of history each slot keeps. */
export const SEASON_DAYS = 7;
/** Minutes an hour needs (with a value) before it is learnt as that slot's level. */
export const SEASON_MIN_MINUTES = 30;

const HOUR_MS = 3_600_000;

/**
 * The 5xx share is learnt as log(rate + ERROR_LEVEL_FLOOR): the floor (the rate detector's own) keeps
 * the hours of a quiet endpoint, where a rate of 0 and of 0.1% differ by one request, from
 * reading as large swings. An hour needs ERROR_MIN_REQUESTS requests to be learnt.
 */
export const ERROR_LEVEL_FLOOR = 0.001;
export const ERROR_MIN_REQUESTS = 300;

/** The learnt levels: per metric, per slot (hour of day, UTC), the newest day last. */
export interface SeasonProfile {
  traffic: number[][];
  latency: number[][];
  /** The 5xx share (log, see ERROR_LEVEL_FLOOR); absent in profiles stored before it existed. */
  errors?: number[][];
  /** The day-of-week levels (src/detect/season-week.ts); absent in profiles stored before they existed. */
  week?: WeekState;
  /** Hours learnt so far (changes whenever the profile does). */
  hours: number;
  /**
   * The newest hour learnt (epoch ms / HOUR_MS): an hour at or before it is not learnt again, so a
   * re-evaluation that replays hours already in the profile keeps it instead of counting them twice.
   */
  last_hour?: number;
}

/** Sums of the minutes of the hour being accumulated (log scale). */
export interface SeasonAccumulator {
  /** The hour (epoch ms / HOUR_MS, floored). */
  hour: number;
  traffic_sum: number;
  traffic_n: number;
  latency_sum: number;
  latency_n: number;
  /** Requests and 5xx of the hour (absent in accumulators stored before they existed). */
  requests_total?: number;
  status_5xx?: number;
}

export const emptyProfile = (): SeasonProfile => ({
  traffic: Array.from({ length: SEASON_SLOTS }, () => []),
  latency: Array.from({ length: SEASON_SLOTS }, () => []),
  errors: Array.from({ length: SEASON_SLOTS }, () => []),
  hours: 0,
});

const emptyAccumulator = (hour: number): SeasonAccumulator => ({
  hour,
  traffic_sum: 0,
  traffic_n: 0,
  latency_sum: 0,
  latency_n: 0,
});

/** One minute's values to learn (null: nothing to learn for that metric this minute). */
export interface SeasonMinute {
  minute_start: number;
  /** Requests in the minute. */
  requests: number | null;
  /** The minute's p95 (ms). */
  p95: number | null;
  /** The minute's 5xx (of `requests`). */
  status_5xx?: number;
}

/**
 * Adds one minute to the accumulator; when the minute starts a new hour, the finished hour is
 * folded into the profile first (a new profile object: the caller stores it).
 */
export function seasonLearn(
  acc: SeasonAccumulator | undefined,
  profile: SeasonProfile | null,
  m: SeasonMinute,
): { acc: SeasonAccumulator; profile: SeasonProfile | null } {
  const hour = Math.floor(m.minute_start / HOUR_MS);
  let current = acc ?? emptyAccumulator(hour);
  let next = profile;
  if (current.hour !== hour) {
    next = closeHour(current, profile);
    current = emptyAccumulator(hour);
  }
  if (m.requests !== null) {
    current = {
      ...current,
      traffic_sum: current.traffic_sum + m.requests,
      traffic_n: current.traffic_n + 1,
      requests_total: (current.requests_total ?? 0) + m.requests,
      status_5xx: (current.status_5xx ?? 0) + (m.status_5xx ?? 0),
    };
  }
  if (m.p95 !== null && m.p95 > 0)
    current = { ...current, latency_sum: current.latency_sum + Math.log1p(m.p95), latency_n: current.latency_n + 1 };
  return { acc: current, profile: next };
}

function closeHour(acc: SeasonAccumulator, profile: SeasonProfile | null): SeasonProfile | null {
  const traffic = acc.traffic_n >= SEASON_MIN_MINUTES ? Math.log1p(acc.traffic_sum / acc.traffic_n) : null;
  const latency = acc.latency_n >= SEASON_MIN_MINUTES ? acc.latency_sum / acc.latency_n : null;
  const requests = acc.requests_total ?? 0;
  const errors =
    acc.traffic_n >= SEASON_MIN_MINUTES && requests >= ERROR_MIN_REQUESTS
      ? Math.log((acc.status_5xx ?? 0) / requests + ERROR_LEVEL_FLOOR)
      : null;
  if (traffic === null && latency === null) return profile;
  if (profile?.last_hour !== undefined && acc.hour <= profile.last_hour) return profile;
  const slot = ((acc.hour % SEASON_SLOTS) + SEASON_SLOTS) % SEASON_SLOTS;
  const base = profile ?? emptyProfile();
  // Once a week is learnt, the hour slots learn each hour minus its weekday's offset.
  const weekday = weekdayOf(acc.hour);
  const push = (slots: number[][], v: number | null, metric: SeasonMetric): number[][] => {
    if (v === null) return slots;
    const adjusted = v - (weekOffsets(base.week, metric)?.[weekday] ?? 0);
    return slots.map((days, i) => (i === slot ? [...days, adjusted].slice(-SEASON_DAYS) : days));
  };
  const errorSlots = base.errors ?? emptyProfile().errors ?? [];
  const week = weekLearn(base.week, acc.hour, { traffic, latency, errors });
  return {
    traffic: push(base.traffic, traffic, "traffic"),
    latency: push(base.latency, latency, "latency"),
    errors: push(errorSlots, errors, "errors"),
    week,
    hours: base.hours + 1,
    last_hour: acc.hour,
  };
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Offsets per profile object (a profile changes by being replaced, at most once an hour). */
/** Each slot's offset from the day's mean level and how much it varies from day to day (log scale). */
export interface SlotOffsets {
  mid: number[];
  /** Each weekday's offset (epoch day mod 7), added to the hour's; null until a week is learnt. */
  week?: number[] | null;
  /** The MAD of the slot's days (0 while it has one), at most MAX_SPREAD. */
  spread: number[];
}

/** The day-to-day spread a judgement allows for at most (log scale: 1.65x). */
const MAX_SPREAD = 0.5;

const cache = new WeakMap<SeasonProfile, Partial<Record<SeasonMetric, SlotOffsets | null>>>();

/** The slots' offsets, or null while a slot has no level. Computed once per profile object. */
export function slotOffsets(profile: SeasonProfile | null, metric: SeasonMetric): SlotOffsets | null {
  if (!profile) return null;
  const cached = cache.get(profile) ?? {};
  if (!(metric in cached)) {
    const hourly = computeOffsets(profile[metric]);
    cached[metric] = hourly && { ...hourly, week: weekOffsets(profile.week, metric) };
    cache.set(profile, cached);
  }
  return cached[metric] ?? null;
}

function computeOffsets(slots: number[][] | undefined): SlotOffsets | null {
  if (!slots || slots.length !== SEASON_SLOTS || slots.some((d) => d.length === 0)) return null;
  const levels = slots.map((d) => median([...d].sort((a, b) => a - b)));
  const mean = levels.reduce((a, b) => a + b, 0) / SEASON_SLOTS;
  const mid: number[] = [];
  const spread: number[] = [];
  slots.forEach((days, i) => {
    const level = levels[i] ?? mean;
    const offset = level - mean;
    if (days.length === 1) {
      mid.push(offset / 2);
      spread.push(0);
      return;
    }
    const mad = 1.4826 * median(days.map((v) => Math.abs(v - level)).sort((a, b) => a - b));
    // Standard error of a median, about 1.25 sd / sqrt(n).
    const se = (1.25 * mad) / Math.sqrt(days.length);
    mid.push(offset === 0 ? 0 : (offset * offset * offset) / (offset * offset + se * se));
    spread.push(Math.min(MAX_SPREAD, mad));
  });
  return { mid, spread };
}

const slotIndex = (t: number): number => Math.floor((((t / HOUR_MS) % SEASON_SLOTS) + SEASON_SLOTS) % SEASON_SLOTS);

/** The offset (log scale) at event time `t`, interpolated between slot centres; 0 without a profile. */
export function offsetAt(offsets: SlotOffsets | null, t: number): number {
  if (!offsets) return 0;
  const position = ((((t / HOUR_MS) % SEASON_SLOTS) + SEASON_SLOTS) % SEASON_SLOTS) - 0.5;
  const lower = Math.floor(position);
  const frac = position - lower;
  const at = (i: number): number => offsets.mid[((i % SEASON_SLOTS) + SEASON_SLOTS) % SEASON_SLOTS] ?? 0;
  return at(lower) * (1 - frac) + at(lower + 1) * frac + weekOffsetAt(offsets, t);
}

/** The weekday's offset at `t` (0 until a week is learnt). */
const weekOffsetAt = (offsets: SlotOffsets, t: number): number =>
  offsets.week?.[weekdayOf(Math.floor(t / HOUR_MS))] ?? 0;

/**
 * The offset a detector judges by at `t`, generous in the direction it watches: the highest
 * (`up`: latency, surges) or lowest (`down`: drops) of the hours within half an hour of `t`,
 * each widened by its day-to-day spread. An hour's level is its average, so it rounds off a
 * steep daily ramp (a business day ending at 18:00 is still busy at 18:10 while its hour's
 * level is half-way to the night), and an hour that varies a lot from day to day (a handful of
 * purchases an hour) gives no firm expectation; a detector should fire on neither.
 */
export function judgedOffset(
  offsets: SlotOffsets | null,
  t: number,
  direction: "up" | "down",
  spreadWeight = 1,
): number {
  if (!offsets) return 0;
  const sign = direction === "up" ? spreadWeight : -spreadWeight;
  const slot = (x: number): number => {
    const i = slotIndex(x);
    return (offsets.mid[i] ?? 0) + sign * (offsets.spread[i] ?? 0) + weekOffsetAt(offsets, x);
  };
  const band = [slot(t - HOUR_MS / 2), slot(t), slot(t + HOUR_MS / 2)];
  return direction === "up" ? Math.max(...band) : Math.min(...band);
}

/** `value` with the offset removed (log1p scale, as the detectors learn it). */
export const deseason = (value: number, offset: number): number => Math.expm1(Math.log1p(Math.max(0, value)) - offset);
/** A deseasonalised level (log1p scale) back at the time of the offset. */
export const reseason = (logLevel: number, offset: number): number => Math.expm1(logLevel + offset);
