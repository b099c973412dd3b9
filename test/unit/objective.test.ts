import { describe, expect, it } from "vitest";
import {
  DEFAULT_DETECTION,
  resolveDetection,
  type DetectionConfig,
  type DetectionSettings,
} from "../../src/detect/config";
import { emptyDetectorState, type DetectorState } from "../../src/detect/detector-state";
import { detect, type Detection } from "../../src/detect/detectors";
import { OBJECTIVE_LEARN_SAMPLES, withObjective } from "../../src/detect/objective";
import { emptyTotals, type LatencySample, type Snapshot, type Totals } from "../../src/detect/types";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

function minus(a: Totals, b: Totals): Totals {
  const out = emptyTotals();
  for (const k of Object.keys(out) as (keyof Totals)[]) out[k] = a[k] - b[k];
  return out;
}

/**
 * A steady slow endpoint at 20 requests/min (p95 1.6 s, p99 4 s): 3 of every 20 requests are
 * over 1 s, one in 200 over 5 s. `factor` slows it down (then 1 in 5 is over 5 s). Requests count
 * as slow against the objective in force when they arrive, as the endpoint object counts them.
 */
class SlowEndpoint {
  /** Running sums of the minutes so far (index i: the first i minutes). */
  private readonly prefix: Totals[] = [emptyTotals()];
  state: DetectorState = emptyDetectorState();
  constructor(private readonly cfg: DetectionConfig) {}

  minute(factor = 1): Detection {
    const objective = withObjective(this.cfg, this.state.objective).slo.latency_ms;
    const i = this.prefix.length - 1;
    const slow = factor > 1 ? (objective >= 5000 ? 4 : 12) : objective >= 5000 ? (i % 10 === 0 ? 1 : 0) : 3;
    const total = this.prefix[i] ?? emptyTotals();
    this.prefix.push({ ...total, count: total.count + 20, slow: total.slow + slow });
    const last = (n: number): Totals =>
      minus(this.prefix[i + 1] ?? emptyTotals(), this.prefix[Math.max(0, i + 1 - n)] ?? emptyTotals());
    const latency: LatencySample = {
      window_minutes: 5,
      count: 100,
      p50: 300 * factor,
      p95: 1600 * factor,
      p99: 4000 * factor,
      max: 15_000,
    };
    const snapshot: Snapshot = {
      minute_start: T0 + i * MINUTE,
      minute: last(1),
      w5: last(5),
      w15: last(15),
      w30: last(30),
      w60: last(60),
      w360: last(360),
      w3d: last(3 * 1440),
      latency,
    };
    const d = detect(snapshot, this.state, this.cfg);
    this.state = d.state;
    return d;
  }

  run(n: number, factor = 1): Detection[] {
    return Array.from({ length: n }, () => this.minute(factor));
  }
}

const objectiveKinds = (d: Detection): string[] =>
  d.signals.map((s) => s.kind).filter((k) => k === "latency_p95_threshold" || k.startsWith("latency_burn"));
const cfgOf = (settings: DetectionSettings | null): DetectionConfig =>
  resolveDetection(settings, "GET", "/reports/:id/pdf");

describe("learnt default objectives", () => {
  it("marks only the objectives the user did not set as learnt", () => {
    const all = { latency_slo: true, p95_threshold: true, error_rate_threshold: true, availability_slo: true };
    expect(cfgOf(null).learn).toEqual(all);
    expect(cfgOf({ slo: { latency_ms: 800 } }).learn).toEqual({ ...all, latency_slo: false });
    expect(
      cfgOf({ endpoints: { "GET /reports/:id/pdf": { slo: { latency_target: 0.95 }, thresholds: { p95_ms: 900 } } } })
        .learn,
    ).toEqual({ ...all, latency_slo: false, p95_threshold: false });
    expect(
      cfgOf({
        slo: { availability: 0.999 },
        endpoints: { "GET /reports/:id/pdf": { thresholds: { error_rate: 0.02 } } },
      }).learn,
    ).toEqual({ ...all, availability_slo: false, error_rate_threshold: false });
  });

  it("never pages a steady slow endpoint on the defaults, and shows it as slower than the default objective", () => {
    const ep = new SlowEndpoint(cfgOf(null));
    const days = ep.run(36 * 60);
    expect(days.flatMap(objectiveKinds)).toEqual([]);
    const objective = ep.state.objective;
    expect(objective?.slower_than_default).toBe(true);
    // Learnt over its first hours: 1.25 x the p99 met (4 s), 3 x the p95 met (1.6 s).
    expect(objective?.latency_ms).toBe(5000);
    expect(objective?.p95_ms).toBe(4800);
    expect(ep.state.objective?.p95).toEqual([]);
  });

  it("still pages on the learnt objective when the slow endpoint gets slower", () => {
    const ep = new SlowEndpoint(cfgOf(null));
    ep.run(OBJECTIVE_LEARN_SAMPLES + 7 * 60);
    const worse = ep.run(60, 3.5);
    expect(worse.flatMap(objectiveKinds)).toContain("latency_burn_page");
    expect(worse.flatMap(objectiveKinds)).toContain("latency_p95_threshold");
  });

  it("keeps a user-set objective absolute: the same steady endpoint pages within minutes", () => {
    const ep = new SlowEndpoint(
      cfgOf({ slo: { latency_ms: 1000, latency_target: 0.99 }, thresholds: { p95_ms: 2000 } }),
    );
    const first = ep.run(30);
    const firstPage = first.findIndex((d) => objectiveKinds(d).includes("latency_burn_page"));
    expect(firstPage).toBeGreaterThanOrEqual(0);
    expect(firstPage).toBeLessThan(10);
    expect(ep.state.objective?.slower_than_default).toBe(false);
  });

  it("leaves a fast endpoint's objectives at the defaults (not slower than them)", () => {
    let state = emptyDetectorState();
    const cfg = cfgOf(null);
    const w = { ...emptyTotals(), count: 40 };
    for (let i = 0; i < OBJECTIVE_LEARN_SAMPLES; i++) {
      const snapshot: Snapshot = {
        minute_start: T0 + i * MINUTE,
        minute: w,
        w5: w,
        w15: w,
        w30: w,
        w60: w,
        w360: w,
        w3d: w,
        latency: { window_minutes: 5, count: 200, p50: 80, p95: 180, p99: 260, max: 400 },
      };
      state = detect(snapshot, state, cfg).state;
    }
    expect(state.objective).toMatchObject({
      latency_ms: DEFAULT_DETECTION.slo.latency_ms,
      p95_ms: DEFAULT_DETECTION.thresholds.p95_ms,
      slower_than_default: false,
    });
  });
});
