import { describe, expect, it } from "vitest";
import { LATENCY_PARAMS } from "../../src/detect/latency-detector";
import {
  baselineSd,
  emptyMetricState,
  metricStep,
  NAB_PARAMS,
  type MetricParams,
  type MetricState,
  type MetricStep,
} from "../../src/detect/metric";
import { createRng } from "../prng";

/** Deterministic standard normal noise (test/prng.ts's createRng), so every run sees the same series. */
function noise(seed: number): () => number {
  return createRng(seed).normal;
}

function run(state: MetricState, values: number[], params: MetricParams): { state: MetricState; steps: MetricStep[] } {
  const steps: MetricStep[] = [];
  let s = state;
  for (const v of values) {
    const step = metricStep(s, v, params);
    steps.push(step);
    s = step.state;
  }
  return { state: s, steps };
}

/** A baseline learnt on `count` observations of 10 + N(0, 1). */
function trained(params: MetricParams, count = 1000, seed = 1): MetricState {
  const g = noise(seed);
  return run(
    emptyMetricState(),
    Array.from({ length: count }, () => 10 + g()),
    params,
  ).state;
}

const up: MetricParams = { ...NAB_PARAMS, direction: "up" };
const down: MetricParams = { ...NAB_PARAMS, direction: "down" };

describe("metric detector", () => {
  it("never fires during warm-up, however wild the values", () => {
    const wild = Array.from({ length: NAB_PARAMS.warmup }, (_, i) => (i % 7 === 3 ? 1e6 : i % 5 === 0 ? -1e6 : 10));
    const { steps } = run(emptyMetricState(), wild, NAB_PARAMS);
    expect(steps.every((s) => !s.fired && s.z === 0 && s.cusum === 0)).toBe(true);
    // The next observation is judged.
    const { steps: judged } = run(emptyMetricState(), [...wild, 1e9], NAB_PARAMS);
    expect(judged.at(-1)?.z).not.toBe(0);
  });

  it("fires a level shift of 10 sd as a spike, in the bad direction only", () => {
    for (const params of [up, down, NAB_PARAMS]) {
      const base = trained(params);
      const sd = baselineSd(base, params);
      const shiftUp = run(
        base,
        Array.from({ length: 100 }, () => base.ewma.mean + 10 * sd),
        params,
      ).steps;
      const shiftDown = run(
        base,
        Array.from({ length: 100 }, () => base.ewma.mean - 10 * sd),
        params,
      ).steps;
      if (params.direction === "down") {
        expect(shiftUp.some((s) => s.fired)).toBe(false);
      } else {
        expect(shiftUp[0]).toMatchObject({ fired: true, reason: "spike" });
        expect(shiftUp[0]?.z).toBeCloseTo(10, 6);
      }
      if (params.direction === "up") {
        expect(shiftDown.some((s) => s.fired)).toBe(false);
      } else {
        expect(shiftDown[0]).toMatchObject({ fired: true, reason: "spike" });
      }
    }
  });

  it("fires a slow ramp that never crosses z_threshold in one step as a drift", () => {
    for (const params of [up, NAB_PARAMS]) {
      const base = trained(params);
      const sd = baselineSd(base, params);
      const ramp = Array.from({ length: 400 }, (_, i) => base.ewma.mean + 0.02 * sd * i);
      const { steps } = run(base, ramp, params);
      const first = steps.findIndex((s) => s.fired);
      expect(first).toBeGreaterThan(0);
      expect(steps[first]?.reason).toBe("drift");
      expect(Math.max(...steps.slice(0, first + 1).map((s) => s.z))).toBeLessThan(params.z_threshold);
    }
  });

  it("never fires on a constant series with a tiny wobble (sd floor)", () => {
    for (const [params, level] of [
      [NAB_PARAMS, 0.5],
      [NAB_PARAMS, 0],
      [LATENCY_PARAMS, 120],
    ] as const) {
      const wobble = Array.from({ length: 5000 }, (_, i) => level + (i % 2 ? 1e-9 : -1e-9) + (i % 97 === 0 ? 1e-7 : 0));
      const { steps } = run(emptyMetricState(), wobble, params);
      expect(steps.filter((s) => s.fired)).toHaveLength(0);
    }
  });

  it("does not let an isolated outlier move the baseline much (clip)", () => {
    const base = trained(NAB_PARAMS);
    const sd = baselineSd(base, NAB_PARAMS);
    const { state, steps } = run(base, [1e6], NAB_PARAMS);
    expect(steps[0]).toMatchObject({ fired: true, reason: "spike" });
    // The mean moves by at most alpha·clip·sd, the spread by a bounded share (scale_clip).
    expect(Math.abs(state.ewma.mean - base.ewma.mean)).toBeLessThanOrEqual(
      NAB_PARAMS.alpha * NAB_PARAMS.clip * sd * (1 + 1e-9),
    );
    expect(baselineSd(state, NAB_PARAMS)).toBeLessThan(1.5 * sd);
    // One burst, however large, is not a drift: the CUSUM takes clipped z-scores.
    expect(steps[0]?.cusum).toBeLessThanOrEqual(NAB_PARAMS.cusum_clip - NAB_PARAMS.cusum_k);
    const after = run(
      state,
      Array.from({ length: 50 }, () => base.ewma.mean),
      NAB_PARAMS,
    ).steps;
    expect(after.some((s) => s.fired)).toBe(false);
  });

  it("fires a recurring burst the first time only, and again once it is larger (novelty)", () => {
    const g = noise(2);
    let state = trained(NAB_PARAMS);
    const sd = baselineSd(state, NAB_PARAMS);
    const fired: boolean[] = [];
    // A 3-step burst to +20 sd every 100 steps, then one to +30 sd.
    for (const height of [20, 20, 20, 20, 30]) {
      const burst = [
        ...Array.from({ length: 97 }, () => 10 + g()),
        ...Array.from({ length: 3 }, () => 10 + height * sd),
      ];
      const { state: next, steps } = run(state, burst, NAB_PARAMS);
      fired.push(steps.slice(97).some((s) => s.fired));
      state = next;
    }
    expect(fired).toEqual([true, false, false, false, true]);
  });

  it("keeps firing while a novel spike lasts", () => {
    const base = trained(NAB_PARAMS);
    const sd = baselineSd(base, NAB_PARAMS);
    const { steps } = run(
      base,
      Array.from({ length: 20 }, () => base.ewma.mean + 8 * sd),
      NAB_PARAMS,
    );
    expect(steps.every((s) => s.fired)).toBe(true);
  });

  it("ignores non-finite observations", () => {
    const base = trained(NAB_PARAMS);
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const step = metricStep(base, v, NAB_PARAMS);
      expect(step.fired).toBe(false);
      expect(step.state).toBe(base);
    }
  });
});
