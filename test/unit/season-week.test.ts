/** Issue 15 item 2: the day-of-week part of the seasonal profile, once a week of history exists. */
import { describe, expect, it } from "vitest";
import {
  offsetAt,
  seasonLearn,
  slotOffsets,
  type SeasonAccumulator,
  type SeasonProfile,
} from "../../src/detect/season";
import { WEEK_KEEP, weekOffsets } from "../../src/detect/season-week";
import type { Evaluation } from "../../src/detect/evaluate";
import { HOUR, SimEndpoint, T0, openings } from "./endpoint-sim";

const DAY = 24 * HOUR;
/** T0 is a Monday: days 5 and 6 of each week are the weekend. */
const weekend = (t: number): boolean => Math.floor((t - T0) / DAY) % 7 >= 5;

function feed(days: number, value: (t: number) => number): SeasonProfile | null {
  let acc: SeasonAccumulator | undefined;
  let profile: SeasonProfile | null = null;
  for (let t = T0; t < T0 + days * DAY + HOUR; t += 60_000)
    ({ acc, profile } = seasonLearn(acc, profile, { minute_start: t, requests: value(t), p95: null }));
  return profile;
}

describe("day-of-week profile", () => {
  it("has no weekday offsets before a week is learnt, then expects the weekend's level", () => {
    const value = (t: number): number => (weekend(t) ? 40 : 10);
    expect(weekOffsets(feed(6, value)?.week, "traffic")).toBeNull();
    const two = feed(15, value);
    const week = weekOffsets(two?.week, "traffic");
    expect(week).not.toBeNull();
    expect(two?.week?.levels.traffic.every((w) => w.length >= 2 && w.length <= WEEK_KEEP)).toBe(true);
    // Saturday noon against Wednesday noon: the weekend's level over the weekday's (log scale).
    const offsets = slotOffsets(two, "traffic");
    const saturday = offsetAt(offsets, T0 + 12 * DAY + 12 * HOUR);
    const wednesday = offsetAt(offsets, T0 + 9 * DAY + 12 * HOUR);
    expect(saturday - wednesday).toBeCloseTo(Math.log1p(40) - Math.log1p(10), 1);
  });

  it("a consumer app with 4x traffic at the weekend raises no drop and no surge in its third week", () => {
    const shape = (t: number) => ({ rate: weekend(t) ? 40 : 10 });
    const e = new SimEndpoint(2);
    e.run(14 * 1440, shape);
    const third: Evaluation[] = e.run(7 * 1440, shape);
    const traffic = third.filter((ev) =>
      ev.signals.some((s) => s.kind === "traffic_drop" || s.kind === "traffic_stop" || s.kind === "traffic_surge"),
    );
    expect(traffic.length).toBe(0);
    expect(openings(third)).toEqual([]);
  });
});
