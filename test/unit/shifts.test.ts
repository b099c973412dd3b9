import { describe, expect, it } from "vitest";
import { MINUTE, SimEndpoint, openedAfter, openings } from "./endpoint-sim";

const WARM = 6 * 60;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? NaN) : ((s[s.length / 2 - 1] ?? NaN) + (s[s.length / 2] ?? NaN)) / 2;
};

/** Minutes to the first incident after `WARM` minutes of `normal` and then `changed` for `minutes`, per seed. */
function delays(
  seeds: readonly number[],
  normal: Parameters<SimEndpoint["minute"]>[0],
  changed: Parameters<SimEndpoint["minute"]>[0],
  minutes = 15,
): (number | null)[] {
  return seeds.map((seed) => {
    const e = new SimEndpoint(seed);
    expect(openings(e.run(WARM, () => normal))).toEqual([]);
    const from = e.now;
    return openedAfter(
      e.run(minutes, () => changed),
      from,
    );
  });
}

const SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

describe("short clear shifts", () => {
  it("catches a 1.5x latency shift at 20 requests/min within 10 minutes", () => {
    const d = delays(SEEDS, { rate: 20 }, { rate: 20, median: 120 });
    for (const x of d) expect(x).not.toBeNull();
    for (const x of d) expect(x ?? Infinity).toBeLessThanOrEqual(10);
  });

  it("catches a 5xx step from 0.2% to 5% at 40 requests/min within 10 minutes, half of them within 5", () => {
    const d = delays(SEEDS, { rate: 40 }, { rate: 40, p5xx: 0.05 });
    for (const x of d) expect(x ?? Infinity).toBeLessThanOrEqual(10);
    expect(median(d.map((x) => x ?? Infinity))).toBeLessThanOrEqual(5);
  });

  it("stays quiet on steady endpoints, heavy-tailed latency included, for 36 hours", () => {
    for (const [seed, shape] of [
      [1, { rate: 20 }],
      [2, { rate: 60, p5xx: 0.004 }],
      [3, { rate: 20, median: 300, sigma: 1 }],
    ] as const) {
      const e = new SimEndpoint(seed);
      const evs = e.run(36 * 60, () => shape);
      expect(
        openings(evs).map((ev) => `${(ev.minute - e.start) / MINUTE}: ${ev.signals.map((s) => s.kind).join(",")}`),
      ).toEqual([]);
    }
  });
});
