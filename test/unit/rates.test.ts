import { describe, expect, it } from "vitest";
import { prng } from "../prng";
import {
  ERROR_RATE_PARAMS,
  emptyRateState,
  poissonCdf,
  rateStep,
  usualRate,
  type RateState,
} from "../../src/detect/rates";

const GUARD = { min_requests: 20, min_events: 5 };

interface Minute {
  bad: number;
  count: number;
}

/** Knuth's Poisson sampler (fine for small means). */
function poissonSample(random: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/** Steps the detector through `minutes`, judging each against the sum of the last `windowMinutes`. */
function run(minutes: readonly Minute[], windowMinutes = 5, start: RateState = emptyRateState()) {
  let state = start;
  const recent: Minute[] = [];
  const fired: boolean[] = [];
  for (const m of minutes) {
    recent.push(m);
    if (recent.length > windowMinutes) recent.shift();
    const window = recent.reduce((a, b) => ({ bad: a.bad + b.bad, count: a.count + b.count }), { bad: 0, count: 0 });
    const step = rateStep(state, m, window, GUARD, ERROR_RATE_PARAMS);
    state = step.state;
    fired.push(step.fired);
  }
  return { state, fired, fires: fired.filter(Boolean).length };
}

/** 100 requests a minute, one 5xx every fifth minute: 0.2%. */
const busy = (n: number): Minute[] => Array.from({ length: n }, (_, i) => ({ bad: i % 5 === 4 ? 1 : 0, count: 100 }));

describe("poissonCdf", () => {
  it("matches known values", () => {
    expect(poissonCdf(0, 2)).toBeCloseTo(Math.exp(-2), 12);
    // e^-3.5 (1 + 3.5 + 3.5²/2 + 3.5³/6)
    expect(poissonCdf(3, 3.5)).toBeCloseTo(0.5366327, 6);
    expect(poissonCdf(10, 1)).toBeCloseTo(1, 7);
    expect(poissonCdf(-1, 5)).toBe(0);
    expect(poissonCdf(0, 0)).toBe(1);
  });

  it("stays sane for large means, on both sides of the normal approximation", () => {
    for (const lambda of [500, 800, 1000, 1001, 5000]) {
      // The median of a Poisson is about lambda: the cdf there is a little over one half.
      expect(poissonCdf(lambda, lambda)).toBeGreaterThan(0.5);
      expect(poissonCdf(lambda, lambda)).toBeLessThan(0.52);
      // Three standard deviations below the mean: about 0.1%.
      const low = poissonCdf(Math.floor(lambda - 3 * Math.sqrt(lambda)), lambda);
      expect(low).toBeGreaterThan(0.0003);
      expect(low).toBeLessThan(0.003);
    }
  });

  it("grows with the count and falls with the mean", () => {
    for (const lambda of [30, 800, 2000]) {
      let prev = 0;
      for (let c = Math.floor(lambda / 2); c <= 1.5 * lambda; c += Math.ceil(lambda / 50)) {
        const p = poissonCdf(c, lambda);
        expect(p).toBeGreaterThanOrEqual(prev);
        prev = p;
      }
      expect(prev).toBeGreaterThan(0.99);
    }
    let prev = 1;
    for (let lambda = 900; lambda <= 1100; lambda += 5) {
      const p = poissonCdf(1000, lambda);
      expect(p).toBeLessThanOrEqual(prev);
      prev = p;
    }
  });
});

describe("rateStep", () => {
  it("never fires during warm-up, even with the CUSUM past its threshold", () => {
    // A short outage at the end of the warm-up: a long one is learnt by the warm-up's running mean
    // until the CUSUM (looking for a fivefold rate) no longer gains.
    const clean = Array.from({ length: 25 }, () => ({ bad: 0, count: 100 }));
    const outage = Array.from({ length: ERROR_RATE_PARAMS.warmup - 26 }, () => ({ bad: 50, count: 100 }));
    const { state, fires } = run([...clean, ...outage]);
    expect(state.n).toBe(ERROR_RATE_PARAMS.warmup - 1);
    expect(state.cusum).toBeGreaterThanOrEqual(ERROR_RATE_PARAMS.h);
    expect(fires).toBe(0);
  });

  it("never fires on 1 failure out of 2 requests (minimum volume)", () => {
    const learnt: RateState = { bad: 0, total: 2, n: 120, cusum: 10 * ERROR_RATE_PARAMS.h };
    const step = rateStep(learnt, { bad: 1, count: 2 }, { bad: 1, count: 2 }, GUARD, ERROR_RATE_PARAMS);
    expect(step.fired).toBe(false);
    // The same CUSUM with enough volume in the window does fire: the guard held it back.
    expect(rateStep(learnt, { bad: 1, count: 2 }, { bad: 5, count: 20 }, GUARD, ERROR_RATE_PARAMS).fired).toBe(true);
    // And a stream of such minutes never reaches the volume either.
    const { fires } = run(Array.from({ length: 600 }, (_, i) => ({ bad: i >= 60 && i % 10 === 0 ? 1 : 0, count: 2 })));
    expect(fires).toBe(0);
  });

  it("fires within a few minutes when a busy endpoint goes from 0.2% to 10% 5xx", () => {
    const learnt = run(busy(60));
    expect(learnt.fires).toBe(0);
    expect(usualRate(learnt.state, ERROR_RATE_PARAMS)).toBeCloseTo(0.002, 3);
    const { fired } = run(
      Array.from({ length: 10 }, () => ({ bad: 10, count: 100 })),
      5,
      learnt.state,
    );
    const first = fired.indexOf(true);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(3);
  });

  it("stays quiet for 7 days of a steady 0.2% 5xx rate with Poisson noise (ten seeded weeks)", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const random = prng(seed);
      const minutes = Array.from({ length: 10_080 }, () => {
        const count = poissonSample(random, 100);
        let bad = 0;
        for (let i = 0; i < count; i++) if (random() < 0.002) bad++;
        return { bad, count };
      });
      const { state, fires } = run(minutes);
      expect(fires).toBe(0);
      expect(state.n).toBe(10_080);
      expect(usualRate(state, ERROR_RATE_PARAMS)).toBeGreaterThan(0.001);
      expect(usualRate(state, ERROR_RATE_PARAMS)).toBeLessThan(0.004);
    }
  });

  it("never fires on a low-traffic endpoint with one 5xx every three hours", () => {
    const minutes = Array.from({ length: 10_080 }, (_, i) => ({ bad: i % 180 === 179 ? 1 : 0, count: 1 }));
    // One request a minute: the detectors judge it on the hour window.
    const { state, fires } = run(minutes, 60);
    expect(fires).toBe(0);
    expect(state.n).toBe(10_080);
  });

  it("does not learn the baseline while firing", () => {
    let state = run(busy(120)).state;
    let before: RateState | null = null;
    let firing = 0;
    for (let i = 0; i < 30; i++) {
      const step = rateStep(state, { bad: 10, count: 100 }, { bad: 50, count: 500 }, GUARD, ERROR_RATE_PARAMS);
      if (step.fired) {
        firing++;
        before ??= state;
      }
      state = step.state;
    }
    // The minutes before the CUSUM crossed were learnt; none after it.
    expect(firing).toBeGreaterThan(25);
    expect(before).not.toBeNull();
    expect(state.n).toBe(before?.n);
    expect(state.bad).toBe(before?.bad);
    expect(state.total).toBe(before?.total);
    expect(usualRate(state, ERROR_RATE_PARAMS)).toBeLessThan(0.004);
  });

  it("learns a clean minute into the usual rate", () => {
    const learnt = run(busy(120)).state;
    const step = rateStep(learnt, { bad: 0, count: 100 }, { bad: 1, count: 500 }, GUARD, ERROR_RATE_PARAMS);
    expect(step.fired).toBe(false);
    expect(step.state.n).toBe(learnt.n + 1);
    expect(step.state.bad).toBeLessThan(learnt.bad);
  });
});
