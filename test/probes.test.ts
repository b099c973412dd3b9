import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { NO_ANSWER_STATUS, PROBE_USER_AGENT } from "../src/probes/check";
import { probeStatus, runProbes } from "../src/probes/run";
import { ADMIN_KEY, call, flushAll } from "./helpers";

function admin(path: string, method = "GET", body?: unknown): Promise<Response> {
  return call(path, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const created: string[] = [];

/** Configures a service on the origin worker with these probes (removed after the test, so later runs do not probe it). */
async function serviceWithProbes(name: string, probes: unknown[], extra: Record<string, unknown> = {}): Promise<void> {
  const res = await admin(`/v1/services/${name}`, "PUT", { origin: "http://origin.test", probes, ...extra });
  expect(res.status, await res.clone().text()).toBe(201);
  created.push(name);
}

afterEach(async () => {
  for (const name of created.splice(0)) await admin(`/v1/services/${name}`, "DELETE");
});

function run(opts: { now?: number; force?: boolean } = {}) {
  const now = opts.now ?? Date.now();
  return runProbes(env, { now, deadline: Date.now() + 30_000, cursor: null, force: opts.force ?? true });
}

async function statusOf(service: string, probe: string) {
  return (await probeStatus(env.DB)).find((r) => r.service === service && r.probe === probe);
}

interface LogRow {
  service: string;
  method: string;
  route: string;
  path: string;
  status: number;
  error: string | null;
  inconsistent: number;
  source: string;
  user_agent: string | null;
  response_bytes: number | null;
  attributes: string | null;
}

async function logsOf(service: string): Promise<LogRow[]> {
  await flushAll();
  const { results } = await env.DB.prepare(
    "SELECT * FROM request_logs WHERE service = ? ORDER BY timestamp, record_key",
  )
    .bind(service)
    .all<LogRow>();
  return results;
}

function toggle(key: string, status: number): Promise<Response> {
  return env.ORIGIN.fetch(`http://origin.test/health-toggle?key=${key}&status=${status}`, { method: "POST" });
}

describe("synthetic probes", () => {
  it("probes a healthy path: ok, recorded in D1 as source probe on the endpoint of its route", async () => {
    await serviceWithProbes("probe-ok", [
      { name: "status", path: "/status/200" },
      { name: "echo", path: "/echo?deep=1", expected_body: `"user-agent":"${PROBE_USER_AGENT}"` },
    ]);
    const outcome = await run();
    expect(outcome.rows).toBe(2);
    expect(outcome.detail).toMatchObject({ ok: 2, failed: 0 });

    const rows = await logsOf("probe-ok");
    expect(rows).toHaveLength(2);
    const items = rows.find((r) => r.path === "/status/200");
    expect(items).toMatchObject({
      method: "GET",
      route: "/status/:id",
      status: 200,
      source: "probe",
      error: null,
      inconsistent: 0,
      user_agent: PROBE_USER_AGENT,
    });
    expect(items?.response_bytes).toBeGreaterThan(0);
    expect(JSON.parse(items?.attributes ?? "{}")).toEqual({ probe: "status", probe_ok: true });
    expect(rows.find((r) => r.route === "/echo")).toMatchObject({ path: "/echo?deep=1", status: 200, source: "probe" });

    expect(await statusOf("probe-ok", "status")).toMatchObject({
      last_ok: true,
      last_status: 200,
      last_error: null,
      consecutive_failures: 0,
    });
    expect((await statusOf("probe-ok", "echo"))?.last_latency_ms).toBeGreaterThanOrEqual(0);
  });

  it("counts consecutive failures while the origin fails, and resets them when it recovers", async () => {
    await toggle("flappy", 503);
    await serviceWithProbes("probe-flappy", [{ name: "health", path: "/health-toggle?key=flappy" }]);

    expect((await run()).detail).toMatchObject({ ok: 0, failed: 1 });
    expect(await statusOf("probe-flappy", "health")).toMatchObject({
      last_ok: false,
      last_status: 503,
      consecutive_failures: 1,
    });
    await run();
    expect(await statusOf("probe-flappy", "health")).toMatchObject({
      last_ok: false,
      consecutive_failures: 2,
      last_error: "expected status 200, got 503",
    });

    await toggle("flappy", 200);
    await run();
    expect(await statusOf("probe-flappy", "health")).toMatchObject({
      last_ok: true,
      last_status: 200,
      last_error: null,
      consecutive_failures: 0,
    });

    const rows = await logsOf("probe-flappy");
    expect(rows.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(rows.every((r) => r.source === "probe" && r.route === "/health-toggle")).toBe(true);
  });

  it("respects the interval without force, and runs a probe once when two runs race for it", async () => {
    await serviceWithProbes("probe-interval", [{ name: "items", path: "/items", interval_seconds: 300 }]);
    const t0 = Date.now();
    const [a, b] = await Promise.all([run({ now: t0, force: false }), run({ now: t0, force: false })]);
    expect(a.rows + b.rows).toBe(1);
    expect((await statusOf("probe-interval", "items"))?.last_run_at).toBe(t0);

    const early = await run({ now: t0 + 60_000, force: false });
    expect(early.rows).toBe(0);
    expect(early.detail).toMatchObject({ not_due: 1 });
    expect((await statusOf("probe-interval", "items"))?.last_run_at).toBe(t0);

    const due = await run({ now: t0 + 300_000, force: false });
    expect(due.rows).toBe(1);
    expect((await statusOf("probe-interval", "items"))?.last_run_at).toBe(t0 + 300_000);
    expect(await logsOf("probe-interval")).toHaveLength(2);
  });

  it("fails a probe whose body lacks expected_body though the status matched, flagged inconsistent", async () => {
    await serviceWithProbes("probe-body", [{ name: "items", path: "/items", expected_body: "definitely-not-there" }]);
    expect((await run()).detail).toMatchObject({ ok: 0, failed: 1 });
    expect(await statusOf("probe-body", "items")).toMatchObject({
      last_ok: false,
      last_status: 200,
      last_error: "expected body not found",
      consecutive_failures: 1,
    });
    const [row] = await logsOf("probe-body");
    expect(row).toMatchObject({ status: 200, inconsistent: 1, error: "expected body not found", source: "probe" });
  });

  it("fails on timeout: no response head is status 599, a stalled body keeps the status", async () => {
    await serviceWithProbes("probe-slow", [
      { name: "head", path: "/slow?ms=3000", timeout_ms: 200 },
      { name: "body", path: "/sse?gap=3000", timeout_ms: 300 },
    ]);
    const outcome = await run();
    expect(outcome.detail).toMatchObject({ ok: 0, failed: 2 });
    expect(await statusOf("probe-slow", "head")).toMatchObject({
      last_ok: false,
      last_status: NO_ANSWER_STATUS,
      last_error: "no answer within 200 ms",
      consecutive_failures: 1,
    });
    expect(await statusOf("probe-slow", "body")).toMatchObject({
      last_ok: false,
      last_status: 200,
      last_error: "no complete answer within 300 ms",
    });
    const rows = await logsOf("probe-slow");
    expect(rows.find((r) => r.route === "/slow")).toMatchObject({
      status: 599,
      error: "no answer within 200 ms",
      source: "probe",
    });
  });

  it("still probes a service whose recording is disabled", async () => {
    await serviceWithProbes("probe-quiet", [{ name: "items", path: "/items" }], { recording: { enabled: false } });
    expect((await run()).detail).toMatchObject({ ok: 1 });
    expect(await logsOf("probe-quiet")).toHaveLength(1);
  });

  it("forgets the runs of probes no longer configured", async () => {
    await serviceWithProbes("probe-gone", [{ name: "items", path: "/items" }]);
    await run();
    expect(await statusOf("probe-gone", "items")).toBeDefined();
    await admin("/v1/services/probe-gone", "PUT", { origin: "http://origin.test", probes: [] });
    await run();
    expect(await statusOf("probe-gone", "items")).toBeUndefined();
  });
});

describe("probe settings", () => {
  it("fills in the defaults and shows probes in the service", async () => {
    const res = await admin("/v1/services/probe-defaults", "PUT", {
      origin: "http://origin.test",
      probes: [{ name: "root", path: "/" }],
    });
    created.push("probe-defaults");
    expect(res.status).toBe(201);
    expect((await res.json<{ probes: unknown[] }>()).probes).toEqual([
      { name: "root", method: "GET", path: "/", expected_status: 200, interval_seconds: 300, timeout_ms: 5000 },
    ]);
    const read = await (await admin("/v1/services/probe-defaults")).json<{ probes: { name: string }[] }>();
    expect(read.probes.map((p) => p.name)).toEqual(["root"]);
  });

  it("refuses probes that could leave the origin, duplicates and out-of-range settings", async () => {
    const probe = (over: Record<string, unknown>) => ({ name: "p", path: "/ok", ...over });
    const cases: [unknown[], string][] = [
      [[probe({ path: "http://evil.test/x" })], "probes.0.path"],
      [[probe({ path: "//evil.test/x" })], "probes.0.path"],
      [[probe({ path: "health" })], "probes.0.path"],
      [[probe({ path: "/a/../../b" })], "probes.0.path"],
      [[probe({ path: "/a/%2e%2e/b" })], "probes.0.path"],
      [[probe({ path: "/a\\b" })], "probes.0.path"],
      [[probe({ path: "/a#b" })], "probes.0.path"],
      [[probe({ path: `/${"a".repeat(2048)}` })], "probes.0.path"],
      [[probe({}), probe({ path: "/other" })], "probes.1.name"],
      [[probe({ name: "bad name" })], "probes.0.name"],
      [[probe({ method: "BREW" })], "probes.0.method"],
      [[probe({ expected_status: 700 })], "probes.0.expected_status"],
      [[probe({ interval_seconds: 10 })], "probes.0.interval_seconds"],
      [[probe({ timeout_ms: 60_001 })], "probes.0.timeout_ms"],
      [[probe({ expected_body: "x".repeat(1025) })], "probes.0.expected_body"],
      [[probe({ method: "HEAD", expected_body: "ok" })], "probes.0.expected_body"],
      [[probe({ url: "http://evil.test" })], "url"],
      [Array.from({ length: 21 }, (_, i) => probe({ name: `p${i}` })), "probes"],
    ];
    for (const [probes, field] of cases) {
      const res = await admin("/v1/services/probe-bad", "PUT", { origin: "http://origin.test", probes });
      expect(res.status, JSON.stringify(probes).slice(0, 200)).toBe(400);
      const err = await res.json<{ error: { code: string; details: string[] } }>();
      expect(err.error.code).toBe("invalid_request");
      expect(err.error.details.join(" ")).toContain(field);
    }
    expect((await admin("/v1/services/probe-bad")).status).toBe(404);
  });
});
