/**
 * Traffic surges end to end: a surge alone is shown in `GET /v1/endpoints` without an incident;
 * a surge with latency rising at the same time opens a WARNING incident that names it.
 */
import { describe, expect, it } from "vitest";
import { getJson } from "./helpers";
import { send, traffic } from "./traffic";

type ApiIncident = {
  id: string;
  severity: string;
  opened_at: number;
  explanation: string;
  signals: { kind: string }[];
};
type ApiEndpoint = {
  surge: {
    requests_per_minute: number;
    usual_per_minute: number | null;
    ratio: number | null;
    with_trouble: boolean;
    rate_limited: { share: number; usual: number } | null;
  } | null;
  signals: { kind: string; level: string }[];
};

async function incidentsOf(service: string): Promise<ApiIncident[]> {
  const { status, body } = await getJson<{ incidents: ApiIncident[] }>(`/v1/incidents?service=${service}`);
  expect(status).toBe(200);
  return body.incidents;
}

describe("traffic surges", () => {
  it("a 4x surge alone is shown on the endpoint, without an incident", async () => {
    const { records } = traffic("surge-alone", [
      { minutes: 120, perMinute: 20 },
      { minutes: 12, perMinute: 80 },
    ]);
    await send(records);
    expect(await incidentsOf("surge-alone")).toEqual([]);
    const { body } = await getJson<{ endpoints: ApiEndpoint[] }>("/v1/endpoints?service=surge-alone");
    const surge = body.endpoints[0]?.surge;
    expect(surge?.with_trouble).toBe(false);
    expect(surge?.ratio).toBeGreaterThanOrEqual(3);
    expect(surge?.requests_per_minute).toBeGreaterThan(60);
    expect(body.endpoints[0]?.signals.find((s) => s.kind === "traffic_surge")?.level).toBe("info");
  });

  it("a surge with latency rising opens a WARNING incident whose explanation names the surge", async () => {
    const { records, phaseStarts } = traffic("surge-slow", [
      { minutes: 120, perMinute: 20 },
      { minutes: 15, perMinute: 80, latencyMs: 160 },
    ]);
    await send(records);
    const list = await incidentsOf("surge-slow");
    expect(list).toHaveLength(1);
    const [incident] = list;
    expect(incident?.severity).toBe("WARNING");
    expect(incident?.opened_at).toBeGreaterThanOrEqual(phaseStarts[1] ?? 0);
    expect(incident?.signals.map((s) => s.kind)).toContain("traffic_surge");
    expect(incident?.explanation).toMatch(
      /traffic to GET \/orders\/:id surged to \d+ requests\/min, \d\.\dx its usual \d+ requests\/min/,
    );
    const { body } = await getJson<{ endpoints: ApiEndpoint[] }>("/v1/endpoints?service=surge-slow");
    expect(body.endpoints[0]?.surge?.with_trouble).toBe(true);
    expect(body.endpoints[0]?.surge?.rate_limited).toBeNull();
  });

  it("a surge that a rate limiter turns away (429s rising) opens a WARNING naming the 429s", async () => {
    const { records, phaseStarts } = traffic("surge-429", [
      { minutes: 120, perMinute: 20, rateLimitedRate: 0.01 },
      { minutes: 12, perMinute: 80, rateLimitedRate: 0.3 },
    ]);
    await send(records);
    const list = await incidentsOf("surge-429");
    expect(list).toHaveLength(1);
    const [incident] = list;
    expect(incident?.severity).toBe("WARNING");
    expect(incident?.opened_at).toBeGreaterThanOrEqual(phaseStarts[1] ?? 0);
    expect(incident?.explanation).toMatch(/surged to \d+ requests\/min/);
    expect(incident?.explanation).toMatch(/of requests answered 429 Too Many Requests \(usually [\d.]+%\)/);
    const { body } = await getJson<{ endpoints: ApiEndpoint[] }>("/v1/endpoints?service=surge-429");
    const surge = body.endpoints[0]?.surge;
    expect(surge?.with_trouble).toBe(true);
    expect(surge?.rate_limited?.share).toBeGreaterThan(0.2);
    expect(surge?.rate_limited?.usual).toBeLessThan(0.05);
  });

  it("names who sends a surge: the consumer that sent most of the extra requests", async () => {
    const { records, phaseStarts } = traffic("surge-who", [
      { minutes: 120, perMinute: 20, rateLimitedRate: 0.01 },
      { minutes: 12, perMinute: 80, rateLimitedRate: 0.3 },
    ]);
    // Before: three consumers share the traffic; in the surge every other request comes from one more.
    const surgeAt = phaseStarts[1] ?? 0;
    records.forEach((r, i) => {
      r.consumer = Number(r.timestamp) >= surgeAt && i % 4 !== 0 ? "bot-7" : ["app", "web", "ios"][i % 3];
    });
    await send(records);
    const [incident] = await incidentsOf("surge-who");
    expect(incident?.severity).toBe("WARNING");
    expect(incident?.explanation).toMatch(
      /Consumer bot-7 sent (9\d|100)% of the extra requests \(\d+\/min, usually 0\.0\/min\)/,
    );
    const { body } = await getJson<{ incidents: { concentration: { metric: string; names: string[] }[] }[] }>(
      "/v1/incidents?service=surge-who",
    );
    expect(body.incidents[0]?.concentration).toEqual([
      expect.objectContaining({ metric: "requests", names: ["bot-7"] }),
    ]);
  });

  it("no surge for steady traffic", async () => {
    const { records } = traffic("surge-none", [{ minutes: 150, perMinute: 20 }]);
    await send(records);
    const { body } = await getJson<{ endpoints: ApiEndpoint[] }>("/v1/endpoints?service=surge-none");
    expect(body.endpoints[0]?.surge).toBeNull();
  });
});
