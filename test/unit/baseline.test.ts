import { describe, expect, it } from "vitest";
import { cusumUpdate, emptyEwma, ewmaUpdate, zScore, type Cusum, type Ewma } from "../../src/detect/baseline";

function feed(values: number[], alpha: number): Ewma {
  return values.reduce((s, v) => ewmaUpdate(s, v, alpha), emptyEwma());
}

describe("EWMA baseline", () => {
  it("starts at the first value and converges to a steady level", () => {
    expect(feed([100], 0.1)).toEqual({ mean: 100, variance: 0, n: 1 });
    const s = feed(
      Array.from({ length: 200 }, () => 50),
      0.1,
    );
    expect(s.mean).toBeCloseTo(50, 6);
    expect(s.variance).toBeCloseTo(0, 6);
  });

  it("tracks the spread of an alternating signal", () => {
    // Values alternate 90, 110: mean 100, standard deviation about 10.
    const s = feed(
      Array.from({ length: 2000 }, (_, i) => (i % 2 ? 110 : 90)),
      0.05,
    );
    expect(s.mean).toBeGreaterThan(98);
    expect(s.mean).toBeLessThan(102);
    expect(Math.sqrt(s.variance)).toBeGreaterThan(9);
    expect(Math.sqrt(s.variance)).toBeLessThan(11);
  });

  it("scores a jump in standard deviations, with a floor for flat metrics", () => {
    const s = feed(
      Array.from({ length: 2000 }, (_, i) => (i % 2 ? 110 : 90)),
      0.05,
    );
    const z = zScore(s, 150, 1);
    expect(z).toBeGreaterThan(4);
    expect(z).toBeLessThan(6);
    const flat = feed(
      Array.from({ length: 100 }, () => 0.001),
      0.1,
    );
    expect(zScore(flat, 0.002, 0.01)).toBeCloseTo(0.1, 6);
  });

  it("ignores non-finite observations", () => {
    const s = feed([10, Number.NaN, Number.POSITIVE_INFINITY, 10], 0.5);
    expect(s).toEqual({ mean: 10, variance: 0, n: 2 });
  });
});

describe("CUSUM", () => {
  function run(zs: number[], k: number): Cusum[] {
    const out: Cusum[] = [];
    let state: Cusum = { sum: 0 };
    for (const z of zs) {
      state = cusumUpdate(state, z, k);
      out.push(state);
    }
    return out;
  }

  it("stays at zero for noise below the slack", () => {
    const sums = run(
      Array.from({ length: 500 }, (_, i) => (i % 2 ? 0.4 : -0.4)),
      0.5,
    );
    expect(Math.max(...sums.map((s) => s.sum))).toBe(0);
  });

  it("accumulates a small sustained shift that no single z-score would flag", () => {
    // A drift of 1 standard deviation: each z is far below a 3-sigma alarm, the sum passes h = 5.
    const sums = run(
      Array.from({ length: 20 }, () => 1),
      0.5,
    );
    const firstAlarm = sums.findIndex((s) => s.sum > 5);
    expect(firstAlarm).toBe(10);
  });

  it("drains back to zero once the shift is over", () => {
    const sums = run([...Array.from({ length: 10 }, () => 1.5), ...Array.from({ length: 20 }, () => -1)], 0.5);
    expect(sums[9]?.sum).toBe(10);
    expect(sums[sums.length - 1]?.sum).toBe(0);
  });
});
