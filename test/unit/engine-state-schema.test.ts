/**
 * Issue 14, JSON in storage parsed with zod: the engine state and the daily profile the endpoint
 * object stores (src/detect/state-schemas.ts) accept every state the real engine writes, minute
 * after minute, and return exactly what JSON.parse gives (the schema changes nothing the cast
 * read); states as older versions stored them parse too. The corrupt-state case goes through the
 * object (test/engine-state-rows.test.ts).
 */
import { describe, expect, it } from "vitest";
import { resolveDetection, type DetectionConfig } from "../../src/detect/config";
import { emptyDetectorState } from "../../src/detect/detector-state";
import { emptyEngineState, evaluateMinute, type EngineState } from "../../src/detect/evaluate";
import type { Incident } from "../../src/detect/incident";
import { IncidentSchema } from "../../src/detect/incident-schema";
import { emptyObjective } from "../../src/detect/objective";
import { emptyProfile } from "../../src/detect/season";
import { EngineStateSchema, SeasonProfileSchema } from "../../src/detect/state-schemas";
import { readEngineState, readSeasonProfile } from "../../src/monitor/engine-state-rows";
import { annotated, located } from "../../src/monitor/evaluation-steps";
import { annotateOpened } from "../../src/monitor/follow-up";
import { emptyBreakdown, GROUP_SKETCH_ACCURACY, type Breakdown } from "../../src/breakdown/top-k";
import { LatencySketch } from "../../src/detect/sketch";
import {
  emptyTotals,
  type ConsumerBreach,
  type LatencySample,
  type Snapshot,
  type Totals,
} from "../../src/detect/types";
import byVersion from "../fixtures/engine-states-by-version.json";
import { prng } from "../prng";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const endpoint = { service: "svc", method: "GET", route: "/orders/:id" };

/** One minute of generated traffic: expected requests and the shares of each kind of answer. */
interface Shape {
  rate: number;
  p5xx?: number;
  p4xx?: number;
  p429?: number;
  silent?: number;
  inconsistent?: number;
  median?: number;
  probeFails?: boolean;
  consumerBreach?: boolean;
}

/** Runs `minutes` minutes of `shape(i, rand)` through evaluateMinute as the endpoint object does, calling `check` after each. */
function drive(
  seed: number,
  minutes: number,
  shape: (i: number, rand: () => number) => Shape,
  check: (state: EngineState, minute: number) => void,
  cfg: DetectionConfig = resolveDetection(null, endpoint.method, endpoint.route),
): EngineState {
  const rand = prng(seed);
  const prefix: Totals[] = [emptyTotals()];
  const recent: LatencySketch[] = [];
  const poisson = (lambda: number): number => {
    if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * (rand() + rand() + rand() - 1.5) * 2));
    let k = 0;
    for (let p = rand(), l = Math.exp(-lambda); p > l; p *= rand()) k++;
    return k;
  };
  const sum = (n: number): Totals => {
    const a = prefix[Math.max(0, prefix.length - 1 - n)] ?? emptyTotals();
    const b = prefix[prefix.length - 1] ?? emptyTotals();
    const out = emptyTotals();
    for (const k of Object.keys(out) as (keyof Totals)[]) out[k] = b[k] - a[k];
    return out;
  };
  // The object's follow-up context: a maintenance window over the first outage, and a deploy before it.
  const ctx = {
    windows: [
      {
        id: "mw_1",
        service: endpoint.service,
        endpoints: null,
        starts_at: T0 + 110 * MINUTE,
        ends_at: T0 + 160 * MINUTE,
        reason: null,
        created_at: T0,
      },
    ],
    deploys: [
      {
        id: "dep_1",
        service: endpoint.service,
        version: "v2",
        at: T0 + 100 * MINUTE,
        description: null,
        source: "api" as const,
      },
    ],
  };
  const annotate = (i: Incident): Incident => annotateOpened(i, ctx, 6 * 60 * MINUTE);
  // Most of the failures come from one consumer: the open incident's concentration names it.
  const breakdown = (): Breakdown => {
    const b = emptyBreakdown();
    const l = { a: GROUP_SKETCH_ACCURACY, z: 0, b: [] as [number, number][] };
    b.consumer.top = [{ k: "acme", w: 100, n: 100, e: 40, s: 40, l }];
    b.consumer.other = { n: 900, e: 2, s: 2, l };
    return b;
  };
  let state = emptyEngineState();
  let probeSince: number | null = null;
  for (let i = 0; i < minutes; i++) {
    const minuteStart = T0 + i * MINUTE;
    const s = shape(i, rand);
    const count = poisson(s.rate);
    const t = { ...emptyTotals(), count };
    const sketch = new LatencySketch();
    for (let r = 0; r < count; r++) {
      const u = rand();
      const p5xx = s.p5xx ?? 0.002;
      const p429 = p5xx + (s.p429 ?? 0);
      if (u < p5xx) t.status_5xx++;
      else if (u < p429 + (s.p4xx ?? 0.01)) {
        t.status_4xx++;
        if (u < p429) t.status_429++;
      } else if (rand() < (s.silent ?? 0)) t.silent++;
      if (rand() < (s.inconsistent ?? 0)) t.inconsistent++;
      const ms = (s.median ?? 80) * Math.exp(0.5 * (rand() + rand() + rand() - 1.5) * 2);
      if (ms > 1000) t.slow++;
      t.bytes += 512;
      sketch.add(ms);
    }
    const last = prefix[prefix.length - 1] ?? emptyTotals();
    const running = emptyTotals();
    for (const k of Object.keys(running) as (keyof Totals)[]) running[k] = last[k] + t[k];
    prefix.push(running);
    recent.push(sketch);
    if (recent.length > 30) recent.shift();
    let latency: LatencySample | null = null;
    for (const span of [5, 15, 30]) {
      const merged = new LatencySketch();
      for (const m of recent.slice(-span)) merged.merge(m);
      if (merged.count < 50) continue;
      const q = (x: number): number => merged.quantile(x) ?? 0;
      latency = { window_minutes: span, count: merged.count, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: merged.max };
      break;
    }
    probeSince = s.probeFails ? (probeSince ?? minuteStart) : null;
    const probe =
      probeSince === null
        ? null
        : {
            failures: (minuteStart - probeSince) / MINUTE + 1,
            since: probeSince,
            reached_at: minuteStart > probeSince ? probeSince + MINUTE : null,
            last_at: minuteStart + 30_000,
            last_status: 503,
          };
    const consumers: ConsumerBreach[] = s.consumerBreach
      ? [
          {
            consumer: "acme",
            objective: "error_rate",
            observed: 0.2,
            target: 0.01,
            requests: 120,
            window_minutes: 15,
          },
        ]
      : [];
    const snapshot: Snapshot = {
      minute_start: minuteStart,
      minute: sum(1),
      w5: sum(5),
      w15: sum(15),
      w30: sum(30),
      w60: sum(60),
      w360: sum(360),
      w3d: sum(3 * 1440),
      latency,
      probe,
      consumers,
    };
    const ev = located(annotated(evaluateMinute(state, snapshot, cfg, endpoint), annotate), breakdown);
    state = ev.state;
    check(state, minuteStart);
  }
  return state;
}

/** What the object stores, read back by the cast and by the schemas: the same values; and what the object reads, the same text. */
function roundTrip(state: EngineState): string {
  const { season, ...rest } = state;
  const text = JSON.stringify(rest);
  expect(EngineStateSchema.parse(JSON.parse(text))).toStrictEqual(JSON.parse(text));
  // The object reads JSON.parse's own value once the schema accepts it: not even the keys' order moves.
  expect(JSON.stringify(readEngineState(text))).toBe(text);
  if (season) {
    const profile = JSON.stringify(season);
    expect(SeasonProfileSchema.parse(JSON.parse(profile))).toStrictEqual(JSON.parse(profile));
    expect(JSON.stringify(readSeasonProfile(profile))).toBe(profile);
  }
  return text;
}

const DAY = 1440;
const busy = (i: number): number => 60 + 40 * Math.sin((2 * Math.PI * i) / DAY);

describe("engine state schemas: a round trip through JSON after every minute of the real engine", () => {
  it("over outages, latency spikes, surges, 4xx/429s, silent failures, probes and consumers, for a day and a half", () => {
    let minutesWithProfile = 0;
    const seen = new Set<string>();
    const features = [
      /"open":\{/,
      /"resolved":\{/,
      /"pending":\[\{/,
      /"in_maintenance":true/,
      /"deploy":\{/,
      /"concentration":\[\{/,
      /"timeline":\[\{/,
      /"consumer":"acme"/,
      /"rate_limited":\{"share"/,
      /"kind":"probe_failed"/,
      /"kind":"traffic_stop"/,
      /"kind":"traffic_surge"/,
      /"kind":"latency_p95_threshold"/,
      /"reopened_count":/,
      /"current":0/,
    ];
    const final = drive(
      1,
      DAY + 12 * 60,
      (i, rand) => {
        const at = i % DAY;
        const base: Shape = { rate: busy(i), p4xx: 0.02, p429: 0.005, median: 80 + 20 * rand() };
        if (at >= 120 && at < 150) return { ...base, rate: 0 }; // an outage: no traffic at all
        if (at >= 200 && at < 230) return { ...base, median: 900 }; // a latency spike
        if (at >= 300 && at < 340) return { ...base, rate: 6 * busy(i), p429: 0.2, median: 300 }; // a surge with 429s
        if (at >= 420 && at < 450) return { ...base, p5xx: 0.3, consumerBreach: true }; // 5xx from one consumer
        if (at >= 520 && at < 540) return { ...base, silent: 0.2, inconsistent: 0.1 };
        if (at >= 600 && at < 620) return { ...base, probeFails: true, rate: 0 };
        if (at >= 700 && at < 760) return { ...base, rate: 0.05 }; // a near silence
        return base;
      },
      (state) => {
        const text = roundTrip(state);
        for (const f of features) if (f.test(text)) seen.add(f.source);
        if (state.season) minutesWithProfile++;
      },
    );
    // The run did reach what the schemas must cover.
    expect([...seen].sort()).toEqual(features.map((f) => f.source).sort());
    expect(minutesWithProfile).toBeGreaterThan(DAY);
    expect(final.season?.traffic.every((days) => days.length > 0)).toBe(true);
    expect(final.season?.week).toBeDefined();
    expect(final.detectors.objective?.latency_ms).not.toBeNull();
    expect(final.detectors.dip).toBeDefined();
    expect(final.detectors.surge).toBeDefined();
  });

  it("over random shapes on several seeds, with objectives set by the user", () => {
    const cfg = resolveDetection(
      { slo: { availability: 0.999, latency_ms: 500 }, thresholds: { p95_ms: 400, error_rate: 0.02 } },
      endpoint.method,
      endpoint.route,
    );
    for (const seed of [2, 3, 4]) {
      let checked = 0;
      drive(
        seed,
        8 * 60,
        (i, rand) => {
          const r = rand();
          const rate = r < 0.1 ? 0 : r < 0.2 ? 400 * rand() : 5 + 100 * rand();
          return {
            rate: i < 90 ? 50 : rate,
            p5xx: rand() < 0.1 ? rand() : 0.002,
            p4xx: rand() * 0.1,
            p429: rand() < 0.1 ? 0.3 : 0,
            silent: rand() < 0.05 ? 0.3 : 0,
            median: rand() < 0.1 ? 2000 * rand() : 60,
            probeFails: rand() < 0.05,
            consumerBreach: rand() < 0.05,
          };
        },
        (state) => {
          roundTrip(state);
          checked++;
        },
        cfg,
      );
      expect(checked).toBe(8 * 60);
    }
  });
});

describe("engine state schemas: states as older versions stored them", () => {
  const parse = (value: unknown) => EngineStateSchema.safeParse(JSON.parse(JSON.stringify(value)));

  it("states older versions of the engine stored, recorded by running each one's evaluateMinute", () => {
    // test/fixtures/engine-states-by-version.json: per commit, the rows the object would have
    // stored at a minute of a generated run (outage, latency spike, surge, 5xx, silent failures),
    // an incident open in each; the first engine's metric baselines hold nulls (NaN).
    const versions = Object.entries(byVersion);
    expect(versions.length).toBeGreaterThanOrEqual(7);
    for (const [version, rows] of versions) {
      const engine = EngineStateSchema.safeParse(JSON.parse(rows.engine_state));
      expect(engine.error?.issues ?? [], version).toEqual([]);
      expect(JSON.stringify(readEngineState(rows.engine_state)), version).toBe(rows.engine_state);
      if (rows.season_profile !== null) {
        expect(JSON.stringify(readSeasonProfile(rows.season_profile)), version).toBe(rows.season_profile);
      }
    }
  });

  it("an empty state, and one without any field added after the first release", () => {
    expect(parse(emptyEngineState()).success).toBe(true);
    const detectors = emptyDetectorState();
    const firstRelease = { detectors, recent: {}, machine: { open: null, streak_start: null, streak: 0 } };
    expect(parse(firstRelease).success).toBe(true);
    // Keys the schema does not know (written by a newer version) are kept.
    const newer = { ...firstRelease, later: { x: 1 }, detectors: { ...detectors, later: [1] } };
    expect(EngineStateSchema.parse(JSON.parse(JSON.stringify(newer)))).toStrictEqual(newer);
  });

  it("the first engine's metric baselines, NaN once warm and stored as null", () => {
    // What 4e84679's metricStep stored after 40 minutes (its parameters lacked cusum_clip,
    // scale_clip and alpha_scale: run with that commit's src/detect/metric.ts).
    const nan = {
      ewma: { mean: null, variance: null, n: 40 },
      high: null,
      low: null,
      up: null,
      down: null,
      spiking: null,
    };
    const detectors = { ...emptyDetectorState(), latency_p95: nan, latency_p50: nan, traffic: nan };
    const state = { detectors, recent: { latency: T0 }, machine: { open: null, streak_start: T0, streak: 1 } };
    const parsed = parse(state);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toStrictEqual(state);
  });

  it("a dip stored before `current`, an objective still learning, a profile before 5xx and weeks", () => {
    const detectors = {
      ...emptyDetectorState(),
      dip: { low: 0.4, dropping: false },
      objective: emptyObjective(),
      surge: { run: 0, since: null },
      silence: { run: 2, longest: 10 },
      season: { hour: 490_000, traffic_sum: 10, traffic_n: 2, latency_sum: 9, latency_n: 2 },
    };
    expect(parse({ detectors, recent: {}, machine: { open: null, streak_start: null, streak: 0 } }).success).toBe(true);
    const { errors: _errors, ...profile } = emptyProfile();
    expect(SeasonProfileSchema.safeParse(JSON.parse(JSON.stringify(profile))).success).toBe(true);
  });

  /** An incident as the first release stored it (no timeline, evidence without consumers or 429s). */
  const figures = {
    requests_per_minute: 10,
    error_rate: null,
    client_error_rate: null,
    silent_failure_rate: null,
    p50_ms: null,
    p95_ms: null,
    p99_ms: null,
    availability_burn_1h: null,
    latency_burn_1h: null,
  };
  const open = {
    id: "inc_1",
    ...endpoint,
    severity: "WARNING",
    status: "open",
    opened_at: T0,
    escalated_at: null,
    resolved_at: null,
    last_event_at: T0 + MINUTE,
    clean_minutes: 0,
    severity_score: 0.5,
    health_score: 50,
    action: "RETRY",
    signals: [
      {
        kind: "error_rate_baseline",
        family: "availability",
        level: "warning",
        unit: "ratio",
        window: "5m",
        observed: 0.1,
        peak: 0.1,
        baseline: 0.01,
        threshold: null,
        first_event_at: T0,
        last_event_at: T0 + MINUTE,
      },
    ],
    figures_at_open: figures,
    figures,
    explanation: "",
  };

  it("an incident as the first release stored it (no timeline, evidence without consumers or 429s)", () => {
    const state = { detectors: emptyDetectorState(), recent: {}, machine: { open, streak_start: null, streak: 0 } };
    expect(parse(state).success).toBe(true);
  });

  it("an incident with numbers JSON wrote as null (NaN) parses in the machine as in the incidents table", () => {
    const nan = { ...open, severity_score: null, signals: [{ ...open.signals[0], observed: null, peak: null }] };
    expect(IncidentSchema.safeParse(nan).success).toBe(true);
    const machine = { open: nan, streak_start: null, streak: 0, pending: nan.signals, resolved: nan };
    expect(parse({ detectors: emptyDetectorState(), recent: {}, machine }).success).toBe(true);
  });

  it("rejects a field of the wrong type, naming its path", () => {
    const state = emptyEngineState();
    const bad = parse({ ...state, detectors: { ...state.detectors, errors: { ...state.detectors.errors, n: "3" } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["detectors", "errors", "n"]);
  });
});
