/**
 * The control API and the cron dispatch: switches (persisted, visible in /health, and what they
 * pause), each cron reaching its job and recording its run, the status document, and the
 * detector's use of synthetic probe results.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { CRONS } from "../src/cron/scheduled";
import worker from "../src/index";
import { ADMIN_KEY, call, flushAll, getJson, postLogs, record } from "./helpers";

const MINUTE = 60_000;
const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };

async function setSwitches(body: Record<string, boolean>): Promise<Response> {
  return call("/v1/control/switches", { method: "PUT", headers: admin, body: JSON.stringify(body) });
}

async function runCron(cron: string): Promise<void> {
  const controller = createScheduledController({ scheduledTime: Date.now(), cron });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

type Status = {
  jobs: { job: string; runs: number; last_error: string | null; last_rows: number | null }[];
  switches: Record<string, boolean>;
  backlog: { records: number };
};

describe("switches", () => {
  afterEach(async () => {
    await setSwitches({ ingestion: true, proxy_recording: true, probes: true });
  });

  it("pauses ingestion with a 503 and Retry-After, shows it in /health, and resumes", async () => {
    const off = await setSwitches({ ingestion: false });
    expect(off.status).toBe(200);
    expect(await off.json()).toEqual({ ingestion: false, proxy_recording: true, probes: true });
    const paused = await postLogs(record("ctl-pause"));
    expect(paused.status).toBe(503);
    expect(paused.headers.get("Retry-After")).toBe("60");
    expect((await paused.json<{ error: { code: string } }>()).error.code).toBe("ingestion_paused");
    const health = await (await call("/health")).json<{ switches: Record<string, boolean> }>();
    expect(health.switches.ingestion).toBe(false);
    await setSwitches({ ingestion: true });
    expect((await postLogs(record("ctl-pause"))).status).toBe(202);
  });

  it("stops recording proxied traffic while proxy_recording is off, and passes it through", async () => {
    const proxied = async (id: string) => {
      const res = await call("/proxy/shop/items", { headers: { "X-Request-ID": id } });
      expect(res.status).toBe(200);
      await res.text(); // the record is made once the body has been read to its end
    };
    const recorded = async (id: string) =>
      (
        await env.DB.prepare("SELECT count(*) AS n FROM request_logs WHERE request_id = ?")
          .bind(id)
          .first<{ n: number }>()
      )?.n ?? 0;
    await setSwitches({ proxy_recording: false });
    await proxied("ctl-proxy-off");
    await new Promise((r) => setTimeout(r, 100));
    await setSwitches({ proxy_recording: true });
    await proxied("ctl-proxy-on");
    for (let i = 0; i < 40 && (await recorded("ctl-proxy-on")) === 0; i++) {
      await flushAll();
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await recorded("ctl-proxy-on")).toBe(1);
    expect(await recorded("ctl-proxy-off")).toBe(0);
  });

  it("refuses unknown switches and non-boolean values", async () => {
    const res = await setSwitches({ ingestion: true, surprise: true });
    expect(res.status).toBe(400);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_request");
  });

  it("skips the probe cron while probes are paused", async () => {
    await setSwitches({ probes: false });
    const before = await getJson<Status>("/v1/control/status", ADMIN_KEY);
    const runs = before.body.jobs.find((j) => j.job === "probes")?.runs ?? 0;
    await runCron(CRONS.probes);
    const after = await getJson<Status>("/v1/control/status", ADMIN_KEY);
    expect(after.body.jobs.find((j) => j.job === "probes")?.runs ?? 0).toBe(runs);
  });
});

describe("cron dispatch and status", () => {
  it("runs each cron's job and records it in the status", async () => {
    for (const cron of [CRONS.aggregate, CRONS.prune, CRONS.probes]) await runCron(cron);
    const { status, body } = await getJson<Status>("/v1/control/status", ADMIN_KEY);
    expect(status).toBe(200);
    for (const job of ["aggregate", "prune", "probes"]) {
      const run = body.jobs.find((j) => j.job === job);
      expect(run?.runs, job).toBeGreaterThanOrEqual(1);
      expect(run?.last_error, job).toBeNull();
    }
    expect(body.switches).toEqual({ ingestion: true, proxy_recording: true, probes: true });
  });

  it("runs the jobs on demand, with their effect, and validates their parameters", async () => {
    const post = (path: string) => call(path, { method: "POST", headers: admin });
    // Aggregate: a log sent now is in this hour's summary afterwards.
    expect(
      (await postLogs(record("ctl-jobs", { timestamp: Date.now() - 1000, latency_ms: 42 }), { sync: true })).status,
    ).toBe(202);
    await flushAll();
    const aggregate = await post(`/v1/control/aggregate?from=${Date.now() - 3_600_000}&to=${new Date().toISOString()}`);
    expect(aggregate.status).toBe(200);
    expect((await aggregate.json<{ job: string; rows: number }>()).rows).toBeGreaterThanOrEqual(1);
    const summaries = await getJson<{ summaries: { count: number; max_ms: number }[] }>(
      "/v1/summaries?service=ctl-jobs",
    );
    expect(summaries.body.summaries.map((x) => x.count)).toEqual([1]);
    expect((await post("/v1/control/aggregate?from=later")).status).toBe(400);
    expect((await post(`/v1/control/aggregate?from=${Date.now()}&to=${Date.now() - MINUTE}`)).status).toBe(400);
    // Prune: a raw log older than the retention goes, the fresh one stays.
    const old = Date.now() - 8 * 24 * 3_600_000;
    await env.DB.prepare(
      "INSERT INTO request_logs (record_key, timestamp, received_at, service, method, route, path, status, latency_ms) VALUES ('ctl-old', ?, ?, 'ctl-jobs', 'GET', '/items/:id', '/items/1', 200, 5)",
    )
      .bind(old, old)
      .run();
    const prune = await post("/v1/control/prune");
    expect(prune.status).toBe(200);
    const left = await env.DB.prepare(
      "SELECT record_key FROM request_logs WHERE service = 'ctl-jobs' ORDER BY timestamp",
    ).all<{ record_key: string }>();
    expect(left.results.map((r) => r.record_key).includes("ctl-old")).toBe(false);
    expect(left.results).toHaveLength(1);
    expect((await post("/v1/control/prune?older_than_hours=0")).status).toBe(400);
    // Probes: a configured probe runs on demand and its run is in the status.
    const put = await call("/v1/services/ctl-probed", {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ origin: "http://origin.test", probes: [{ name: "items", path: "/items" }] }),
    });
    expect(put.status).toBe(201);
    const probes = await post("/v1/control/probes/run");
    expect(probes.status).toBe(200);
    const status = await getJson<{ probes: { service: string; probe: string; last_ok: boolean }[] }>(
      "/v1/control/status",
      ADMIN_KEY,
    );
    expect(status.body.probes.find((p) => p.service === "ctl-probed")).toMatchObject({ probe: "items", last_ok: true });
  });
});

describe("synthetic probes in the detector", () => {
  /** Sends probe results straight to the endpoint's object, as the probe runner's hand-off does. */
  async function probeResults(
    service: string,
    results: { at: number; status: number }[],
    traffic: { at: number; status: number }[] = [],
  ) {
    const ns = env.ENDPOINT_MONITOR;
    const stub = ns.get(ns.idFromName(`${service} GET /health`));
    const sent = [...results.map((r) => ({ ...r, probe: true })), ...traffic.map((r) => ({ ...r, probe: false }))].sort(
      (a, b) => a.at - b.at,
    );
    const records = sent.map((r, i) => ({
      key: `probe:${service}:${i}`,
      timestamp: r.at,
      received_at: r.at,
      service,
      method: "GET",
      route: "/health",
      path: "/health",
      status: r.status,
      latency_ms: 20,
      ttfb_ms: null,
      request_bytes: 0,
      response_bytes: 2,
      error: r.status >= 500 ? `expected 200, got ${r.status}` : null,
      response_empty: false,
      inconsistent: false,
      id: null,
      request_id: null,
      client_ip: null,
      user_agent: r.probe ? "edge-monitor-probe" : "client",
      consumer: null,
      region: null,
      attributes: null,
      source: r.probe ? ("probe" as const) : ("ingest" as const),
    }));
    await stub.ingest(records);
    return stub;
  }

  it("raises probe_failed after two failures in a row, and not for one", async () => {
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;
    const results = Array.from({ length: 30 }, (_, i) => ({
      at: start + i * MINUTE,
      status: i === 5 || i >= 20 ? 503 : 200,
    }));
    await probeResults("ctl-probe", results);
    await flushAll();
    const { body } = await getJson<{ incidents: { opened_at: number; signals: { kind: string }[] }[] }>(
      "/v1/incidents?service=ctl-probe",
    );
    expect(body.incidents).toHaveLength(1);
    expect(body.incidents[0]?.signals.map((s) => s.kind)).toEqual(["probe_failed"]);
    // Opened on the second failure in a row (minute 21), held for WARNING's two minutes: not on the lone failure at minute 5.
    expect(body.incidents[0]?.opened_at).toBeGreaterThanOrEqual(start + 21 * MINUTE);
    // Probes are not traffic: none of them counts as a request of the endpoint.
    const detail = await getJson<{ received: number; series: { minutes: { count: number }[] } }>(
      `/v1/endpoints/ctl-probe/GET/${encodeURIComponent("/health")}`,
    );
    expect(detail.body.received).toBe(30);
    expect(detail.body.series.minutes.reduce((n, m) => n + m.count, 0)).toBe(0);
  });

  it("tells an origin that is down (probes and traffic fail: critical) from an endpoint nobody calls (probes fine: warning)", async () => {
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 100 * MINUTE;
    const perMinute = (from: number, to: number, status: (m: number) => number) =>
      Array.from({ length: (to - from) * 20 }, (_, i) => ({
        at: start + from * MINUTE + i * 3000,
        status: status(from + Math.floor(i / 20)),
      }));
    const probesEvery = (status: (m: number) => number) =>
      Array.from({ length: 99 }, (_, m) => ({ at: start + m * MINUTE + 500, status: status(m) }));
    // Down: from minute 60 both the probes and the traffic get 503s.
    await probeResults(
      "ctl-down",
      probesEvery((m) => (m >= 60 ? 503 : 200)),
      perMinute(0, 99, (m) => (m >= 60 ? 503 : 200)),
    );
    // Unused: from minute 60 no traffic at all, the probes still fine.
    await probeResults(
      "ctl-unused",
      probesEvery(() => 200),
      perMinute(0, 60, () => 200),
    );
    await flushAll();
    const down = (
      await getJson<{ incidents: { severity: string; signals: { family: string }[] }[] }>(
        "/v1/incidents?service=ctl-down",
      )
    ).body.incidents;
    expect(down).toHaveLength(1);
    expect(down[0]?.severity).toBe("CRITICAL");
    expect(new Set(down[0]?.signals.map((x) => x.family))).toEqual(new Set(["availability", "probe"]));
    const unused = (
      await getJson<{ incidents: { severity: string; signals: { kind: string }[] }[] }>(
        "/v1/incidents?service=ctl-unused",
      )
    ).body.incidents;
    expect(unused).toHaveLength(1);
    expect(unused[0]?.severity).toBe("WARNING");
    const kinds = unused[0]?.signals.map((x) => x.kind) ?? [];
    expect(kinds).toContain("traffic_stop");
    expect(kinds.every((k) => k.startsWith("traffic_"))).toBe(true);
  });
});
