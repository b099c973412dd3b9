import { describe, expect, it } from "vitest";
import { consumerBreaches, consumerSignals, namedConsumers } from "../../src/breakdown/objectives";
import { addRecords, emptyBreakdown, TOP_K, type BreakdownRecord } from "../../src/breakdown/top-k";
import { detectionSettings, resolveDetection } from "../../src/detect/config";
import { explain } from "../../src/detect/explain";
import { assess } from "../../src/detect/health";
import { emptyMachine, stepIncident } from "../../src/detect/incident";
import type { Figures, Signal } from "../../src/detect/types";

const GUARD = { min_requests: 20, min_events: 5 };
const T = Date.UTC(2026, 0, 5, 12, 0, 0);

const rec = (consumer: string | null, status = 200, latency = 50): BreakdownRecord => ({
  status,
  latency_ms: latency,
  response_empty: false,
  consumer,
  region: "FRA",
});

/** `n` requests of `consumer`, the first `failures` of them 503s, all at `latency` ms. */
const requests = (consumer: string, n: number, failures = 0, latency = 50): BreakdownRecord[] =>
  Array.from({ length: n }, (_, i) => rec(consumer, i < failures ? 503 : 200, latency));

describe("consumer objectives: judging", () => {
  it("flags a named consumer past its 5xx objective and leaves a consumer without an objective alone", () => {
    const minute = addRecords(emptyBreakdown(), [...requests("acme", 100, 6), ...requests("beta", 100, 50)]);
    const breaches = consumerBreaches(minute, { acme: { error_rate: 0.01 } }, GUARD);
    expect(breaches).toEqual([
      { consumer: "acme", objective: "error_rate", observed: 0.06, target: 0.01, requests: 100, window_minutes: 15 },
    ]);
  });

  it("judges nothing below the minimum volume (requests, failures, 50 requests for a p95), unless the objective lowers it", () => {
    const few = addRecords(emptyBreakdown(), requests("acme", 10, 10, 900));
    expect(consumerBreaches(few, { acme: { error_rate: 0.01, latency_p95_ms: 300 } }, GUARD)).toEqual([]);
    // Enough requests, but 4 failures are under min_events.
    const rare = addRecords(emptyBreakdown(), requests("acme", 100, 4));
    expect(consumerBreaches(rare, { acme: { error_rate: 0.01 } }, GUARD)).toEqual([]);
    // 40 slow requests: past the 20 needed for a rate, short of the 50 for a p95.
    const slow = addRecords(emptyBreakdown(), requests("acme", 40, 0, 900));
    expect(consumerBreaches(slow, { acme: { latency_p95_ms: 300 } }, GUARD)).toEqual([]);
    expect(
      consumerBreaches(few, { acme: { error_rate: 0.01, min_requests: 5 } }, GUARD).map((b) => b.objective),
    ).toEqual(["error_rate"]);
    const judged = consumerBreaches(slow, { acme: { latency_p95_ms: 300, min_requests: 30 } }, GUARD);
    expect(judged.map((b) => b.objective)).toEqual(["latency_p95_ms"]);
    expect(judged[0]?.observed).toBeGreaterThan(800);
  });

  it('sums the consumer\'s minutes, and cannot judge a consumer that fell into "other"', () => {
    const minutes = Array.from({ length: 15 }, () =>
      addRecords(emptyBreakdown(), [...requests("acme", 4, 1), ...requests("beta", 40)]),
    );
    const window = namedConsumers(minutes, new Set(["acme"]));
    expect(window.consumer.top.map((g) => [g.k, g.n, g.e])).toEqual([["acme", 60, 15]]);
    expect(consumerBreaches(window, { acme: { error_rate: 0.05 } }, GUARD)[0]?.observed).toBe(0.25);
    // acme first, then TOP_K heavier newcomers: acme's records move to "other", where it cannot be judged.
    const crowd = Array.from({ length: TOP_K }, (_, i) => requests(`c${i}`, 50)).flat();
    const lost = addRecords(addRecords(emptyBreakdown(), requests("acme", 30, 30)), crowd);
    expect(lost.consumer.other.e).toBe(30);
    expect(lost.consumer.top.some((g) => g.k === "acme")).toBe(false);
    expect(consumerBreaches(namedConsumers([lost], new Set(["acme"])), { acme: { error_rate: 0.01 } }, GUARD)).toEqual(
      [],
    );
  });
});

describe("consumer objectives: settings, signal, incident and explanation", () => {
  it("validates the settings: at most 20 consumers, known fields, at least one objective, fractions", () => {
    expect(
      detectionSettings.safeParse({ consumer_objectives: { acme: { error_rate: 0.01, latency_p95_ms: 800 } } }).success,
    ).toBe(true);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`c${i}`, { error_rate: 0.01 }]));
    for (const bad of [
      { acme: { error_rate: 1.5 } },
      { acme: {} },
      { acme: { error_rate: 0.01, surprise: 1 } },
      { "": { error_rate: 0.01 } },
      many,
    ]) {
      expect(detectionSettings.safeParse({ consumer_objectives: bad }).success, JSON.stringify(bad).slice(0, 60)).toBe(
        false,
      );
    }
  });

  it("resolves the endpoint's entry for a consumer over the service's", () => {
    const settings = detectionSettings.parse({
      consumer_objectives: { acme: { error_rate: 0.01, latency_p95_ms: 800 }, beta: { error_rate: 0.02 } },
      endpoints: { "GET /x": { consumer_objectives: { acme: { latency_p95_ms: 300 } } } },
    });
    expect(resolveDetection(settings, "GET", "/x").consumer_objectives).toEqual({
      acme: { error_rate: 0.01, latency_p95_ms: 300 },
      beta: { error_rate: 0.02 },
    });
    expect(resolveDetection(settings, "GET", "/y").consumer_objectives?.acme).toEqual({
      error_rate: 0.01,
      latency_p95_ms: 800,
    });
    expect(resolveDetection(null, "GET", "/y").consumer_objectives).toEqual({});
  });

  it("is a WARNING that never agrees with the endpoint's own signals into a CRITICAL, and names the consumer", () => {
    const [acme] = consumerSignals([
      { consumer: "acme", objective: "error_rate", observed: 0.042, target: 0.01, requests: 300, window_minutes: 15 },
    ]);
    expect(acme).toMatchObject({
      kind: "consumer_objective",
      family: "consumer",
      level: "warning",
      consumer: "acme",
      threshold: 0.01,
      window: "15m",
    });
    const own: Signal = {
      kind: "error_rate_baseline",
      family: "availability",
      level: "warning",
      observed: 0.03,
      baseline: 0.01,
      threshold: null,
      unit: "ratio",
      window: "5m",
      strength: 0.5,
    };
    expect(assess([acme as Signal, own], {}, T).health).toBe("WARNING");
    expect(assess([acme as Signal], {}, T).health).toBe("WARNING");

    const figures: Figures = {
      requests_per_minute: 120,
      error_rate: 0.004,
      client_error_rate: 0,
      silent_failure_rate: 0,
      p50_ms: 60,
      p95_ms: 110,
      p99_ms: 140,
      availability_burn_1h: null,
      latency_burn_1h: null,
    };
    const endpoint = { service: "s", method: "GET", route: "/x" };
    const beta = consumerSignals([
      { consumer: "beta", objective: "latency_p95_ms", observed: 1250, target: 800, requests: 90, window_minutes: 15 },
    ]);
    const signals = [acme as Signal, ...beta];
    let machine = emptyMachine();
    let incident = null;
    for (let m = 0; m < 2; m++) {
      const step = stepIncident(machine, {
        endpoint,
        minute: T + m * 60_000,
        assessment: assess(signals, {}, T + m * 60_000),
        signals,
        figures,
        resolveAfter: 15,
      });
      machine = step.machine;
      incident = step.incident;
    }
    expect(incident?.signals.map((e) => [e.kind, e.consumer, e.objective])).toEqual([
      ["consumer_objective", "acme", "error_rate"],
      ["consumer_objective", "beta", "latency_p95_ms"],
    ]);
    expect(incident && explain(incident)).toBe(
      "Warning: Consumer acme: 5xx 4.2% over 15 min, objective 1% while GET /x as a whole stayed at 5xx 0.4%, p95 110 ms; consumer beta: p95 1250 ms over 15 min, objective 800 ms.",
    );
  });
});
