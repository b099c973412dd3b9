/**
 * Consumers and locations end to end: records with `consumer` and `region` through
 * `POST /v1/logs`, the endpoint object's per-minute breakdown, the concentration an incident
 * names in its evidence and explanation, and `GET /v1/endpoints/.../breakdown`.
 */
import { describe, expect, it } from "vitest";
import { normaliseRecord, type LogRecord } from "../src/ingest/record";
import { ADMIN_KEY, call, endpointStub, getJson, record } from "./helpers";
import { send, traffic } from "./traffic";

const CONSUMERS = ["acme", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"];
const COLOS = ["FRA", "AMS", "LHR", "CDG", "IAD", "SJC"];

type ApiIncident = {
  status: string;
  explanation: string;
  concentration: { dimension: string; metric: string; names: string[]; share: number }[];
};
type Group = {
  name: string | null;
  requests: number;
  status_5xx: number;
  error_rate: number | null;
  p95_ms: number | null;
};
type Breakdown = {
  window: string;
  consumers: { top: Group[]; other: Group; total: Group };
  locations: { top: Group[]; other: Group; total: Group };
};

/**
 * 60 minutes of healthy traffic then 8 of an outage; every record gets a consumer and a colo in
 * turn, and `failing` says whether an outage record of that consumer and colo is a 503.
 */
async function outage(
  service: string,
  failing: (consumer: string, colo: string) => boolean,
): Promise<Record<string, unknown>[]> {
  const { records, phaseStarts } = traffic(service, [
    { minutes: 60, perMinute: 48 },
    { minutes: 8, perMinute: 48, errorRate: 0 },
  ]);
  const outageStart = phaseStarts[1] ?? 0;
  records.forEach((r, i) => {
    const consumer = CONSUMERS[i % CONSUMERS.length] ?? "";
    const colo = COLOS[Math.floor(i / CONSUMERS.length) % COLOS.length] ?? "";
    Object.assign(r, { consumer, region: colo });
    if ((r.timestamp as number) >= outageStart && failing(consumer, colo)) Object.assign(r, { status: 503 });
    else if (r.status === 503) Object.assign(r, { status: 200 });
  });
  await send(records);
  return records;
}

async function incidentOf(service: string): Promise<ApiIncident> {
  const { body } = await getJson<{ incidents: ApiIncident[] }>(`/v1/incidents?service=${service}`);
  expect(body.incidents).toHaveLength(1);
  return body.incidents[0] as ApiIncident;
}

describe("consumers and locations", () => {
  it("an outage of one consumer only: the evidence and the explanation name it", async () => {
    await outage("bd-consumer", (consumer) => consumer === "acme");
    const incident = await incidentOf("bd-consumer");
    expect(incident.concentration.map((c) => [c.dimension, c.metric, c.names])).toEqual([
      ["consumer", "5xx", ["acme"]],
    ]);
    expect(incident.explanation).toMatch(/5xx only for consumer acme \(100% of its requests, 0\.0% elsewhere\)/);
  });

  it("an outage in one colo only: the evidence and the explanation name it", async () => {
    await outage("bd-colo", (_consumer, colo) => colo === "FRA");
    const incident = await incidentOf("bd-colo");
    expect(incident.concentration.map((c) => [c.dimension, c.names])).toEqual([["region", ["FRA"]]]);
    expect(incident.explanation).toMatch(/5xx only in FRA \(100% of its requests, 0\.0% elsewhere\)/);
  });

  it("a re-evaluation from D1 rebuilds the breakdown and the concentration", async () => {
    const records = await outage("bd-replay", (consumer) => consumer === "gamma");
    const res = await call("/v1/control/re-evaluate?lookback_minutes=600&service=bd-replay", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(200);
    const incident = await incidentOf("bd-replay");
    expect(incident.concentration.map((c) => c.names)).toEqual([["gamma"]]);
    const { body } = await getJson<Breakdown>(
      `/v1/endpoints/bd-replay/GET/${encodeURIComponent("/orders/:id")}/breakdown?window=72h`,
    );
    expect(body.consumers.top.find((g) => g.name === "gamma")?.requests).toBe(
      records.filter((r) => r.consumer === "gamma").length,
    );
  });

  it("a failure of every consumer and colo names none", async () => {
    let n = 0;
    await outage("bd-uniform", () => n++ % 2 === 0);
    const incident = await incidentOf("bd-uniform");
    expect(incident.concentration).toEqual([]);
    expect(incident.explanation).not.toMatch(/consumer|only in|come from|are in/);
  });

  it("GET /v1/endpoints/.../breakdown answers both tables over a window, and refuses an unknown window", async () => {
    const records = await outage("bd-api", (consumer) => consumer === "beta");
    const path = `/v1/endpoints/bd-api/GET/${encodeURIComponent("/orders/:id")}/breakdown`;
    const { status, body } = await getJson<Breakdown>(`${path}?window=72h`);
    expect(status).toBe(200);
    expect(body.window).toBe("72h");
    expect(body.consumers.total.requests).toBe(records.length);
    expect(body.locations.total.requests).toBe(records.length);
    expect(body.consumers.top.map((g) => g.name).sort()).toEqual([...CONSUMERS].sort());
    expect(body.locations.top.map((g) => g.name).sort()).toEqual([...COLOS].sort());
    const beta = body.consumers.top.find((g) => g.name === "beta");
    expect(beta?.status_5xx).toBe(records.filter((r) => r.consumer === "beta" && r.status === 503).length);
    expect(beta?.p95_ms).toBeGreaterThan(0);
    expect(body.consumers.other.requests).toBe(0);
    // The last hour holds fewer requests than three days.
    const hour = await getJson<Breakdown>(`${path}?window=1h`);
    expect(hour.body.consumers.total.requests).toBeGreaterThan(0);
    expect(hour.body.consumers.total.requests).toBeLessThan(records.length);
    const bad = await getJson<{ error: { code: string } }>(`${path}?window=2d`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    // GET /v1/summaries by consumer and by region: served from the objects' hourly breakdowns.
    type Summary = {
      service: string;
      consumer: string | null;
      region: string | null;
      count: number;
      status_5xx: number;
      granularity: string;
    };
    const sum = (list: Summary[], key: "count" | "status_5xx") => list.reduce((n, s) => n + s[key], 0);
    const byConsumer = await getJson<{ summaries: Summary[]; source: string }>(
      "/v1/summaries?service=bd-api&consumer=beta",
    );
    expect(byConsumer.status).toBe(200);
    expect(byConsumer.body.source).toBe("endpoint_breakdown");
    expect(byConsumer.body.summaries.length).toBeGreaterThan(0);
    expect(
      byConsumer.body.summaries.every(
        (s) => s.consumer === "beta" && s.service === "bd-api" && s.granularity === "hour",
      ),
    ).toBe(true);
    expect(sum(byConsumer.body.summaries, "count")).toBe(records.filter((r) => r.consumer === "beta").length);
    expect(sum(byConsumer.body.summaries, "status_5xx")).toBe(
      records.filter((r) => r.consumer === "beta" && r.status === 503).length,
    );
    const byRegion = await getJson<{ summaries: Summary[] }>("/v1/summaries?service=bd-api&region=FRA");
    expect(byRegion.body.summaries.every((s) => s.region === "FRA")).toBe(true);
    expect(sum(byRegion.body.summaries, "count")).toBe(records.filter((r) => r.region === "FRA").length);
    const nobody = await getJson<{ summaries: Summary[] }>("/v1/summaries?service=bd-api&consumer=nobody");
    expect(nobody.body.summaries).toEqual([]);
    for (const q of ["consumer=beta&region=FRA", "consumer=beta&granularity=day", `consumer=${"x".repeat(129)}`]) {
      const refused = await getJson<{ error: { code: string } }>(`/v1/summaries?service=bd-api&${q}`);
      expect(refused.status, q).toBe(400);
    }
    // An endpoint without records answers empty tables.
    const none = await getJson<Breakdown>(`/v1/endpoints/bd-none/GET/${encodeURIComponent("/x")}/breakdown`);
    expect(none.status).toBe(200);
    expect(none.body.consumers.top).toEqual([]);
  });
});

describe("consumers and locations: cost", () => {
  /** `handoffs` hand-offs of 50 records over 3 minutes; `who(i)` names the consumer and region of record i. */
  async function rowsPerHandoff(
    service: string,
    who: (i: number) => { consumer?: string; region?: string },
  ): Promise<number> {
    const stub = endpointStub(service, "GET", "/orders");
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000;
    const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
    const batch = (h: number): LogRecord[] =>
      Array.from({ length: 50 }, (_, j) => {
        const i = h * 50 + j;
        const r = normaliseRecord(
          record(service, {
            id: `${service}-${i}`,
            path: "/orders",
            timestamp: base + Math.floor(i / 2000) * 60_000 + (i % 2000) * 20,
            status: i % 9 === 0 ? 503 : 200,
            ...who(i),
          }),
          ctx,
        );
        if (!r.ok) throw new Error(r.errors.join("; "));
        return r.record;
      });
    // A first hand-off so that one-off rows (identity, schema) are out of the count.
    await stub.ingest(batch(0));
    const start = (await stub.cost()).do_rows_written;
    const handoffs = 40;
    for (let h = 1; h <= handoffs; h++) await stub.ingest(batch(h));
    return ((await stub.cost()).do_rows_written - start) / handoffs;
  }

  it(
    "the breakdown adds no Durable Object row per hand-off, with 1,000 distinct consumers",
    { timeout: 120_000 },
    async () => {
      const without = await rowsPerHandoff("bd-rows-none", () => ({}));
      const withMany = await rowsPerHandoff("bd-rows-many", (i) => ({
        consumer: `c${i % 1000}`,
        region: `R${i % 300}`,
      }));
      expect(withMany).toBe(without);
      // The breakdown of the busiest minute stays within its bound: 20 named consumers plus other.
      const path = `/v1/endpoints/bd-rows-many/GET/${encodeURIComponent("/orders")}/breakdown?window=5m`;
      const { body } = await getJson<Breakdown>(path);
      expect(body.consumers.top.length).toBe(20);
      expect(body.locations.top.length).toBe(20);
      expect(body.consumers.total.requests).toBe(41 * 50);
      console.log(JSON.stringify({ event: "breakdown_rows_per_handoff", without, with_1000_consumers: withMany }));
    },
  );
});
