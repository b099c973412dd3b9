import { describe, expect, it } from "vitest";
import { explain } from "../../src/detect/explain";
import type { Evidence, Incident } from "../../src/detect/incident";
import type { Figures } from "../../src/detect/types";

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 5, 12, 0, 0);

const figures: Figures = {
  requests_per_minute: 100,
  error_rate: 0.001,
  client_error_rate: 0.01,
  silent_failure_rate: 0,
  p50_ms: 60,
  p95_ms: 118,
  p99_ms: 300,
  availability_burn_1h: 0.2,
  latency_burn_1h: 0,
};

function evidence(e: Pick<Evidence, "kind" | "family" | "unit" | "observed"> & Partial<Evidence>): Evidence {
  return {
    level: "warning",
    window: "5m",
    peak: e.observed,
    baseline: null,
    threshold: null,
    first_event_at: T,
    last_event_at: T + 35 * MINUTE,
    ...e,
  };
}

function incident(signals: Evidence[], overrides: Partial<Incident> = {}): Incident {
  return {
    id: "inc_test",
    service: "shop",
    method: "GET",
    route: "/orders/:id",
    severity: "WARNING",
    status: "open",
    opened_at: T,
    escalated_at: null,
    resolved_at: null,
    last_event_at: T + 35 * MINUTE,
    clean_minutes: 0,
    severity_score: 0.5,
    health_score: 50,
    action: "CONTINUE",
    signals,
    figures_at_open: figures,
    figures,
    explanation: "",
    ...overrides,
  };
}

const latency = evidence({
  kind: "latency_p95_baseline",
  family: "latency",
  unit: "ms",
  baseline: 120,
  observed: 410,
  peak: 520,
});

describe("explain", () => {
  it("tells how p95 latency rose, and that the 5xx rate stayed put", () => {
    expect(explain(incident([latency]))).toBe(
      "Warning: p95 latency of GET /orders/:id rose from 120 ms to 410 ms over 35 min while the 5xx rate stayed at 0.1%.",
    );
  });

  it("mentions the 5xx rate, its threshold and the latency that stayed put for an error incident", () => {
    const text = explain(
      incident(
        [
          evidence({
            kind: "error_rate_threshold",
            family: "availability",
            unit: "ratio",
            observed: 0.09,
            peak: 0.12,
            threshold: 0.05,
            last_event_at: T + 10 * MINUTE,
          }),
        ],
        { action: "RETRY" },
      ),
    );
    expect(text).toBe(
      "Warning: 5xx rate of GET /orders/:id reached 12%, above the 5.0% threshold, over 10 min while p95 latency stayed at 118 ms.",
    );
  });

  it("says no requests came for a traffic stop, and what is usual", () => {
    const text = explain(
      incident([
        evidence({
          kind: "traffic_stop",
          family: "traffic",
          unit: "per_minute",
          observed: 0,
          baseline: 60,
          last_event_at: T + 7 * MINUTE,
        }),
      ]),
    );
    expect(text).toContain("GET /orders/:id received no requests for 7 min");
    expect(text).toContain("usually 60 requests/min");
  });

  it("leads a page-level critical incident with the burn, and lists every signal", () => {
    const burn = evidence({
      kind: "availability_burn_page",
      family: "availability",
      unit: "burn_rate",
      level: "page",
      observed: 18,
      peak: 22.5,
      window: "1h+5m",
    });
    const text = explain(incident([burn, latency], { severity: "CRITICAL" }));
    expect(text.startsWith("Critical (page-level error-budget burn): ")).toBe(true);
    expect(text).toContain("spending its availability error budget 22.5x faster than the SLO allows (1h+5m windows)");
    expect(text).toContain("; p95 latency of GET /orders/:id rose from 120 ms to 410 ms");
  });

  it("leads a critical incident of agreeing families as such", () => {
    const errors = evidence({
      kind: "error_rate_baseline",
      family: "availability",
      unit: "ratio",
      observed: 0.04,
      baseline: 0.002,
    });
    const text = explain(incident([latency, errors], { severity: "CRITICAL" }));
    expect(text.startsWith("Critical (independent signals agree): p95 latency")).toBe(true);
    expect(text).toContain("5xx rate of GET /orders/:id rose from 0.2% to 4.0%");
  });

  it("shows long durations in hours and large latencies in seconds", () => {
    const long = evidence({
      kind: "latency_p95_threshold",
      family: "latency",
      unit: "ms",
      observed: 9000,
      peak: 12_500,
      threshold: 2000,
      last_event_at: T + 150 * MINUTE,
    });
    expect(explain(incident([long]))).toContain("reached 12.5 s, above the 2000 ms threshold, over 2.5 h");
  });

  it("tells a resolved incident's clean run", () => {
    const text = explain(incident([latency], { status: "resolved", resolved_at: T + 60 * MINUTE, clean_minutes: 15 }));
    expect(text.endsWith(" Resolved after 15 clean minutes.")).toBe(true);
  });

  it("falls back to the severity without evidence", () => {
    expect(explain(incident([]))).toBe("GET /orders/:id is warning.");
  });
});
