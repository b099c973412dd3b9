import { describe, expect, it } from "vitest";
import {
  SEASON_DAYS,
  SEASON_MIN_MINUTES,
  emptyProfile,
  judgedOffset,
  offsetAt,
  seasonLearn,
  slotOffsets,
  type SeasonAccumulator,
  type SeasonProfile,
} from "../../src/detect/season";
import type { Evaluation } from "../../src/detect/evaluate";
import { HOUR, MINUTE, SimEndpoint, T0, openings } from "./endpoint-sim";

/** Feeds `hours` hours of one value per minute (requests, p95) from `start`; returns the profiles seen. */
function feed(
  hours: number,
  value: (t: number) => number,
  start = T0,
): { acc: SeasonAccumulator | undefined; profile: SeasonProfile | null; distinct: number } {
  let acc: SeasonAccumulator | undefined;
  let profile: SeasonProfile | null = null;
  let distinct = 0;
  for (let t = start; t < start + hours * HOUR; t += MINUTE) {
    const out = seasonLearn(acc, profile, { minute_start: t, requests: value(t), p95: value(t) });
    if (out.profile !== profile) distinct++;
    acc = out.acc;
    profile = out.profile;
  }
  return { acc, profile, distinct };
}

const hourOf = (t: number): number => Math.floor(t / HOUR) % 24;

describe("daily profile", () => {
  it("changes only when an hour closes, and keeps at most SEASON_DAYS days per slot", () => {
    const three = feed(3, () => 10);
    // Hours 0 and 1 closed; hour 2 is still being summed.
    expect(three.distinct).toBe(2);
    expect(three.profile?.hours).toBe(2);
    expect(three.profile?.traffic[0]).toEqual([Math.log1p(10)]);
    expect(three.profile?.traffic[2]).toEqual([]);
    const long = feed(24 * (SEASON_DAYS + 3) + 1, () => 10);
    expect(long.profile?.traffic.every((days) => days.length === SEASON_DAYS)).toBe(true);
    expect(long.profile?.latency.every((days) => days.length === SEASON_DAYS)).toBe(true);
    expect(long.profile?.errors?.every((days) => days.length === SEASON_DAYS)).toBe(true);
    expect(JSON.stringify(long.profile).length).toBeLessThan(12_000);
  });

  it("skips an hour with fewer than SEASON_MIN_MINUTES minutes", () => {
    let acc: SeasonAccumulator | undefined;
    let profile: SeasonProfile | null = null;
    for (let i = 0; i < SEASON_MIN_MINUTES - 1; i++)
      ({ acc, profile } = seasonLearn(acc, profile, { minute_start: T0 + i * MINUTE, requests: 5, p95: null }));
    ({ profile } = seasonLearn(acc, profile, { minute_start: T0 + HOUR, requests: 5, p95: null }));
    expect(profile).toBeNull();
  });

  it("has no offsets until every hour of the day has a level, then the hour's level against the day", () => {
    // 100/min from 08:00 to 20:00, 10/min otherwise.
    const day = (t: number): number => (hourOf(t) >= 8 && hourOf(t) < 20 ? 100 : 10);
    expect(slotOffsets(feed(23, day).profile, "traffic")).toBeNull();
    const three = feed(3 * 24 + 1, day).profile;
    const offsets = slotOffsets(three, "traffic");
    expect(offsets).not.toBeNull();
    const half = (Math.log1p(100) - Math.log1p(10)) / 2;
    expect(offsets?.mid[12]).toBeCloseTo(half, 6);
    expect(offsets?.mid[3]).toBeCloseTo(-half, 6);
    // Interpolated between slot centres: 08:00 is halfway between 07:30 (night) and 08:30 (day).
    expect(offsetAt(offsets, T0 + 3 * 24 * HOUR + 8 * HOUR)).toBeCloseTo(0, 6);
    expect(offsetAt(offsets, T0 + 12.5 * HOUR)).toBeCloseTo(half, 6);
    expect(offsetAt(null, T0)).toBe(0);
  });

  it("halves a slot seen on one day, and outvotes one odd day with the median", () => {
    const day = (t: number): number => (hourOf(t) >= 8 && hourOf(t) < 20 ? 100 : 10);
    const one = slotOffsets(feed(25, day).profile, "traffic");
    const half = (Math.log1p(100) - Math.log1p(10)) / 2;
    expect(one?.mid[12]).toBeCloseTo(half / 2, 6);
    // Day 2 at noon: an outage hour (0 requests). Three days later noon is still a busy hour.
    const odd = (t: number): number => (t >= T0 + 36 * HOUR && t < T0 + 37 * HOUR ? 0 : day(t));
    const offsets = slotOffsets(feed(4 * 24 + 1, odd).profile, "traffic");
    expect(offsets?.mid[12]).toBeGreaterThan(0.9 * half);
    const p: SeasonProfile = emptyProfile();
    expect(slotOffsets(p, "latency")).toBeNull();
  });

  it("judges by the most generous hour within half an hour, widened by the hour's day-to-day spread", () => {
    const day = (t: number): number => (hourOf(t) >= 8 && hourOf(t) < 20 ? 100 : 10);
    // 03:00 alternates between 10 and 40 requests/min from one day to the next.
    const noisy = (t: number): number =>
      hourOf(t) === 3 ? (Math.floor((t - T0) / (24 * HOUR)) % 2 ? 40 : 10) : day(t);
    const offsets = slotOffsets(feed(4 * 24 + 1, noisy).profile, "traffic");
    expect(offsets?.spread[12]).toBe(0);
    expect(offsets?.spread[3]).toBe(0.5);
    const at = (h: number): number => T0 + h * HOUR;
    // Steady hours: the band's extreme; 07:50 is judged against 08:00's day for latency and surges.
    expect(judgedOffset(offsets, at(7 + 50 / 60), "up")).toBeCloseTo(offsets?.mid[8] ?? NaN, 6);
    expect(judgedOffset(offsets, at(20 + 10 / 60), "down")).toBeCloseTo(offsets?.mid[20] ?? NaN, 6);
    // The noisy hour: a drop is judged against its low end, a surge against its high end.
    expect(judgedOffset(offsets, at(3.5), "down")).toBeCloseTo(
      Math.min((offsets?.mid[3] ?? NaN) - 0.5, offsets?.mid[4] ?? NaN),
      6,
    );
    expect(judgedOffset(offsets, at(3.5), "down")).toBeLessThan(offsetAt(offsets, at(3.5)) - 0.4);
    expect(judgedOffset(offsets, at(3.5), "up")).toBeCloseTo((offsets?.mid[3] ?? NaN) + (offsets?.spread[3] ?? NaN), 6);
    expect(judgedOffset(null, at(3), "up")).toBe(0);
  });
});

/** Business hours: 100 requests/min from 08:00 to 18:00 UTC, 8/min at night, one-hour log-linear ramps. */
function business(t: number): number {
  const h = ((t - T0) / HOUR) % 24;
  const f = h < 7 ? 0 : h < 8 ? h - 7 : h < 18 ? 1 : h < 19 ? 19 - h : 0;
  return Math.exp(Math.log(8) + (Math.log(100) - Math.log(8)) * f);
}

const count = (evs: readonly Evaluation[], kinds: readonly string[]): number =>
  evs.filter((e) => e.signals.some((s) => kinds.includes(s.kind))).length;

describe("detection with the daily profile", () => {
  it("expects a business day's evening trough and morning peak once a day is learnt", () => {
    for (const seed of [1, 2, 3]) {
      const e = new SimEndpoint(seed);
      const first = e.run(1440, (t) => ({ rate: business(t) }));
      e.run(1440, (t) => ({ rate: business(t) }));
      const third = e.run(1440, (t) => ({ rate: business(t) }));
      // Without a profile (the first day) the morning ramp reads as a surge; the evening ramp is no
      // drop of more than a minute or two (it is within the swings the day has shown: DROP_SWING_SDS).
      expect(count(first, ["traffic_drop"])).toBeLessThanOrEqual(2);
      expect(count(first, ["traffic_surge"])).toBeGreaterThan(20);
      expect(count(third, ["traffic_drop", "traffic_stop", "traffic_surge"])).toBe(0);
      expect(openings(third)).toEqual([]);
    }
  });

  it("expects latency that rises with the day's load", () => {
    const shape = (t: number) => ({ rate: business(t), median: 80 * (1 + business(t) / 100) });
    for (const seed of [1, 3]) {
      const e = new SimEndpoint(seed);
      const first = e.run(1440, shape);
      e.run(1440, shape);
      const third = e.run(1440, shape);
      expect(count(first, ["latency_p95_baseline", "latency_p50_baseline"])).toBeGreaterThan(20);
      expect(count(third, ["latency_p95_baseline", "latency_p50_baseline"])).toBeLessThanOrEqual(2);
      expect(openings(third)).toEqual([]);
    }
  });

  it("still catches a drop at the peak and a stop in the trough", () => {
    const e = new SimEndpoint(7);
    e.run(2 * 1440 + 12 * 60, (t) => ({ rate: business(t) }));
    // Day 3, 12:00: traffic falls to 30% of the day's level.
    const noon = e.now;
    const drop = e.run(15, () => ({ rate: 30 }));
    const dropAt = drop.find((ev) => ev.signals.some((s) => s.kind === "traffic_drop"));
    expect(dropAt && (dropAt.minute - noon) / MINUTE).toBeLessThanOrEqual(10);
    expect(dropAt?.signals.find((s) => s.kind === "traffic_drop")?.baseline).toBeGreaterThan(80);
    e.run(14 * 60 - 15, (t) => ({ rate: business(t) }));
    // Day 4, 02:00 (8/min expected): nothing at all.
    expect(hourOf(e.now)).toBe(2);
    const night = e.now;
    const stop = e.run(15, () => ({ rate: 0 }));
    const stopAt = stop.find((ev) => ev.signals.some((s) => s.kind === "traffic_stop"));
    expect(stopAt && (stopAt.minute - night) / MINUTE).toBeLessThanOrEqual(10);
  });
});
