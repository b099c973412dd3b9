import { describe, expect, it } from "vitest";
import type { Signal } from "../../src/api-types";
import { surgeText } from "./surge";

const surge: Signal = {
  kind: "traffic_surge",
  family: "traffic",
  level: "info",
  observed: 80,
  baseline: 20,
  threshold: 60,
  unit: "per_minute",
  window: "5m",
};

describe("surgeText", () => {
  it("is null without a surge signal", () => {
    expect(surgeText([{ ...surge, kind: "traffic_drop" }])).toBeNull();
  });

  it("names the rate and the usual one", () => {
    expect(surgeText([surge])).toBe("Traffic surge: 80 requests/min over 5 minutes (4.0x the usual 20/min).");
  });

  it("names the 429s a rate limiter answered when they rose with the surge", () => {
    const text = surgeText([{ ...surge, level: "warning", rate_limited: { share: 0.3, usual: 0.01 } }]);
    expect(text).toBe(
      "Traffic surge: 80 requests/min over 5 minutes (4.0x the usual 20/min), with latency, errors or 429s rising, " +
        "30% of requests answered 429 (usually 1.0%).",
    );
  });
});
