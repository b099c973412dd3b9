import { describe, expect, it } from "vitest";
import { errorBudget } from "./slo";
import { sparkPoints } from "./sparkline";

describe("error budget", () => {
  it("measures availability against the objective and the share of the budget used", () => {
    const b = errorBudget(10_000, 25, 0.995);
    expect(b.availability).toBeCloseTo(0.9975);
    expect(b.allowed).toBeCloseTo(50);
    expect(b.consumed).toBeCloseTo(0.5);
    expect(b.remaining).toBeCloseTo(0.5);
    expect(b.met).toBe(true);
  });

  it("clamps the remaining budget at zero when it is overspent", () => {
    const b = errorBudget(7200, 304, 0.995);
    expect(b.consumed).toBeGreaterThan(8);
    expect(b.remaining).toBe(0);
    expect(b.met).toBe(false);
  });

  it("has nothing to say without requests", () => {
    expect(errorBudget(0, 0, 0.995)).toMatchObject({ availability: null, consumed: null, remaining: null, met: null });
  });
});

describe("sparkline", () => {
  it("scales values into the box, the maximum at the top", () => {
    expect(sparkPoints([0, 5, 10], 100, 22)).toBe("0.0,21.0 50.0,11.0 100.0,1.0");
    expect(sparkPoints([], 100, 20)).toBe("");
    expect(sparkPoints([0, 0], 10, 10)).toBe("0.0,9.0 10.0,9.0");
  });
});
