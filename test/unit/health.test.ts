import { describe, expect, it } from "vitest";
import { AGREEMENT_MINUTES, assess, recommend, rollup } from "../../src/detect/health";
import type { Signal } from "../../src/detect/types";

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 5, 12, 0, 0);

function signal(kind: Signal["kind"], overrides: Partial<Signal> = {}): Signal {
  const family: Record<Signal["kind"], Signal["family"]> = {
    latency_p95_threshold: "latency",
    latency_p95_baseline: "latency",
    latency_p50_baseline: "latency",
    latency_burn_page: "latency",
    latency_burn_ticket: "latency",
    error_rate_threshold: "availability",
    error_rate_baseline: "availability",
    availability_burn_page: "availability",
    availability_burn_ticket: "availability",
    silent_failures: "silent",
    inconsistencies: "consistency",
    traffic_drop: "traffic",
    traffic_stop: "traffic",
    traffic_surge: "traffic",
    probe_failed: "probe",
    client_errors: "client",
    consumer_objective: "consumer",
  };
  return {
    kind,
    family: family[kind],
    level: kind === "client_errors" ? "info" : "warning",
    observed: 0.1,
    baseline: null,
    threshold: null,
    unit: "ratio",
    window: "5m",
    strength: 0.5,
    ...overrides,
  };
}

describe("assess", () => {
  it("a surge with trouble is a WARNING that does not count as a second family agreeing", () => {
    const surge = signal("traffic_surge", { unit: "per_minute" });
    expect(assess([surge], {}, T).health).toBe("WARNING");
    const withLatency = assess([surge, signal("latency_p95_baseline")], {}, T);
    expect(withLatency.health).toBe("WARNING");
    expect(withLatency.families).toEqual(["latency"]);
    // An info surge alone changes nothing.
    expect(assess([{ ...surge, level: "info" }], {}, T).health).toBe("NORMAL");
    // A traffic drop still agrees with latency.
    expect(assess([signal("traffic_drop"), signal("latency_p95_baseline")], {}, T).health).toBe("CRITICAL");
  });

  it("is NORMAL, 100 and CONTINUE without signals", () => {
    const a = assess([], {}, T);
    expect(a).toMatchObject({
      health: "NORMAL",
      health_score: 100,
      severity_score: 0,
      action: "CONTINUE",
      families: [],
    });
  });

  it("is WARNING on one warning signal", () => {
    const a = assess([signal("latency_p95_baseline", { unit: "ms", strength: 0.5 })], {}, T);
    expect(a.health).toBe("WARNING");
    expect(a.severity_score).toBeCloseTo(0.5, 6);
    expect(a.health_score).toBe(50);
    expect(a.families).toEqual(["latency"]);
    expect(a.recent).toEqual({ latency: T });
  });

  it("is CRITICAL when two families fire within the agreement window", () => {
    const earlier = assess([signal("latency_p95_baseline", { unit: "ms" })], {}, T);
    const later = assess([signal("error_rate_baseline")], earlier.recent, T + (AGREEMENT_MINUTES - 1) * MINUTE);
    expect(later.health).toBe("CRITICAL");
    expect(later.families.sort()).toEqual(["availability", "latency"]);
    expect(later.severity_score).toBeGreaterThanOrEqual(0.7);
  });

  it("is only WARNING when the other family fired longer ago than the agreement window", () => {
    const earlier = assess([signal("latency_p95_baseline", { unit: "ms" })], {}, T);
    const later = assess([signal("error_rate_baseline")], earlier.recent, T + AGREEMENT_MINUTES * MINUTE);
    expect(later.health).toBe("WARNING");
    expect(later.families).toEqual(["availability"]);
  });

  it("is CRITICAL on two families in the same minute", () => {
    expect(assess([signal("silent_failures"), signal("traffic_drop", { unit: "per_minute" })], {}, T).health).toBe(
      "CRITICAL",
    );
  });

  it("is only WARNING on two signals of the same family", () => {
    const a = assess(
      [signal("error_rate_threshold"), signal("error_rate_baseline")],
      { availability: T - 3 * MINUTE },
      T,
    );
    expect(a.health).toBe("WARNING");
    expect(a.families).toEqual(["availability"]);
  });

  it("is CRITICAL on a page-level signal alone", () => {
    const a = assess([signal("availability_burn_page", { level: "page", unit: "burn_rate", observed: 20 })], {}, T);
    expect(a.health).toBe("CRITICAL");
    expect(a.action).toBe("ESCALATE");
  });

  it("stays NORMAL on info signals only, and does not remember them", () => {
    const a = assess([signal("client_errors")], {}, T);
    expect(a.health).toBe("NORMAL");
    expect(a.action).toBe("CONTINUE");
    expect(a.recent).toEqual({});
    expect(a.health_score).toBeLessThan(100);
    expect(a.health_score).toBeGreaterThan(80);
  });

  it("does not turn a remembered family alone into a warning", () => {
    expect(assess([], { latency: T - MINUTE, availability: T - MINUTE }, T).health).toBe("NORMAL");
  });
});

describe("recommend", () => {
  it("continues when NORMAL whatever the signals", () => {
    expect(recommend("NORMAL", [signal("error_rate_threshold", { observed: 0.9 })])).toBe("CONTINUE");
  });

  it("on WARNING: retries 5xx, reprocesses silent or inconsistent answers, escalates traffic, continues on latency", () => {
    expect(recommend("WARNING", [signal("error_rate_baseline")])).toBe("RETRY");
    expect(recommend("WARNING", [signal("silent_failures")])).toBe("REPROCESS");
    expect(recommend("WARNING", [signal("inconsistencies")])).toBe("REPROCESS");
    expect(recommend("WARNING", [signal("traffic_drop", { unit: "per_minute" })])).toBe("ESCALATE");
    expect(recommend("WARNING", [signal("traffic_stop", { unit: "per_minute" })])).toBe("ESCALATE");
    expect(recommend("WARNING", [signal("latency_p95_threshold", { unit: "ms", observed: 5000 })])).toBe("CONTINUE");
  });

  it("on CRITICAL: halts when the endpoint is effectively down, escalates otherwise", () => {
    expect(recommend("CRITICAL", [signal("traffic_stop", { unit: "per_minute", observed: 0 })])).toBe("HALT");
    expect(recommend("CRITICAL", [signal("error_rate_threshold", { observed: 0.5 })])).toBe("HALT");
    expect(recommend("CRITICAL", [signal("error_rate_threshold", { observed: 0.49 })])).toBe("ESCALATE");
    // A burn rate of 50x is not a 50% error rate.
    expect(
      recommend("CRITICAL", [signal("availability_burn_page", { level: "page", unit: "burn_rate", observed: 50 })]),
    ).toBe("ESCALATE");
    expect(recommend("CRITICAL", [signal("latency_p95_baseline", { unit: "ms" }), signal("silent_failures")])).toBe(
      "ESCALATE",
    );
  });

  it("is what assess reports", () => {
    const down = assess(
      [signal("error_rate_threshold", { observed: 0.8 }), signal("latency_p95_threshold", { unit: "ms" })],
      {},
      T,
    );
    expect(down.health).toBe("CRITICAL");
    expect(down.action).toBe("HALT");
  });
});

describe("rollup", () => {
  it("takes the worst health and severity, and counts each health", () => {
    const r = rollup([
      { health: "NORMAL", severity_score: 0 },
      { health: "CRITICAL", severity_score: 0.8 },
      { health: "WARNING", severity_score: 0.5 },
      { health: "NORMAL", severity_score: 0.1 },
    ]);
    expect(r).toEqual({
      health: "CRITICAL",
      severity_score: 0.8,
      health_score: 20,
      counts: { NORMAL: 2, WARNING: 1, CRITICAL: 1 },
    });
  });

  it("is NORMAL and 100 for nothing", () => {
    expect(rollup([])).toEqual({
      health: "NORMAL",
      severity_score: 0,
      health_score: 100,
      counts: { NORMAL: 0, WARNING: 0, CRITICAL: 0 },
    });
  });

  it("keeps a warning over normal items", () => {
    expect(
      rollup([
        { health: "WARNING", severity_score: 0.4 },
        { health: "NORMAL", severity_score: 0 },
      ]).health,
    ).toBe("WARNING");
  });
});
