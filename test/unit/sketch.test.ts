import { describe, expect, it } from "vitest";
import { LatencySketch, type SketchData } from "../../src/detect/sketch";
import { prng as rng } from "../prng";

/** Log-normal latencies (median about 120 ms, a heavy tail), as request latencies look. */
function latencies(n: number, seed: number): number[] {
  const random = rng(seed);
  return Array.from({ length: n }, () => {
    const u = Math.max(random(), 1e-12);
    const v = random();
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.exp(Math.log(120) + 0.8 * normal);
  });
}

/** The exact value at rank q·(n−1) of sorted values: the definition the sketch's bound is stated for. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN;
}

const QUANTILES = [0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

describe("LatencySketch", () => {
  it("reads every quantile back within 1% relative error", () => {
    for (const seed of [1, 2, 3]) {
      const values = latencies(20_000, seed);
      const sketch = new LatencySketch(0.01);
      for (const v of values) sketch.add(v);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of QUANTILES) {
        const exact = exactQuantile(sorted, q);
        const approx = sketch.quantile(q) ?? Number.NaN;
        expect(Math.abs(approx - exact) / exact, `seed ${seed} q ${q}`).toBeLessThanOrEqual(0.01 + 1e-9);
      }
      expect(sketch.count).toBe(20_000);
      expect(sketch.max).toBe(sorted[sorted.length - 1]);
    }
  });

  it("merging two sketches gives the sketch of both sets of values", () => {
    const a = latencies(5_000, 10);
    const b = latencies(7_000, 11).map((v) => v * 3);
    const left = new LatencySketch();
    const right = new LatencySketch();
    const both = new LatencySketch();
    for (const v of a) {
      left.add(v);
      both.add(v);
    }
    for (const v of b) {
      right.add(v);
      both.add(v);
    }
    left.merge(right);
    expect(left.toJSON()).toEqual(both.toJSON());
    for (const q of QUANTILES) expect(left.quantile(q)).toBe(both.quantile(q));
    expect(left.count).toBe(12_000);
  });

  it("stays bounded in size whatever the spread of values, keeping the high quantiles accurate", () => {
    const sketch = new LatencySketch(0.01, 256);
    const values: number[] = [];
    for (let e = -3; e <= 7; e += 0.001) values.push(10 ** e); // 1 µs .. 10^7 ms
    for (const v of values) sketch.add(v);
    expect(sketch.size).toBeLessThanOrEqual(256);
    const sorted = [...values].sort((x, y) => x - y);
    for (const q of [0.99, 0.999]) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs((sketch.quantile(q) ?? 0) - exact) / exact).toBeLessThanOrEqual(0.01 + 1e-9);
    }
  });

  it("counts zero latencies and ignores negative or non-finite ones", () => {
    const sketch = new LatencySketch();
    for (const v of [0, 0, 0, 5, -1, Number.NaN, Number.POSITIVE_INFINITY]) sketch.add(v);
    expect(sketch.count).toBe(4);
    expect(sketch.quantile(0.5)).toBe(0);
    expect(sketch.quantile(1)).toBeCloseTo(5, 1);
    expect(new LatencySketch().quantile(0.5)).toBeNull();
  });

  it("round-trips through its stored form", () => {
    const sketch = new LatencySketch();
    for (const v of latencies(3_000, 42)) sketch.add(v);
    const copy = LatencySketch.fromJSON(JSON.parse(JSON.stringify(sketch.toJSON())) as SketchData);
    expect(copy.count).toBe(sketch.count);
    for (const q of [0.5, 0.9, 0.99]) expect(copy.quantile(q)).toBe(sketch.quantile(q));
  });

  it("counts values at or below a latency threshold for SLOs, never counting one above it", () => {
    const sketch = new LatencySketch();
    for (const v of [0, 10, 100, 400, 499, 501, 2000]) sketch.add(v);
    // 499 is within 1% of 500 and may be counted either way; 501 never counts as good.
    expect([4, 5]).toContain(sketch.countAtOrBelow(500));
    expect(sketch.countAtOrBelow(1000)).toBe(6);
    expect(sketch.countAtOrBelow(5000)).toBe(7);
    expect(sketch.countAtOrBelow(0)).toBe(1);
    for (const above of [500.001, 501, 504.9]) {
      const one = new LatencySketch();
      one.add(above);
      expect(one.countAtOrBelow(500), String(above)).toBe(0);
    }
  });

  it("builds from bucket counts made elsewhere: the same sketch as adding the values, with the exact max", () => {
    const values = latencies(4_000, 7);
    values.push(0, 0, 0.0005);
    const added = new LatencySketch();
    for (const v of values) added.add(v);
    const stored = added.toJSON();
    // Split every bucket's count in two pairs, in reverse order: pairs with the same index add up.
    const pairs: [number, number][] = [];
    for (const [i, c] of [...stored.b].reverse()) {
      const half = Math.floor(c / 2);
      if (half > 0) pairs.push([i, half]);
      pairs.push([i, c - half]);
    }
    const max = Math.max(...values);
    const built = LatencySketch.fromBuckets(pairs, { zeroCount: stored.z, max });
    expect(built.toJSON()).toEqual(stored);
    expect(built.count).toBe(values.length);
    expect(built.max).toBe(max);
    for (const q of QUANTILES) expect(built.quantile(q), `q ${q}`).toBe(added.quantile(q));
  });

  it("places a value in bucket ceil(ln x / logGammaOf(accuracy)), the index SQL computes", () => {
    const lg = LatencySketch.logGammaOf(0.01);
    for (const v of [0.002, 1, 1.5, 20, 120.5, 999.9, 1000, 65_000]) {
      const sketch = new LatencySketch(0.01);
      sketch.add(v);
      expect(sketch.toJSON().b).toEqual([[Math.ceil(Math.log(v) / lg), 1]]);
    }
  });

  it("ignores malformed pairs, reads the max from the top bucket when not given, and stays bounded", () => {
    const sketch = LatencySketch.fromBuckets([
      [10, 2],
      [1.5, 3],
      [11, 0],
      [12, -1],
      [20, 1],
    ]);
    expect(sketch.count).toBe(3);
    expect(sketch.toJSON().b).toEqual([
      [10, 2],
      [20, 1],
    ]);
    expect(sketch.max).toBe(LatencySketch.fromJSON({ a: 0.01, z: 0, b: [[20, 1]] }).max);
    expect(LatencySketch.fromBuckets([]).quantile(0.5)).toBeNull();

    const many = Array.from({ length: 300 }, (_, i) => [i, 1] as [number, number]);
    const bounded = LatencySketch.fromBuckets(many, { maxBuckets: 100 });
    expect(bounded.size).toBe(100);
    expect(bounded.count).toBe(300);
  });

  it("refuses to merge sketches of different accuracy", () => {
    expect(() => new LatencySketch(0.01).merge(new LatencySketch(0.02))).toThrow(RangeError);
  });
});
