import { describe, expect, it } from "vitest";
import {
  DEFAULT_DETECTION,
  detectionSettings,
  resolveDetection,
  type DetectionSettings,
} from "../../src/detect/config";

describe("resolveDetection", () => {
  it("gives the defaults without settings", () => {
    const cfg = resolveDetection(null, "GET", "/orders/:id");
    expect(cfg).toEqual({
      slo: { availability: 0.995, latency_target: 0.99, latency_ms: 1000 },
      thresholds: { p95_ms: 2000, error_rate: 0.05, silent_failure_rate: 0.05, inconsistency_rate: 0.05 },
      min_requests: 20,
      min_events: 5,
      resolve_after_minutes: 15,
      apdex_t_ms: 500,
      consumer_objectives: {},
      // Nothing set: the latency objective and p95 threshold are learnt from the endpoint.
      learn: { latency_slo: true, p95_threshold: true, error_rate_threshold: true, availability_slo: true },
    });
    expect(resolveDetection({}, "GET", "/orders/:id")).toEqual({
      ...DEFAULT_DETECTION,
      learn: { latency_slo: true, p95_threshold: true, error_rate_threshold: true, availability_slo: true },
    });
  });

  it("layers the service's settings, then the endpoint's override, field by field", () => {
    const settings: DetectionSettings = detectionSettings.parse({
      slo: { availability: 0.999 },
      thresholds: { p95_ms: 800, error_rate: 0.02 },
      min_requests: 50,
      endpoints: {
        "GET /orders/:id": { slo: { latency_ms: 300 }, thresholds: { p95_ms: 400 }, resolve_after_minutes: 5 },
        "POST /orders": { min_events: 2 },
      },
    });
    const get = resolveDetection(settings, "GET", "/orders/:id");
    expect(get.slo).toEqual({ availability: 0.999, latency_target: 0.99, latency_ms: 300 });
    expect(get.thresholds).toEqual({
      p95_ms: 400,
      error_rate: 0.02,
      silent_failure_rate: 0.05,
      inconsistency_rate: 0.05,
    });
    expect(get).toMatchObject({ min_requests: 50, min_events: 5, resolve_after_minutes: 5 });

    const post = resolveDetection(settings, "POST", "/orders");
    expect(post.thresholds.p95_ms).toBe(800);
    expect(post).toMatchObject({ min_requests: 50, min_events: 2, resolve_after_minutes: 15 });

    // Another endpoint gets the service's settings only; the method is part of the key.
    expect(resolveDetection(settings, "DELETE", "/orders/:id").thresholds.p95_ms).toBe(800);
    expect(resolveDetection(settings, "DELETE", "/orders/:id").slo.latency_ms).toBe(1000);
  });

  it("does not change the defaults it starts from", () => {
    const before = structuredClone(DEFAULT_DETECTION);
    resolveDetection({ slo: { availability: 0.9 }, thresholds: { p95_ms: 1 } }, "GET", "/x");
    expect(DEFAULT_DETECTION).toEqual(before);
  });
});

describe("detectionSettings", () => {
  it("accepts a full valid document", () => {
    expect(
      detectionSettings.safeParse({
        slo: { availability: 0.99, latency_target: 0.95, latency_ms: 250 },
        thresholds: { p95_ms: 500, error_rate: 0.1, silent_failure_rate: 0.01, inconsistency_rate: 0.01 },
        min_requests: 1,
        min_events: 1,
        resolve_after_minutes: 1440,
        endpoints: { "GET /orders/:id": { min_requests: 10 } },
      }).success,
    ).toBe(true);
  });

  it.each([
    ["an unknown field", { surprise: true }],
    ["an unknown field in the SLO", { slo: { availability: 0.99, budget: 1 } }],
    ["an unknown field in an endpoint override", { endpoints: { "GET /x": { colour: "red" } } }],
    ["an availability of 1.5", { slo: { availability: 1.5 } }],
    ["an availability of 1", { slo: { availability: 1 } }],
    ["a zero error-rate threshold", { thresholds: { error_rate: 0 } }],
    ["a negative latency", { slo: { latency_ms: -1 } }],
    ["a fractional min_requests", { min_requests: 2.5 }],
    ["resolve_after_minutes past a day", { resolve_after_minutes: 1441 }],
    ["an endpoint key without a method", { endpoints: { "/orders/:id": {} } }],
    ["an endpoint key with a lower-case method", { endpoints: { "get /orders/:id": {} } }],
    ["an endpoint key whose route does not start with /", { endpoints: { "GET orders": {} } }],
  ])("refuses %s", (_, input) => {
    expect(detectionSettings.safeParse(input).success).toBe(false);
  });

  it("refuses more than 200 endpoint overrides", () => {
    const endpoints = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`GET /r${i}`, {}]));
    expect(detectionSettings.safeParse({ endpoints }).success).toBe(false);
    delete endpoints["GET /r0"];
    expect(detectionSettings.safeParse({ endpoints }).success).toBe(true);
  });
});
