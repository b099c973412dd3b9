/**
 * `GET /metrics`: records sent through `POST /v1/logs`, counted by the endpoint objects,
 * published to D1 and rendered as Prometheus text. Checks exact counts per status class, the
 * histogram (cumulative, consistent with _count and _sum), label escaping, the republish of an
 * idle endpoint, probes left out, and auth.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { normaliseRecord } from "../src/ingest/record";
import { CONTENT_TYPE, escapeLabelValue } from "../src/metrics/exposition";
import { LATENCY_BOUNDS_MS, requestIncrements } from "../src/metrics/request-counters";
import { BASE, call, endpointStub, flushAll, postLogs, READ_KEY } from "./helpers";

const MINUTE = 60_000;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition's samples, unescaping label values as the format defines. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (const l of (m[2] ?? "").matchAll(re)) {
      labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const v = m[3] ?? "";
    out.push({ name: m[1] ?? "", labels, value: v === "+Inf" ? Infinity : Number(v) });
  }
  return out;
}

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const res = await call("/metrics", { headers: { Authorization: `Bearer ${READ_KEY}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toBe(CONTENT_TYPE);
  const text = await res.text();
  return { text, samples: parse(text) };
}

/** Samples of `name` for one endpoint, keyed by the remaining label (or "" when none). */
function of(samples: Sample[], name: string, route: string, key = ""): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples)
    if (s.name === name && s.labels.route === route) out.set(key ? (s.labels[key] ?? "") : "", s.value);
  return out;
}

/**
 * Records of one endpoint: `body` four minutes ago (so their minute closes), and one more now
 * that closes it, which the endpoint therefore evaluates and publishes.
 */
function batch(
  service: string,
  route: string,
  body: { status: number; latency_ms: number; response_empty?: boolean }[],
) {
  const past = Math.floor(Date.now() / MINUTE) * MINUTE - 4 * MINUTE;
  return [
    ...body.map((b, i) => ({ timestamp: past + i, service, method: "GET", path: "/x", route, ...b })),
    { timestamp: Date.now() - 1000, service, method: "GET", path: "/x", route, status: 200, latency_ms: 1 },
  ];
}

describe("GET /metrics", () => {
  it("exposes exact counts per status class, a cumulative histogram consistent with _count and _sum, silent failures and health", async () => {
    const body = [
      { status: 200, latency_ms: 5 },
      { status: 200, latency_ms: 5.5, response_empty: true },
      { status: 204, latency_ms: 10, response_empty: true },
      { status: 301, latency_ms: 42 },
      { status: 404, latency_ms: 100 },
      { status: 404, latency_ms: 250.5 },
      { status: 503, latency_ms: 999, response_empty: true },
      { status: 503, latency_ms: 10_000 },
      { status: 102, latency_ms: 10_001 },
    ];
    expect((await postLogs(batch("met-counts", "/orders", body), { sync: true })).status).toBe(202);
    await flushAll();
    const { samples } = await scrape();

    const requests = of(samples, "edge_monitor_requests_total", "/orders", "status_class");
    // The closing record (200, 1 ms) is a request too.
    expect(Object.fromEntries(requests)).toEqual({ "2xx": 4, "3xx": 1, "4xx": 2, "5xx": 2, other: 1 });
    expect(of(samples, "edge_monitor_silent_failures_total", "/orders").get("")).toBe(2);

    const buckets = of(samples, "edge_monitor_request_duration_seconds_bucket", "/orders", "le");
    expect([...buckets.keys()]).toEqual([...LATENCY_BOUNDS_MS.map((ms) => String(ms / 1000)), "+Inf"]);
    const latencies = [...body.map((b) => b.latency_ms), 1];
    for (const ms of LATENCY_BOUNDS_MS)
      expect(buckets.get(String(ms / 1000)), `le ${ms} ms`).toBe(latencies.filter((l) => l <= ms).length);
    const values = [...buckets.values()];
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] ?? 0);
    const count = of(samples, "edge_monitor_request_duration_seconds_count", "/orders").get("");
    expect(count).toBe(10);
    expect(buckets.get("+Inf")).toBe(count);
    expect([...requests.values()].reduce((a, b) => a + b, 0)).toBe(count);
    expect(of(samples, "edge_monitor_request_duration_seconds_sum", "/orders").get("")).toBeCloseTo(
      latencies.reduce((a, b) => a + b, 0) / 1000,
      9,
    );

    expect(of(samples, "edge_monitor_endpoint_health", "/orders").get("")).toBe(0);
    expect(of(samples, "edge_monitor_endpoint_health_score", "/orders").get("")).toBe(100);
    expect(of(samples, "edge_monitor_endpoint_severity_score", "/orders").get("")).toBe(0);
    expect(of(samples, "edge_monitor_backlog_records", "/orders").get("")).toBe(0);
    expect(
      samples.find((s) => s.name === "edge_monitor_open_incidents" && s.labels.service === "met-counts")?.value,
    ).toBe(0);
    const accepted = samples.find(
      (s) => s.name === "edge_monitor_ingest_records_total" && s.labels.outcome === "accepted",
    );
    expect(accepted?.value).toBeGreaterThanOrEqual(10);
  });

  it("an endpoint that goes idle still publishes its final counts", async () => {
    expect((await postLogs(batch("met-idle", "/idle", [{ status: 200, latency_ms: 20 }]), { sync: true })).status).toBe(
      202,
    );
    await flushAll();
    expect(of((await scrape()).samples, "edge_monitor_request_duration_seconds_count", "/idle").get("")).toBe(2);
    // Three more in the minute already open: no minute closes, so only the counters changed.
    const now = Date.now() - 500;
    const more = [503, 503, 200].map((status, i) => ({
      timestamp: now + i,
      service: "met-idle",
      method: "GET",
      path: "/x",
      route: "/idle",
      status,
      latency_ms: 30,
    }));
    expect((await postLogs(more, { sync: true })).status).toBe(202);
    await flushAll();
    const { samples } = await scrape();
    expect(of(samples, "edge_monitor_request_duration_seconds_count", "/idle").get("")).toBe(5);
    expect(of(samples, "edge_monitor_requests_total", "/idle", "status_class").get("5xx")).toBe(2);
  });

  it("escapes quotes, backslashes and line feeds in label values", async () => {
    const route = '/q/"quoted"/back\\slash/line\nfeed';
    expect((await postLogs(batch("met-escape", route, [{ status: 200, latency_ms: 3 }]), { sync: true })).status).toBe(
      202,
    );
    await flushAll();
    const { text, samples } = await scrape();
    expect(escapeLabelValue(route)).toBe('/q/\\"quoted\\"/back\\\\slash/line\\nfeed');
    expect(text).toContain(
      `edge_monitor_requests_total{service="met-escape",method="GET",route="${escapeLabelValue(route)}",status_class="2xx"} 2`,
    );
    // Every line is one sample or comment: the line feed never reaches the output raw.
    expect(
      text.split("\n").every((l) => l === "" || l.startsWith("# ") || /^edge_monitor_\w+(\{.*\})? \S+$/.test(l)),
    ).toBe(true);
    expect(of(samples, "edge_monitor_requests_total", route, "status_class").get("2xx")).toBe(2);
  });

  it("leaves synthetic probes out of the request counters", async () => {
    const ctx = { now: Date.now(), retentionMs: 7 * 86_400_000, newKey: () => crypto.randomUUID() };
    const normalised = batch("met-probe", "/health", [{ status: 200, latency_ms: 7 }]).map((r) => {
      const out = normaliseRecord(r, ctx);
      if (!out.ok) throw new Error(out.errors.join("; "));
      return out.record;
    });
    const first = normalised[0];
    if (!first) throw new Error("no record");
    const probe = { ...first, key: `g:${crypto.randomUUID()}`, source: "probe" as const, status: 503 };
    expect(requestIncrements([probe])).toEqual({});
    await endpointStub("met-probe", "GET", "/health").ingest([...normalised, probe]);
    await flushAll();
    const requests = of((await scrape()).samples, "edge_monitor_requests_total", "/health", "status_class");
    expect(requests.get("2xx")).toBe(2);
    expect(requests.get("5xx")).toBe(0);
  });

  it("lists endpoints in a stable order, each family once with HELP and TYPE", async () => {
    const { text } = await scrape();
    const families = text
      .split("\n")
      .filter((l) => l.startsWith("# TYPE "))
      .map((l) => l.split(" ")[2]);
    expect(new Set(families).size).toBe(families.length);
    expect(text.split("\n").filter((l) => l.startsWith("# HELP ")).length).toBe(families.length);
    const services = text
      .split("\n")
      .filter((l) => l.startsWith("edge_monitor_endpoint_health_score{"))
      .map((l) => /service="([^"]*)"/.exec(l)?.[1] ?? "");
    expect(services).toEqual([...services].sort());
    expect(text).toContain("edge_monitor_endpoints_omitted 0\n");
  });

  it("needs the read key unless METRICS_PUBLIC is true", async () => {
    expect((await call("/metrics")).status).toBe(401);
    expect((await call("/metrics", { headers: { Authorization: "Bearer test-ingest-key" } })).status).toBe(401);
    const open = Object.assign({}, env, { METRICS_PUBLIC: "true" });
    const res = await worker.fetch(new Request(`${BASE}/metrics`), open, createExecutionContext());
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("# TYPE edge_monitor_requests_total counter");
  });
});
