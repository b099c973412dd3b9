import { describe, expect, it } from "vitest";
import { concentrationOf, concentrations, failureMetrics } from "../../src/breakdown/concentration";
import {
  addRecords,
  emptyBreakdown,
  mergeBreakdowns,
  parseBreakdown,
  tableView,
  TOP_K,
  type Breakdown,
  type BreakdownRecord,
} from "../../src/breakdown/top-k";
import { prng } from "../prng";

const ok = (consumer: string | null, region: string | null, latency = 50): BreakdownRecord => ({
  status: 200,
  latency_ms: latency,
  response_empty: false,
  consumer,
  region,
});
const fail = (consumer: string | null, region: string | null): BreakdownRecord => ({
  status: 503,
  latency_ms: 20,
  response_empty: false,
  consumer,
  region,
});

const CONSUMERS = ["acme", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"];
const COLOS = ["FRA", "AMS", "LHR", "CDG", "IAD", "SJC", "NRT", "SIN"];

/** Traffic over 10 consumers and 8 colos; `fails(consumer, colo, i)` says which requests get a 503. */
function traffic(n: number, fails: (consumer: string, colo: string, i: number) => boolean): Breakdown {
  const records: BreakdownRecord[] = [];
  for (let i = 0; i < n; i++) {
    const consumer = CONSUMERS[i % CONSUMERS.length] ?? "";
    const colo = COLOS[Math.floor(i / 3) % COLOS.length] ?? "";
    records.push(fails(consumer, colo, i) ? fail(consumer, colo) : ok(consumer, colo));
  }
  return addRecords(emptyBreakdown(), records);
}

describe("breakdown tables", () => {
  it("keep at most 20 named groups with 1,000 distinct consumers, totals exact, the heavy consumer first", () => {
    const rand = prng(7);
    let b = emptyBreakdown();
    let total = 0;
    let heavy = 0;
    // 20 hand-offs, each with records of many light consumers and one heavy one (30% of the traffic).
    for (let batch = 0; batch < 20; batch++) {
      const records: BreakdownRecord[] = [];
      for (let i = 0; i < 100; i++) {
        if (rand() < 0.3) {
          records.push(rand() < 0.5 ? fail("whale", "FRA") : ok("whale", "FRA"));
          heavy++;
        } else records.push(ok(`c${batch * 50 + (i % 50)}`, `X${i % 40}`));
      }
      total += records.length;
      b = addRecords(b, records);
    }
    for (const dim of ["consumer", "region"] as const) {
      expect(b[dim].top.length).toBeLessThanOrEqual(TOP_K);
      expect(b[dim].top.reduce((s, g) => s + g.n, 0) + b[dim].other.n).toBe(total);
    }
    const view = tableView(b.consumer);
    expect(view.top[0]?.name).toBe("whale");
    expect(view.top[0]?.requests).toBe(heavy);
    expect(view.total.requests).toBe(total);
    // The stored form stays small: one window row holds it.
    expect(JSON.stringify(b).length).toBeLessThan(40_000);
    // Merging many buckets keeps the bound and the totals too.
    const merged = mergeBreakdowns([b, b, b]);
    expect(merged.consumer.top.length).toBe(TOP_K);
    expect(merged.consumer.top.reduce((s, g) => s + g.n, 0) + merged.consumer.other.n).toBe(3 * total);
    expect(parseBreakdown(JSON.stringify(merged))).toEqual(merged);
  });

  it("report requests, 5xx, silent failures and p95 per group", () => {
    const b = addRecords(emptyBreakdown(), [
      ...Array.from({ length: 99 }, () => ok("acme", "FRA", 100)),
      ok("acme", "FRA", 900),
      fail("acme", "FRA"),
      { status: 200, latency_ms: 10, response_empty: true, consumer: null, region: "AMS" },
    ]);
    const view = tableView(b.consumer);
    expect(view.top.map((g) => [g.name, g.requests, g.status_5xx, g.silent_failures])).toEqual([
      ["acme", 101, 1, 0],
      [null, 1, 0, 1],
    ]);
    expect(view.top[0]?.p95_ms).toBeGreaterThan(95);
    expect(view.top[0]?.p95_ms).toBeLessThan(105);
    expect(tableView(b.region).top.map((g) => g.name)).toEqual(["FRA", "AMS"]);
  });

  it("give the same figures and p95 whether records come in one batch or in many, through the stored form", () => {
    const records = Array.from({ length: 600 }, (_, i) =>
      ok(i % 3 === 0 ? "acme" : "beta", "FRA", 5 + ((i * 37) % 2000)),
    );
    const once = tableView(addRecords(emptyBreakdown(), records).consumer);
    let stored = JSON.stringify(emptyBreakdown());
    for (let i = 0; i < records.length; i += 25)
      stored = JSON.stringify(addRecords(parseBreakdown(stored), records.slice(i, i + 25)));
    expect(tableView(parseBreakdown(stored).consumer)).toEqual(once);
  });

  it("read malformed stored text as empty", () => {
    expect(parseBreakdown("not json")).toEqual(emptyBreakdown());
    expect(parseBreakdown(null)).toEqual(emptyBreakdown());
  });
});

describe("concentration", () => {
  it("names the one consumer the 5xx come from", () => {
    const b = traffic(2000, (consumer, _colo, i) => (consumer === "acme" ? i % 2 === 0 : i % 500 === 1));
    const c = concentrationOf(b, "consumer", "5xx");
    expect(c?.names).toEqual(["acme"]);
    expect(c?.share).toBeGreaterThan(0.9);
    expect(c?.text).toMatch(/^\d+% of the 5xx come from consumer acme \(\d+% of its requests, [\d.]+% elsewhere\)$/);
    // The colos all carry acme's traffic alike: no location is named.
    expect(concentrationOf(b, "region", "5xx")).toBeNull();
  });

  it("names the colos the 5xx are only in", () => {
    const b = traffic(2400, (_consumer, colo, i) => (colo === "FRA" || colo === "AMS") && i % 3 !== 0);
    const c = concentrationOf(b, "region", "5xx");
    expect(c?.names.sort()).toEqual(["AMS", "FRA"]);
    expect(c?.text).toMatch(/^5xx only in (FRA and AMS|AMS and FRA) \(\d+% of their requests, 0\.0% elsewhere\)$/);
    expect(concentrationOf(b, "consumer", "5xx")).toBeNull();
  });

  it("names none for a failure spread over every consumer and colo", () => {
    const b = traffic(2000, (_c, _colo, i) => i % 7 < 3);
    expect(concentrations(b, ["5xx", "silent_failures"])).toEqual([]);
  });

  it("names none when the consumer is (nearly) all the traffic, or failures are too few", () => {
    const all = addRecords(emptyBreakdown(), [
      ...Array.from({ length: 95 }, (_, i) => (i % 2 ? fail("acme", "FRA") : ok("acme", "FRA"))),
      ...Array.from({ length: 5 }, () => ok("beta", "AMS")),
    ]);
    expect(concentrationOf(all, "consumer", "5xx")).toBeNull();
    const few = addRecords(emptyBreakdown(), [
      ...Array.from({ length: 5 }, () => fail("acme", "FRA")),
      ...Array.from({ length: 500 }, () => ok("beta", "AMS")),
    ]);
    expect(concentrationOf(few, "consumer", "5xx")).toBeNull();
  });

  it("reads the failure metric from the incident's signal families", () => {
    expect(failureMetrics([{ family: "latency" }])).toEqual([]);
    expect(failureMetrics([{ family: "availability" }, { family: "silent" }])).toEqual(["5xx", "silent_failures"]);
  });
});
