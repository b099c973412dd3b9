import { describe, expect, it } from "vitest";
import { backoffMs } from "../../src/lib/backoff";
import { errorMessage } from "../../src/lib/errors";
import { flushBackoffMs } from "../../src/monitor/minute-counts";

describe("backoffMs", () => {
  it("grows by the factor from the first delay and spreads by the jitter", () => {
    const b = { firstMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.25 };
    expect(backoffMs(b, 1, () => 0.5)).toBe(1000);
    expect(backoffMs(b, 3, () => 0.5)).toBe(4000);
    expect(backoffMs(b, 1, () => 0)).toBe(750);
    expect(backoffMs(b, 1, () => 1)).toBe(1250);
    expect(backoffMs(b, 0, () => 0.5)).toBe(1000);
  });

  it("caps the base, and the jittered delay only when asked", () => {
    const b = { firstMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.25 };
    expect(backoffMs(b, 20, () => 1)).toBe(75_000);
    expect(backoffMs({ ...b, capJittered: true }, 20, () => 1)).toBe(60_000);
  });

  it("matches the endpoint object's flush backoff (the same curve, not a second formula)", () => {
    const flush = { firstMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.25, capJittered: true };
    for (const failures of [0, 1, 2, 5, 7, 12]) {
      for (const r of [0, 0.3, 0.99])
        expect(backoffMs(flush, failures, () => r)).toBe(flushBackoffMs(failures, () => r));
    }
  });
});

describe("errorMessage", () => {
  it("gives an Error's message and any other value as a string", () => {
    expect(errorMessage(new TypeError("bad"))).toBe("bad");
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage(42)).toBe("42");
  });
});
