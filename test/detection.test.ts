/**
 * Detection end to end: request logs in event time through `POST /v1/logs`, evaluated by the
 * endpoint objects, published to D1 and read back from `GET /v1/incidents`, `/v1/endpoints` and
 * `/v1/health/system`.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, call, flushAll, getJson, inMonitor } from "./helpers";
import { send, traffic } from "./traffic";

const MINUTE = 60_000;

type ApiIncident = {
  id: string;
  severity: string;
  status: string;
  opened_at: number;
  resolved_at: number | null;
  signals: { kind: string }[];
  explanation: string;
};

async function incidentsOf(service: string): Promise<ApiIncident[]> {
  const { status, body } = await getJson<{ incidents: ApiIncident[] }>(`/v1/incidents?service=${service}`);
  expect(status).toBe(200);
  return body.incidents;
}

describe("detection from POST /v1/logs to GET /v1/incidents", () => {
  it("opens one critical incident for an outage burst, explains it, and resolves it after clean minutes", async () => {
    const { records, phaseStarts } = traffic("det-outage", [
      { minutes: 90, perMinute: 60 },
      { minutes: 8, perMinute: 60, errorRate: 0.7 },
      { minutes: 80, perMinute: 60 },
    ]);
    await send(records);
    const list = await incidentsOf("det-outage");
    expect(list).toHaveLength(1);
    const [incident] = list;
    const outageStart = phaseStarts[1] ?? 0;
    expect(incident?.severity).toBe("CRITICAL");
    expect(incident?.status).toBe("resolved");
    expect(incident?.opened_at).toBeGreaterThanOrEqual(outageStart);
    expect(incident?.opened_at).toBeLessThanOrEqual(outageStart + 2 * MINUTE);
    expect(incident?.signals.map((s) => s.kind)).toContain("availability_burn_page");
    expect(incident?.explanation).toMatch(/5xx rate of GET \/orders\/:id/);
    // The detail of one incident is the same row.
    const one = await getJson<ApiIncident>(`/v1/incidents/${incident?.id ?? ""}`);
    expect(one.status).toBe(200);
    expect(one.body.id).toBe(incident?.id);
  });

  it("opens a latency incident for a p95 step, saying from what to what while 5xx stayed low", async () => {
    const { records, phaseStarts } = traffic("det-latency", [
      { minutes: 90, perMinute: 60 },
      { minutes: 30, perMinute: 60, latencyMs: 300 },
    ]);
    await send(records);
    const list = await incidentsOf("det-latency");
    expect(list).toHaveLength(1);
    const [incident] = list;
    expect(incident?.status).toBe("open");
    expect(incident?.opened_at).toBeGreaterThanOrEqual(phaseStarts[1] ?? 0);
    expect(incident?.opened_at).toBeLessThanOrEqual((phaseStarts[1] ?? 0) + 5 * MINUTE);
    expect(incident?.signals.some((s) => s.kind.startsWith("latency_"))).toBe(true);
    expect(incident?.explanation).toMatch(/p\d\d latency of GET \/orders\/:id rose from \d+ ms to \d+ ms/);
    expect(incident?.explanation).toMatch(/while the 5xx rate stayed at/);

    const endpoints = await getJson<{
      endpoints: { service: string; health: string; open_incident_id: string | null; figures: { p95_ms: number } }[];
    }>("/v1/endpoints?service=det-latency");
    expect(endpoints.body.endpoints).toHaveLength(1);
    expect(endpoints.body.endpoints[0]?.health).not.toBe("NORMAL");
    expect(endpoints.body.endpoints[0]?.open_incident_id).toBe(incident?.id);
    expect(endpoints.body.endpoints[0]?.figures.p95_ms).toBeGreaterThan(250);

    const detail = await getJson<{
      state: { health: string; baselines: { p95_ms: { value: number } } };
      series: { minutes: unknown[] };
      incidents: { id: string }[];
    }>(`/v1/endpoints/det-latency/GET/${encodeURIComponent("/orders/:id")}`);
    expect(detail.body.state.health).not.toBe("NORMAL");
    expect(detail.body.state.baselines.p95_ms.value).toBeGreaterThan(50);
    expect(detail.body.series.minutes.length).toBeGreaterThan(100);
    expect(detail.body.incidents.map((i) => i.id)).toContain(incident?.id);
  });

  it("raises nothing for a low-traffic endpoint with a rare failure, nor for 4xx", async () => {
    const { records } = traffic("det-quiet", [{ minutes: 240, perMinute: 1, errorRate: 0.01 }], { seed: 7 });
    await send(records);
    expect(await incidentsOf("det-quiet")).toEqual([]);
  });

  it("notices silence on the wall clock once a live endpoint's records stop", async () => {
    const { records } = traffic("det-silent", [{ minutes: 60, perMinute: 30 }], { endsAgo: 0 });
    await send(records);
    expect(await incidentsOf("det-silent")).toEqual([]);
    const ns = env.ENDPOINT_MONITOR;
    const stub = ns.get(ns.idFromName("det-silent GET /orders/:id"));
    await inMonitor(stub, (m) => m.jobs.live.closeSilentMinutes(Date.now() + 15 * MINUTE));
    await flushAll();
    const list = await incidentsOf("det-silent");
    expect(list).toHaveLength(1);
    expect(list[0]?.signals.map((s) => s.kind)).toContain("traffic_stop");
    expect(list[0]?.explanation).toMatch(/received no requests/);
  });

  it("keeps windows, baselines and the clock through an eviction", async () => {
    const ns = env.ENDPOINT_MONITOR;
    const stub = ns.get(ns.idFromName("det-evict GET /orders/:id"));
    const { records, phaseStarts } = traffic("det-evict", [
      { minutes: 80, perMinute: 40 },
      { minutes: 20, perMinute: 40, latencyMs: 400 },
    ]);
    const stepAt = phaseStarts[1] ?? 0;
    await send(records.filter((r) => Number(r.timestamp) < stepAt));
    const before = await stub.detail();
    expect(before.state?.health).toBe("NORMAL");
    const learnt = before.state?.baselines.requests_per_minute?.n ?? 0;
    expect(learnt).toBeGreaterThan(60);
    await evictDurableObject(stub);
    const after = await stub.detail();
    expect(after.watermark).toBe(before.watermark);
    expect(after.series.minutes).toEqual(before.series.minutes);
    await send(records.filter((r) => Number(r.timestamp) >= stepAt));
    const later = await stub.detail();
    expect(later.state?.baselines.requests_per_minute?.n ?? 0).toBeGreaterThan(learnt);
    const list = await incidentsOf("det-evict");
    expect(list).toHaveLength(1);
    expect(list[0]?.opened_at).toBeGreaterThanOrEqual(stepAt);
  });

  it("applies a service's detection settings from the admin API, and refuses invalid ones", async () => {
    const put = (body: unknown) =>
      call("/v1/services/det-config/detection", {
        method: "PUT",
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const bad = await put({ thresholds: { p95_ms: -1 }, slo: { availability: 1.5 }, surprise: true });
    expect(bad.status).toBe(400);
    const error = (await bad.json<{ error: { code: string; details: string[] } }>()).error;
    expect(error.code).toBe("invalid_request");
    expect(error.details.join(" ")).toMatch(/thresholds\.p95_ms/);
    const ok = await put({ endpoints: { "GET /orders/:id": { thresholds: { p95_ms: 60 } } } });
    expect(ok.status).toBe(201);
    const read = await getJson<{ settings: { endpoints: Record<string, unknown> } }>(
      "/v1/services/det-config/detection",
      ADMIN_KEY,
    );
    expect(Object.keys(read.body.settings.endpoints)).toEqual(["GET /orders/:id"]);
    // 80 ms is normal by the defaults (no incident elsewhere), above this endpoint's 60 ms threshold.
    const { records } = traffic("det-config", [{ minutes: 40, perMinute: 30 }]);
    await send(records);
    const list = await incidentsOf("det-config");
    expect(list).toHaveLength(1);
    expect(list[0]?.signals.map((x) => x.kind)).toContain("latency_p95_threshold");
  });

  it("shows a steady slow endpoint as slower than the default objective without an incident; a user-set objective pages it", async () => {
    // p95 about 3.5 s on every request: past the default 1 s latency objective and 2 s p95 threshold from the first minute.
    const slow = traffic("det-slow", [{ minutes: 240, perMinute: 20, latencyMs: 2500 }], { seed: 5 });
    await send(slow.records);
    await flushAll();
    expect(await incidentsOf("det-slow")).toEqual([]);
    const { status, body } = await getJson<{
      endpoints: {
        slower_than_default_objective: boolean;
        baselines: { objective?: { latency_ms: number | null; learning: boolean } };
      }[];
    }>("/v1/endpoints?service=det-slow");
    expect(status).toBe(200);
    expect(body.endpoints[0]?.slower_than_default_objective).toBe(true);
    expect(body.endpoints[0]?.baselines.objective?.learning).toBe(false);
    expect(body.endpoints[0]?.baselines.objective?.latency_ms ?? 0).toBeGreaterThan(3000);
    const detail = await getJson<{ state: { slower_than_default_objective: boolean } | null }>(
      `/v1/endpoints/det-slow/GET/${encodeURIComponent("/orders/:id")}`,
    );
    expect(detail.body.state?.slower_than_default_objective).toBe(true);

    const put = await call("/v1/services/det-slow-slo/detection", {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ slo: { latency_ms: 1000, latency_target: 0.99 } }),
    });
    expect(put.status).toBe(201);
    await send(traffic("det-slow-slo", [{ minutes: 30, perMinute: 20, latencyMs: 2500 }], { seed: 5 }).records);
    const paged = await incidentsOf("det-slow-slo");
    expect(paged).toHaveLength(1);
    expect(paged[0]?.severity).toBe("CRITICAL");
    expect(paged[0]?.signals.map((x) => x.kind)).toContain("latency_burn_page");
  });

  it("gives the same incidents whether the traffic arrives live (small batches) or as one backfill", async () => {
    const phases = [
      { minutes: 70, perMinute: 30 },
      { minutes: 6, perMinute: 30, errorRate: 0.6 },
      { minutes: 30, perMinute: 30, latencyMs: 260 },
      { minutes: 20, perMinute: 30 },
    ];
    const live = traffic("det-live", phases, { seed: 3 });
    const backfill = traffic("det-backfill", phases, { seed: 3 });
    await send(live.records, 30);
    await send(backfill.records, 1000);
    const shape = (list: ApiIncident[]) =>
      list.map((i) => ({
        opened_at: i.opened_at,
        severity: i.severity,
        status: i.status,
        kinds: i.signals.map((x) => x.kind).sort(),
      }));
    const fromLive = shape(await incidentsOf("det-live"));
    expect(fromLive.length).toBeGreaterThanOrEqual(1);
    expect(shape(await incidentsOf("det-backfill"))).toEqual(fromLive);
  });

  it("system health rolls up the endpoints and counts events", async () => {
    const { status, body } = await getJson<{
      status: string;
      events_processed: number;
      open_incidents: number;
      services: { service: string }[];
    }>("/v1/health/system");
    expect(status).toBe(200);
    expect(body.status).not.toBe("NORMAL");
    expect(body.open_incidents).toBeGreaterThanOrEqual(1);
    expect(body.events_processed).toBeGreaterThan(10_000);
    expect(body.services.map((s) => s.service)).toEqual(
      expect.arrayContaining(["det-outage", "det-latency", "det-quiet"]),
    );
  });

  it("re-evaluation from D1 reproduces the same incident ids without duplicates", async () => {
    const before = await incidentsOf("det-outage");
    const res = await call("/v1/control/re-evaluate?lookback_minutes=600&service=det-outage", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(200);
    const body = await res.json<{ endpoints: { records: number; incidents: string[] }[] }>();
    expect(body.endpoints).toHaveLength(1);
    expect(body.endpoints[0]?.records).toBeGreaterThan(7000);
    expect(body.endpoints[0]?.incidents).toEqual(before.map((i) => i.id));
    const after = await incidentsOf("det-outage");
    expect(after.map((i) => i.id)).toEqual(before.map((i) => i.id));
  });
});
