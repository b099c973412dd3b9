import { describe, expect, it } from "vitest";
import { DEFAULT_DETECTION } from "../../src/detect/config";
import { emptyDetectorState, type DetectorState } from "../../src/detect/detector-state";
import { detect, type Detection } from "../../src/detect/detectors";
import { emptyTotals, type LatencySample, type Signal, type Snapshot, type Totals } from "../../src/detect/types";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const cfg = DEFAULT_DETECTION;

function totals(t: Partial<Totals>): Totals {
  return { ...emptyTotals(), ...t };
}

function sum(list: readonly Totals[]): Totals {
  const out = emptyTotals();
  for (const t of list) for (const k of Object.keys(out) as (keyof Totals)[]) out[k] += t[k];
  return out;
}

function latency(p95: number, p50 = p95 / 2): LatencySample {
  return { window_minutes: 5, count: 500, p50, p95, p99: p95 * 1.5, max: p95 * 2 };
}

/** A snapshot whose every window holds the same totals (for one-off judgements with a fresh state). */
function flat(t: Partial<Totals>, overrides: Partial<Snapshot> = {}): Snapshot {
  const w = totals(t);
  return { minute_start: T0, minute: w, w5: w, w15: w, w30: w, w60: w, w360: w, w3d: w, latency: null, ...overrides };
}

/** Simulates an endpoint minute by minute: keeps the per-minute history and the detector state. */
class Endpoint {
  private readonly history: Totals[] = [];
  state: DetectorState = emptyDetectorState();

  /** Evaluates one more minute of `t` (and latency) and returns what the detectors made of it. */
  minute(t: Partial<Totals>, lat: LatencySample | null = null): Detection {
    this.history.push(totals(t));
    const last = (n: number): Totals => sum(this.history.slice(-n));
    const snapshot: Snapshot = {
      minute_start: T0 + (this.history.length - 1) * MINUTE,
      minute: last(1),
      w5: last(5),
      w15: last(15),
      w30: last(30),
      w60: last(60),
      w360: last(360),
      w3d: last(3 * 1440),
      latency: lat,
    };
    const d = detect(snapshot, this.state, cfg);
    this.state = d.state;
    return d;
  }

  /** `n` minutes of the same traffic; returns every minute's detection. */
  run(
    n: number,
    t: Partial<Totals> | ((i: number) => Partial<Totals>),
    lat: (i: number) => LatencySample | null = () => null,
  ): Detection[] {
    return Array.from({ length: n }, (_, i) => this.minute(typeof t === "function" ? t(i) : t, lat(i)));
  }
}

const kinds = (signals: readonly Signal[]): string[] => signals.map((s) => s.kind).sort();
const allKinds = (ds: readonly Detection[]): Set<string> => new Set(ds.flatMap((d) => kinds(d.signals)));
/** 100 requests a minute, one 5xx every fifth minute (0.2%), p95 about 120 ms. */
const healthy = (i: number): Partial<Totals> => ({ count: 100, status_5xx: i % 5 === 4 ? 1 : 0, status_4xx: 1 });
const healthyLatency = (i: number): LatencySample => latency(i % 2 ? 115 : 125);

describe("detect: latency", () => {
  it("raises latency_p95_threshold when p95 is over the static threshold", () => {
    const over = detect(flat({ count: 100 }, { latency: latency(2500) }), emptyDetectorState(), cfg);
    expect(kinds(over.signals)).toEqual(["latency_p95_threshold"]);
    expect(over.signals[0]).toMatchObject({
      family: "latency",
      level: "warning",
      observed: 2500,
      threshold: 2000,
      unit: "ms",
      window: "5m",
    });
    expect(detect(flat({ count: 100 }, { latency: latency(1999) }), emptyDetectorState(), cfg).signals).toEqual([]);
  });

  it("raises latency_p95_baseline when p95 triples after 60 learnt minutes", () => {
    const e = new Endpoint();
    const learning = e.run(60, healthy, healthyLatency);
    expect(allKinds(learning).size).toBe(0);
    const slow = e.run(3, healthy, () => latency(360, 60));
    const signal = slow.flatMap((d) => d.signals).find((s) => s.kind === "latency_p95_baseline");
    expect(signal).toBeDefined();
    expect(signal?.observed).toBe(360);
    expect(signal?.baseline).toBeGreaterThan(110);
    expect(signal?.baseline).toBeLessThan(130);
    // p50 did not move, nothing but latency fired.
    expect(allKinds(slow)).toEqual(new Set(["latency_p95_baseline"]));
  });
});

describe("detect: errors", () => {
  it("raises only an info client_errors signal on a 4xx spike", () => {
    const e = new Endpoint();
    expect(allKinds(e.run(60, healthy, healthyLatency)).size).toBe(0);
    const spike = e.run(5, (i) => ({ ...healthy(i), status_4xx: 50 }), healthyLatency);
    const signals = spike.flatMap((d) => d.signals);
    expect(signals.length).toBeGreaterThan(0);
    for (const s of signals) expect(s).toMatchObject({ kind: "client_errors", family: "client", level: "info" });
  });

  it("raises error_rate_threshold on a 5xx rate over the threshold with volume", () => {
    const d = detect(flat({ count: 100, status_5xx: 10 }), emptyDetectorState(), cfg);
    const s = d.signals.find((x) => x.kind === "error_rate_threshold");
    expect(s).toMatchObject({ family: "availability", level: "warning", observed: 0.1, threshold: 0.05, window: "5m" });
    expect(d.figures.error_rate).toBe(0.1);
  });

  it("raises nothing on 1 failure out of 2 requests", () => {
    const d = detect(flat({ count: 2, status_5xx: 1 }), emptyDetectorState(), cfg);
    expect(d.signals).toEqual([]);
    // The same rate with volume does fire.
    expect(kinds(detect(flat({ count: 200, status_5xx: 100 }), emptyDetectorState(), cfg).signals)).toContain(
      "error_rate_threshold",
    );
  });

  it("raises silent_failures on a rate of empty 200s", () => {
    const e = new Endpoint();
    e.run(60, healthy, healthyLatency);
    const d = e.run(3, (i) => ({ ...healthy(i), silent: 20 }), healthyLatency);
    const s = d.flatMap((x) => x.signals).find((x) => x.kind === "silent_failures");
    expect(s).toMatchObject({ family: "silent", level: "warning", unit: "ratio" });
    // Judged against a usual rate of (the floor of) nothing silent.
    expect(s?.baseline).toBeLessThan(0.002);
    expect(s?.observed).toBeGreaterThanOrEqual(0.04);
    expect(d.at(-1)?.figures.silent_failure_rate).toBeCloseTo(60 / 500, 6);
  });
});

describe("detect: burn rates", () => {
  const quiet = totals({ count: 30_000, status_5xx: 0 });

  it("pages when the 1h and 5m windows both burn the availability budget 14.4x", () => {
    // Budget 0.5%: 7.5% (15x) over the hour, 8% (16x) over 5 minutes.
    const s = flat(
      { count: 100 },
      {
        w5: totals({ count: 500, status_5xx: 40 }),
        w60: totals({ count: 6000, status_5xx: 450 }),
        w30: quiet,
        w360: quiet,
        w3d: quiet,
      },
    );
    const d = detect(s, emptyDetectorState(), cfg);
    const page = d.signals.find((x) => x.kind === "availability_burn_page");
    expect(page).toMatchObject({
      family: "availability",
      level: "page",
      unit: "burn_rate",
      window: "1h+5m",
      threshold: 14.4,
    });
    expect(page?.observed).toBeCloseTo(15, 6);
    expect(d.figures.availability_burn_1h).toBeCloseTo(15, 6);
  });

  it("does not page when only the long window burns", () => {
    const s = flat(
      { count: 100 },
      {
        w5: totals({ count: 500, status_5xx: 1 }),
        w60: totals({ count: 6000, status_5xx: 450 }),
        w30: quiet,
        w360: quiet,
        w3d: quiet,
      },
    );
    const d = detect(s, emptyDetectorState(), cfg);
    expect(kinds(d.signals)).not.toContain("availability_burn_page");
    expect(d.signals.filter((x) => x.level === "page")).toEqual([]);
  });

  it("pages on a latency burn counted from slow requests", () => {
    // Budget 1% slower than 1000 ms: 1000 of 6000 (16.7x) over the hour, 100 of 500 (20x) over 5 minutes.
    const s = flat(
      { count: 100 },
      {
        w5: totals({ count: 500, slow: 100 }),
        w60: totals({ count: 6000, slow: 1000 }),
        w30: quiet,
        w360: quiet,
        w3d: quiet,
      },
    );
    const d = detect(s, emptyDetectorState(), cfg);
    expect(kinds(d.signals)).toEqual(["latency_burn_page"]);
    expect(d.signals[0]).toMatchObject({ family: "latency", level: "page", window: "1h+5m" });
    expect(d.figures.latency_burn_1h).toBeCloseTo(1000 / 6000 / 0.01, 6);
  });
});

describe("detect: traffic", () => {
  const steady = { count: 60 };

  it("raises traffic_drop when traffic falls to 20% after a learnt 60/min", () => {
    const e = new Endpoint();
    expect(allKinds(e.run(60, steady)).size).toBe(0);
    const low = e.run(6, { count: 12 });
    const first = low.findIndex((d) => d.signals.length > 0);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(5);
    const s = low[first]?.signals[0];
    expect(s).toMatchObject({ kind: "traffic_drop", family: "traffic", level: "warning", unit: "per_minute" });
    // The baseline (learnt 60/min) gives way only a little to the drop.
    expect(s?.baseline).toBeGreaterThan(54);
    expect(s?.baseline).toBeLessThanOrEqual(60.5);
  });

  it("raises traffic_stop when no request comes at all", () => {
    const e = new Endpoint();
    e.run(60, steady);
    const stopped = e.run(5, { count: 0 });
    const last = stopped.at(-1)?.signals ?? [];
    expect(kinds(last)).toEqual(["traffic_stop"]);
    expect(last[0]).toMatchObject({ observed: 0, window: "5m" });
    expect(last[0]?.baseline).toBeGreaterThan(54);
    expect(last[0]?.baseline).toBeLessThanOrEqual(60.5);
  });

  it("does not raise traffic_drop on a slow, diurnal-like decline of 1% a minute", () => {
    const e = new Endpoint();
    e.run(60, steady);
    const decline = e.run(150, (i) => ({ count: Math.round(60 * 0.99 ** (i + 1)) }));
    expect(decline.at(-1)?.figures.requests_per_minute).toBeLessThan(15);
    expect(allKinds(decline).size).toBe(0);
  });
});
