// @ts-check
// Unit tests of the simulator's generator with a fixed seed: each scenario produces the
// statistics it promises (and normal traffic the noise it promises). `npm run test:sim`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { windowStats as scenarioStats } from "../bench/lib/scenarios.mjs";
import { generateRecords, generateRequests } from "./generator.mjs";
import { CLIENT_ERROR_SHARE, ENDPOINTS, drawOutcome, findEndpoint, validate } from "./model.mjs";
import { HOUR, MINUTE, SCENARIO_NAMES, conditionsAt, defaultTiming, degradation } from "./scenarios.mjs";

const END = Date.UTC(2026, 6, 1, 12);
const START = END - 8 * HOUR;
const AT = END - 2 * HOUR; // six hours of normal traffic, then the change
const RATE = 400; // per minute, over all endpoints

/**
 * @typedef {import("./generator.mjs").LogRecord} LogRecord
 * @typedef {import("./model.mjs").Endpoint} Endpoint
 */

/**
 * windowStats with its latencies as numbers: every window checked here holds records.
 * @param {LogRecord[]} records
 * @param {number} from
 * @param {number} to
 */
const windowStats = (records, from, to) => {
  const s = scenarioStats(records, from, to);
  return { ...s, p50: /** @type {number} */ (s.p50), p95: /** @type {number} */ (s.p95) };
};
/**
 * The endpoint of a name known to exist.
 * @param {string} name
 */
const endpoint = (name) => /** @type {Endpoint} */ (findEndpoint(name));

/**
 * Records of one scenario (default timing: the change at AT, a 1 h ramp, a 30 min burst).
 * @param {string} name
 * @param {{ seed?: number; target?: number }} [options]
 */
function run(name, { seed = 7, ...options } = {}) {
  const plan =
    name === "steady" ? [] : [degradation(name, { at: AT, ramp_ms: HOUR, burst_ms: 30 * MINUTE, ...options })];
  return [...generateRecords({ from: START, to: END, ratePerMin: RATE, plan, seed, service: "t" })];
}
/** @type {(records: LogRecord[], key: string) => LogRecord[]} */
const of = (records, key) => records.filter((r) => r.route === endpoint(key).route);
/** @param {LogRecord[]} records */
const before = (records) => windowStats(records, START, AT);
/** @type {(records: LogRecord[], from?: number) => ReturnType<typeof windowStats>} */
const held = (records, from = AT + HOUR) => windowStats(records, from, END);

describe("normal traffic", () => {
  const records = run("steady");

  test("events are in time order, inside the range, each with an id and the ingest fields", () => {
    assert.ok(records.length > 0.95 * RATE * 8 * 60);
    for (let i = 1; i < records.length; i++) assert.ok(records[i].timestamp >= records[i - 1].timestamp);
    assert.ok(records[0].timestamp >= START && /** @type {LogRecord} */ (records.at(-1)).timestamp < END);
    assert.equal(new Set(records.map((r) => r.id)).size, records.length);
    for (const field of ["timestamp", "service", "method", "path", "route", "status", "latency_ms"])
      assert.ok(field in records[0], field);
  });

  test("traffic splits by endpoint weight at the requested rate, as a Poisson process", () => {
    for (const e of ENDPOINTS) {
      const perMin = windowStats(of(records, e.key), START, END).per_min;
      assert.ok(Math.abs(perMin / (RATE * e.weight) - 1) < 0.03, `${e.route}: ${perMin}/min`);
    }
    // Poisson: per-minute counts have variance about equal to their mean.
    const counts = new Map();
    for (const r of records)
      counts.set(Math.floor(r.timestamp / MINUTE), (counts.get(Math.floor(r.timestamp / MINUTE)) ?? 0) + 1);
    const values = [...counts.values()];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    assert.ok(Math.abs(variance / mean - 1) < 0.2, `dispersion ${variance / mean}`);
  });

  test("steady stays within bounds: about 2% 4xx on every endpoint, 0.2% 5xx, no empty bodies, log-normal latency", () => {
    for (const e of ENDPOINTS) {
      const s = windowStats(of(records, e.key), START, END);
      assert.ok(s.share_4xx > 0.014 && s.share_4xx < 0.026, `${e.route} 4xx ${s.share_4xx}`);
      assert.ok(s.share_5xx < 0.005, `${e.route} 5xx ${s.share_5xx}`);
      assert.equal(s.share_empty, 0);
      assert.ok(Math.abs(s.p50 / e.median - 1) < 0.05, `${e.route} p50 ${s.p50}`);
      // log-normal: p95 / p50 = exp(1.645 sigma)
      assert.ok(Math.abs(s.p95 / s.p50 / Math.exp(1.645 * e.sigma) - 1) < 0.08, `${e.route} p95/p50 ${s.p95 / s.p50}`);
    }
    // Hour by hour nothing drifts: every hour's 5xx share and p95 stay near the whole run's.
    for (let h = START; h < END; h += HOUR) {
      const s = windowStats(of(records, "search"), h, h + HOUR);
      assert.ok(s.share_5xx < 0.012 && s.p95 > 290 && s.p95 < 410, `hour ${h}: ${JSON.stringify(s)}`);
    }
  });

  test("4xx come from invalid requests, as the origin's validation finds them", () => {
    const statuses = new Set(
      records.filter((r) => r.status >= 400 && r.status < 500).map((r) => `${r.route} ${r.status}`),
    );
    assert.deepEqual([...statuses].sort(), ["/checkout 422", "/items 400", "/items/:id 404", "/search 400"]);
  });

  test("the same seed gives the same records, another seed others", () => {
    const again = run("steady");
    assert.deepEqual(again.slice(0, 500), records.slice(0, 500));
    assert.notDeepEqual(run("steady", { seed: 8 }).slice(0, 50), records.slice(0, 50));
  });
});

describe("scenarios", () => {
  test("error creep: checkout 5xx from 0.2% to near its 8% target, other endpoints untouched", () => {
    const records = run("error-creep");
    const checkout = of(records, "checkout");
    assert.ok(before(checkout).share_5xx < 0.006);
    const end = held(checkout).share_5xx;
    assert.ok(Math.abs(end - 0.08) < 0.015, `held 5xx ${end}`);
    // Mid-ramp it is about halfway.
    const mid = windowStats(checkout, AT + 20 * MINUTE, AT + 40 * MINUTE).share_5xx;
    assert.ok(mid > 0.025 && mid < 0.06, `mid-ramp 5xx ${mid}`);
    assert.ok(held(of(records, "item")).share_5xx < 0.006);
    assert.ok(held(checkout).share_4xx > 0.01, "4xx present");
  });

  test("error creep honours --target", () => {
    const end = held(of(run("error-creep", { target: 0.2 }), "checkout")).share_5xx;
    assert.ok(Math.abs(end - 0.2) < 0.03, `held 5xx ${end}`);
  });

  test("latency creep: search p95 doubles, p50 too, the rest stays", () => {
    const records = run("latency-creep");
    const search = of(records, "search");
    const ratio = held(search).p95 / before(search).p95;
    assert.ok(ratio > 1.85 && ratio < 2.15, `p95 x${ratio}`);
    assert.ok(Math.abs(held(search).p50 / before(search).p50 - 2) < 0.15);
    assert.ok(Math.abs(held(of(records, "list")).p95 / before(of(records, "list")).p95 - 1) < 0.08);
    assert.ok(held(search).share_4xx > 0.01, "4xx present");
  });

  test("outage: about 70% 5xx on the item endpoint during the burst, recovery after", () => {
    const item = of(run("outage"), "item");
    // 70% of the valid requests (client errors are answered 4xx before the failing work).
    const during = item.filter(
      (r) => r.timestamp >= AT && r.timestamp < AT + 30 * MINUTE && !(r.status >= 400 && r.status < 500),
    );
    const burst = during.filter((r) => r.status >= 500).length / during.length;
    assert.ok(Math.abs(burst - 0.7) < 0.03, `burst 5xx ${burst}`);
    assert.ok(windowStats(item, AT + 30 * MINUTE, END).share_5xx < 0.006);
    assert.ok(before(item).share_5xx < 0.006);
    // Client errors are still answered as such during the outage (validation before the failing work).
    assert.ok(windowStats(item, AT, AT + 30 * MINUTE).share_4xx > 0.01);
  });

  test("silent failure: empty 200 bodies on the list rise from none to about 15%", () => {
    const list = of(run("silent-failure"), "list");
    assert.equal(before(list).share_empty, 0);
    const ok = list.filter((r) => r.timestamp >= AT + HOUR && r.status === 200);
    const share = ok.filter((r) => r.response_empty).length / ok.length;
    assert.ok(Math.abs(share - 0.15) < 0.02, `empty ${share}`);
    // Empty bodies are still 200s: the status mix does not show them.
    assert.ok(held(list).share_5xx < 0.006);
    assert.ok(list.every((r) => !r.response_empty || r.status === 200));
  });

  test("traffic drop: the item endpoint falls to about 20% of its traffic at once, others unchanged", () => {
    const records = run("traffic-drop");
    const item = of(records, "item");
    const ratio = windowStats(item, AT, END).per_min / before(item).per_min;
    assert.ok(Math.abs(ratio - 0.2) < 0.02, `traffic x${ratio}`);
    const firstMinutes = windowStats(item, AT, AT + 5 * MINUTE).per_min / before(item).per_min;
    assert.ok(firstMinutes < 0.4, `drop is immediate: x${firstMinutes}`);
    const list = of(records, "list");
    assert.ok(Math.abs(windowStats(list, AT, END).per_min / before(list).per_min - 1) < 0.05);
  });

  test("every scenario keeps some 4xx and the requests match the records", () => {
    for (const name of SCENARIO_NAMES) {
      const s = windowStats(run(name), START, END);
      assert.ok(s.share_4xx > 0.012 && s.share_4xx < 0.028, `${name}: 4xx ${s.share_4xx}`);
    }
    const requests = [...generateRequests({ from: START, to: START + HOUR, ratePerMin: RATE, seed: 7 })];
    const records = [...generateRecords({ from: START, to: START + HOUR, ratePerMin: RATE, seed: 7, service: "t" })];
    assert.deepEqual(
      requests.map((r) => [r.timestamp, r.request.path]),
      records.map((r) => [r.timestamp, r.path]),
    );
  });
});

describe("plans and the origin's model", () => {
  test("conditions follow the plan: ramp, hold, burst end, untouched endpoints", () => {
    const plan = [
      degradation("latency-creep", { at: 1000, ramp_ms: 1000 }),
      degradation("outage", { at: 0, burst_ms: 500 }),
    ];
    assert.equal(conditionsAt(plan, "search", 999).latency_factor, 1);
    assert.equal(conditionsAt(plan, "search", 1500).latency_factor, 1.5);
    assert.equal(conditionsAt(plan, "search", 5000).latency_factor, 2);
    assert.equal(conditionsAt(plan, "item", 100).error_rate, 0.7);
    assert.equal(conditionsAt(plan, "item", 600).error_rate, 0.002);
    assert.deepEqual(conditionsAt(plan, "checkout", 1500), {
      latency_factor: 1,
      error_rate: 0.002,
      empty_rate: 0,
      traffic_factor: 1,
    });
    assert.throws(() => degradation("nope"), /unknown scenario/);
    assert.throws(() => degradation("error-creep", { endpoint: "GET /nope" }), /unknown endpoint/);
    assert.throws(() => degradation("error-creep", { target: 2 }), /target/);
  });

  test("default timing: in the live part when there is one, else the last hours of the backfill", () => {
    assert.deepEqual(defaultTiming({ liveStart: 0, liveEnd: 600_000, backfillMs: 0 }), {
      at: 150_000,
      ramp_ms: 240_000,
      burst_ms: 180_000,
    });
    const t = defaultTiming({ liveStart: 0, liveEnd: 0, backfillMs: 24 * HOUR });
    assert.equal(t.at, -3 * HOUR);
    assert.equal(t.ramp_ms, HOUR);
  });

  test("validation: only invalid requests get a 4xx, whatever the conditions", async () => {
    const { createRng } = await import("../scripts/lib/prng.mjs");
    const rng = createRng(3);
    const checks = {
      list: ["/items?page=2", "/items?page=0"],
      item: ["/items/42", "/items/99999"],
      search: ["/search?q=mug", "/search"],
    };
    for (const [key, [good, bad]] of Object.entries(checks)) {
      const e = endpoint(key);
      assert.equal(validate(e, new URL(good, "http://x"), ""), null);
      assert.ok(Number(validate(e, new URL(bad, "http://x"), "")?.status) >= 400);
    }
    const checkout = endpoint("POST /checkout");
    assert.equal(validate(checkout, new URL("/checkout", "http://x"), '{"items":[{"id":1,"qty":2}]}'), null);
    assert.equal(validate(checkout, new URL("/checkout", "http://x"), '{"items":[]}')?.status, 422);
    assert.equal(validate(checkout, new URL("/checkout", "http://x"), "{")?.status, 400);
    const down = { error_rate: 1, latency_factor: 1, empty_rate: 0 };
    assert.equal(drawOutcome(rng, checkout, { status: 422, message: "x" }, down).status, 422);
    assert.ok(drawOutcome(rng, checkout, null, down).status >= 500);
    assert.equal(CLIENT_ERROR_SHARE, 0.02);
  });
});
