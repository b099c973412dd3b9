/**
 * Workers AI on real incidents: traffic with an outage goes through `POST /v1/logs`, the endpoint
 * objects open the incident, and the summarizer and the range analysis run against it with
 * `env.AI.run` stubbed (good JSON, bad JSON, an error, a slow answer, an answer that tries to
 * change the verdict, no binding at all). What the model is sent is read from the stub's calls.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { summarizeIncident } from "../src/ai/summarize";
import { ADMIN_KEY, READ_KEY, call, flushAll, getJson, postLogs } from "./helpers";
import { prng } from "./prng";

const MINUTE = 60_000;
const ROUTE = "/orders/:id";

interface Phase {
  minutes: number;
  perMinute: number;
  errorRate?: number;
}

/** Records of one endpoint over consecutive phases ending 5 minutes ago; `failing` adds fields to each 503. */
function traffic(service: string, phases: Phase[], failing: Record<string, unknown> = {}) {
  const random = prng(11);
  const total = phases.reduce((n, p) => n + p.minutes, 0);
  const start = Math.floor((Date.now() - 5 * MINUTE) / MINUTE) * MINUTE - total * MINUTE;
  const out: Record<string, unknown>[] = [];
  let minute = 0;
  for (const p of phases) {
    for (let m = 0; m < p.minutes; m++, minute++) {
      for (let i = 0; i < p.perMinute; i++) {
        const status = random() < (p.errorRate ?? 0.002) ? 503 : 200;
        out.push({
          timestamp: start + minute * MINUTE + Math.floor((i + random()) * (MINUTE / p.perMinute)),
          service,
          method: "GET",
          path: `/orders/${i}`,
          route: ROUTE,
          status,
          latency_ms: Math.round(80 * Math.exp(0.3 * (random() + random() + random() - 1.5)) * 10) / 10,
          ...(status === 503 ? failing : {}),
        });
      }
    }
  }
  return out;
}

async function send(records: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    const res = await postLogs(records.slice(i, i + 1000), { sync: true });
    expect(res.status).toBe(202);
  }
  await flushAll();
}

const OUTAGE: Phase[] = [
  { minutes: 60, perMinute: 60 },
  { minutes: 8, perMinute: 60, errorRate: 0.7 },
  { minutes: 4, perMinute: 60 },
];

type IncidentRow = Record<string, unknown> & {
  id: string;
  severity: string;
  status: string;
  signals: string;
  explanation: string;
  last_event_at: number;
};
type ApiIncident = {
  id: string;
  severity: string;
  status: string;
  explanation: string;
  ai_summary: unknown;
  ai_model: string | null;
  ai_status: string | null;
  ai_error: string | null;
  ai_updated_at: number | null;
};

async function incidentOf(service: string): Promise<IncidentRow> {
  const row = await env.DB.prepare("SELECT * FROM incidents WHERE service = ? ORDER BY opened_at DESC")
    .bind(service)
    .first<IncidentRow>();
  if (!row) throw new Error(`no incident for ${service}`);
  return row;
}

async function rowOf(id: string): Promise<IncidentRow> {
  const row = await env.DB.prepare("SELECT * FROM incidents WHERE id = ?").bind(id).first<IncidentRow>();
  if (!row) throw new Error(`no incident ${id}`);
  return row;
}

/** The incident's own fields: everything but the AI columns. */
const detected = (row: IncidentRow) => Object.fromEntries(Object.entries(row).filter(([k]) => !k.startsWith("ai_")));

function summarizeRoute(id: string): Promise<Response> {
  return call(`/v1/incidents/${id}/summarize`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
}

const GOOD = {
  summary: "GET /orders/:id returned 503 for most requests for about 8 minutes, then recovered.",
  likely_causes: ["An upstream dependency was unavailable", "A bad deploy"],
  suggested_actions: ["Check the upstream's health", "Review deploys around the start"],
  confidence: 0.7,
};

const aiRun = () => vi.spyOn(env.AI, "run");
/** The messages the model was sent in a stubbed call, as one string. */
const sentText = (spy: ReturnType<typeof aiRun>, n = 0): string => JSON.stringify(spy.mock.calls[n]?.[1] ?? null);

let outage: IncidentRow;

beforeAll(async () => {
  await send(traffic("ai-outage", OUTAGE));
  outage = await incidentOf("ai-outage");
  expect(outage.severity).toBe("CRITICAL");
  expect(outage.status).toBe("open");
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /v1/incidents/:id/summarize", () => {
  it("stores a valid JSON answer with the model's name, and sends a bounded JSON-mode request", async () => {
    const spy = aiRun().mockResolvedValue({ response: GOOD });
    const res = await summarizeRoute(outage.id);
    expect(res.status).toBe(200);
    const body = await res.json<ApiIncident>();
    expect(body.id).toBe(outage.id);
    expect(body.ai_status).toBe("ok");
    expect(body.ai_summary).toEqual(GOOD);
    expect(body.ai_model).toBe(env.AI_MODEL);
    expect(body.ai_error).toBeNull();
    expect(body.ai_updated_at).toBeGreaterThan(0);
    const row = await rowOf(outage.id);
    expect(row.ai_model).toBe(env.AI_MODEL);
    expect(JSON.parse(String(row.ai_summary))).toEqual(GOOD);
    expect(detected(row)).toEqual(detected(outage));

    expect(spy).toHaveBeenCalledTimes(1);
    const [model, inputs, options] = spy.mock.calls[0] ?? [];
    expect(model).toBe(env.AI_MODEL);
    const sent = inputs as {
      max_tokens: number;
      response_format: { type: string; json_schema: { required: string[] } };
      messages: { role: string; content: string }[];
    };
    expect(sent.max_tokens).toBe(600);
    expect(sent.response_format.type).toBe("json_schema");
    expect(sent.response_format.json_schema.required).toEqual([
      "summary",
      "likely_causes",
      "suggested_actions",
      "confidence",
    ]);
    expect(sent.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(sent.messages[0]?.content).toMatch(/JSON/);
    // The evidence: the explanation, the signals and the figures.
    expect(sent.messages[1]?.content).toContain("availability_burn_page");
    expect(sent.messages[1]?.content).toContain("sample_errors");
    expect(options).toMatchObject({ rejectIfBusy: true });
    expect((options as { signal?: AbortSignal }).signal).toBeInstanceOf(AbortSignal);
    // A read key cannot ask for a summary.
    expect(
      (
        await call(`/v1/incidents/${outage.id}/summarize`, {
          method: "POST",
          headers: { Authorization: `Bearer ${READ_KEY}` },
        })
      ).status,
    ).toBe(401);
  });

  it("accepts the answer as a JSON string, fenced or not", async () => {
    aiRun().mockResolvedValue({ response: `\`\`\`json\n${JSON.stringify(GOOD)}\n\`\`\`` });
    const result = await summarizeIncident(env, outage.id);
    expect(result).toEqual({ status: "ok", summary: GOOD, model: env.AI_MODEL });
    const { body } = await getJson<ApiIncident>(`/v1/incidents/${outage.id}`);
    expect(body.ai_summary).toEqual(GOOD);
  });

  it("bad JSON or a wrong shape is invalid, and the deterministic explanation stands", async () => {
    aiRun().mockResolvedValue({ response: "Sure! The incident looks bad, I would restart things." });
    const first = await summarizeIncident(env, outage.id);
    expect(first).toEqual({ status: "invalid", summary: null, model: env.AI_MODEL });
    let row = await rowOf(outage.id);
    expect(row.ai_status).toBe("invalid");
    // A failed attempt keeps the last good summary (stored by the test before) untouched.
    expect(JSON.parse(String(row.ai_summary))).toEqual(GOOD);
    expect(row.ai_error).toMatch(/JSON/);
    expect(row.explanation).toBe(outage.explanation);

    vi.restoreAllMocks();
    aiRun().mockResolvedValue({ response: { ...GOOD, confidence: 3, likely_causes: ["a", "b", "c", "d", "e", "f"] } });
    expect((await summarizeIncident(env, outage.id)).status).toBe("invalid");
    row = await rowOf(outage.id);
    expect(row.ai_error).toMatch(/confidence/);
    expect(detected(row)).toEqual(detected(outage));
    const { body } = await getJson<ApiIncident>(`/v1/incidents/${outage.id}`);
    expect(body.ai_status).toBe("invalid");
    expect(body.explanation).toBe(outage.explanation);
  });

  it("an error (the model is busy) fails fast, without a retry", async () => {
    const spy = aiRun().mockRejectedValue(new Error("3040: Capacity temporarily exceeded, please try again."));
    const started = Date.now();
    const result = await summarizeIncident(env, outage.id);
    expect(result).toEqual({ status: "failed", summary: null, model: env.AI_MODEL });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(spy).toHaveBeenCalledTimes(1);
    const row = await rowOf(outage.id);
    expect(row.ai_status).toBe("failed");
    expect(row.ai_error).toMatch(/Capacity/);
    expect(detected(row)).toEqual(detected(outage));
  });

  it("a slow answer times out and its request is aborted", async () => {
    const spy = aiRun().mockImplementation(
      () => new Promise((resolve) => setTimeout(() => resolve({ response: GOOD }), 1000)),
    );
    const started = Date.now();
    const result = await summarizeIncident(env, outage.id, { timeoutMs: 50 });
    expect(result.status).toBe("timeout");
    expect(result.summary).toBeNull();
    expect(Date.now() - started).toBeLessThan(900);
    const options = spy.mock.calls[0]?.[2] as { signal: AbortSignal };
    expect(options.signal.aborted).toBe(true);
    const row = await rowOf(outage.id);
    expect(row.ai_status).toBe("timeout");
    expect(row.ai_error).toMatch(/50 ms/);
  });

  it("an answer that claims there is no incident changes nothing but the AI fields", async () => {
    aiRun().mockResolvedValue({
      response: {
        summary: "This is not an incident. Severity: none. Status: resolved. No alert is needed.",
        likely_causes: [],
        suggested_actions: ["Close the incident"],
        confidence: 1,
        severity: "none",
        status: "resolved",
        is_incident: false,
        explanation: "Nothing happened.",
      },
    });
    const before = await rowOf(outage.id);
    const res = await summarizeRoute(outage.id);
    expect(res.status).toBe(200);
    const body = await res.json<ApiIncident & { signals: unknown }>();
    expect(body.ai_status).toBe("ok");
    expect(body.severity).toBe("CRITICAL");
    expect(body.status).toBe("open");
    expect(body.explanation).toBe(before.explanation);
    expect(Object.keys(body.ai_summary as object).sort()).toEqual([
      "confidence",
      "likely_causes",
      "suggested_actions",
      "summary",
    ]);
    const after = await rowOf(outage.id);
    for (const k of [
      "severity",
      "status",
      "signals",
      "explanation",
      "severity_score",
      "health_score",
      "action",
      "resolved_at",
      "figures",
      "updated_at",
    ]) {
      expect(after[k], k).toEqual(before[k]);
    }
    expect(detected(after)).toEqual(detected(before));
    const open = await getJson<{ incidents: { id: string }[] }>(
      "/v1/incidents?service=ai-outage&status=open&severity=CRITICAL",
    );
    expect(open.body.incidents.map((i) => i.id)).toContain(outage.id);
  });

  it("without an AI binding the status is unavailable, stored, and the explanation stands", async () => {
    const noAi = { ...env, AI: undefined } as unknown as Env;
    const result = await summarizeIncident(noAi, outage.id);
    expect(result).toEqual({ status: "unavailable", summary: null, model: null });
    const row = await rowOf(outage.id);
    expect(row.ai_status).toBe("unavailable");
    expect(detected(row)).toEqual(detected(outage));
    // The local binding, which cannot reach Cloudflare offline, is unavailable too.
    const res = await summarizeRoute(outage.id);
    expect(res.status).toBe(200);
    expect((await res.json<ApiIncident>()).ai_status).toBe("unavailable");
  });

  it("answers 404 for an unknown incident", async () => {
    const spy = aiRun();
    expect((await summarizeRoute("inc_nothere_x")).status).toBe(404);
    expect((await summarizeRoute("not-an-id")).status).toBe(404);
    await expect(summarizeIncident(env, "inc_nothere_x")).rejects.toThrow(/no incident/);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe("privacy of the prompt", () => {
  const SECRETS = [
    "abc.def",
    "sk_live_123",
    "session=xyz",
    "xyz",
    "4111 1111 1111 1111",
    "4111111111111111",
    "4111%201111",
  ];

  it("sends no token, API key, cookie or card number to the model, whatever the logs carry", async () => {
    const failing = {
      error:
        "upstream 401: Authorization: Bearer abc.def; retried with api_key=sk_live_123; Cookie: session=xyz; card 4111 1111 1111 1111",
      path: "/orders/9?api_key=sk_live_123&note=Bearer%20abc.def&pan=4111%201111%201111%201111",
    };
    await send(traffic("ai-private", OUTAGE, failing));
    const incident = await incidentOf("ai-private");
    // A row that skipped ingest redaction (an older version, a manual import): the prompt scrubs it again.
    await env.DB.prepare(
      "INSERT INTO request_logs (record_key, timestamp, received_at, service, method, route, path, status, latency_ms, error) VALUES (?, ?, ?, 'ai-private', 'GET', ?, ?, 500, 12, ?)",
    )
      .bind(
        "raw-unredacted-row",
        incident.last_event_at - 500,
        Date.now(),
        ROUTE,
        "/orders/9?api_key=sk_live_123&h=Bearer abc.def&c=Cookie: session=xyz&pan=4111 1111 1111 1111",
        "raw marker: Bearer abc.def api_key=sk_live_123 Cookie: session=xyz 4111 1111 1111 1111",
      )
      .run();
    const spy = aiRun().mockResolvedValue({ response: GOOD });
    expect((await summarizeIncident(env, incident.id)).status).toBe("ok");
    const prompt = sentText(spy);
    expect(prompt).toContain("raw marker");
    expect(prompt).toContain("[redacted]");
    for (const secret of SECRETS) expect(prompt, secret).not.toContain(secret);
  });

  it("the analysis prompt carries no secret from the focus either", async () => {
    const spy = aiRun().mockResolvedValue({ response: { narrative: "ok", recommendations: [], confidence: 0.5 } });
    const res = await analysis({
      lookback_minutes: 120,
      service: "ai-private",
      focus: "Bearer abc.def api_key=sk_live_123 Cookie: session=xyz 4111 1111 1111 1111",
    });
    expect(res.status).toBe(200);
    const prompt = sentText(spy);
    expect(prompt).toContain("focus");
    for (const secret of SECRETS) expect(prompt, secret).not.toContain(secret);
  });
});

function analysis(body: unknown, raw = false): Promise<Response> {
  return call("/v1/analysis", {
    method: "POST",
    headers: { Authorization: `Bearer ${READ_KEY}`, "Content-Type": "application/json" },
    body: raw ? String(body) : JSON.stringify(body),
  });
}

type Finding = {
  kind: string;
  service: string;
  route: string;
  metric: string;
  before: number | null;
  after: number | null;
  change: number | null;
  severity: string;
  text: string;
  incident_id: string | null;
};
type Analysis = {
  findings: Finding[];
  narrative: string | null;
  recommendations: string[];
  severity: string;
  confidence: number;
  ai_status: string;
  ai_model: string | null;
};

describe("POST /v1/analysis", () => {
  beforeAll(async () => {
    const res = await call(`/v1/control/aggregate?from=${Date.now() - 4 * 3_600_000}&to=${Date.now()}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(200);
  });

  it("reports the outage deterministically: the 5xx rise, the open incident, most severe first", async () => {
    const res = await analysis({ lookback_minutes: 60, service: "ai-outage" });
    expect(res.status).toBe(200);
    const body = await res.json<Analysis>();
    expect(body.severity).toBe("CRITICAL");
    expect(body.ai_status).toBe("unavailable");
    expect(body.narrative).toBeNull();
    expect(body.recommendations.length).toBeGreaterThan(0);
    expect(body.findings.every((f) => f.service === "ai-outage")).toBe(true);
    expect(body.findings[0]?.severity).toBe("CRITICAL");
    const incident = body.findings.find((f) => f.kind === "incident");
    expect(incident).toMatchObject({ incident_id: outage.id, severity: "CRITICAL", route: ROUTE });
    const errors = body.findings.find((f) => f.kind === "error_rate");
    expect(errors?.route).toBe(ROUTE);
    expect(errors?.after ?? 0).toBeGreaterThan(0.05);
    expect(["WARNING", "CRITICAL"]).toContain(errors?.severity);
    expect(errors?.text).toMatch(/5xx rate of ai-outage GET \/orders\/:id rose/);
    const ranks = body.findings.map((f) => ({ CRITICAL: 2, WARNING: 1, INFO: 0 })[f.severity] ?? -1);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(body.confidence).toBeGreaterThanOrEqual(0);
    expect(body.confidence).toBeLessThanOrEqual(1);
  });

  it("keeps the deterministic severity when the model says all is well, and reads the findings only", async () => {
    const spy = aiRun().mockResolvedValue({
      response: JSON.stringify({
        narrative: "Nothing happened; severity NORMAL.",
        recommendations: ["Do nothing"],
        confidence: 0.9,
        severity: "NORMAL",
      }),
    });
    const res = await analysis({ lookback_minutes: 60, service: "ai-outage", focus: "errors" });
    const body = await res.json<Analysis>();
    expect(body.severity).toBe("CRITICAL");
    expect(body.ai_status).toBe("ok");
    expect(body.ai_model).toBe(env.AI_MODEL);
    expect(body.narrative).toBe("Nothing happened; severity NORMAL.");
    expect(body.recommendations).toEqual(["Do nothing"]);
    expect(body.findings.some((f) => f.kind === "incident")).toBe(true);
    const prompt = sentText(spy);
    expect(prompt).toContain("5xx rate of ai-outage");
    expect(prompt).not.toContain("/orders/1");
  });

  it("a failing or slow model leaves the findings and the severity as they are", async () => {
    aiRun().mockRejectedValue(new Error("boom"));
    const failed = await (await analysis({ lookback_minutes: 60, service: "ai-outage" })).json<Analysis>();
    expect(failed.ai_status).toBe("failed");
    expect(failed.narrative).toBeNull();
    expect(failed.severity).toBe("CRITICAL");
    expect(failed.findings.length).toBeGreaterThan(0);
  });

  it("a quiet range is NORMAL with no findings", async () => {
    const body = await (await analysis({ lookback_minutes: 30, service: "nobody-here" })).json<Analysis>();
    expect(body.severity).toBe("NORMAL");
    expect(body.findings).toEqual([]);
  });

  it("refuses invalid requests with 400", async () => {
    for (const bad of [
      {},
      { lookback_minutes: 0 },
      { lookback_minutes: 10_081 },
      { lookback_minutes: 1.5 },
      { lookback_minutes: "60" },
      { lookback_minutes: 60, focus: "x".repeat(201) },
      { lookback_minutes: 60, service: "bad service!" },
      { lookback_minutes: 60, surprise: true },
    ]) {
      const res = await analysis(bad);
      expect(res.status, JSON.stringify(bad).slice(0, 60)).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("invalid_request");
    }
    const notJson = await analysis("{nope", true);
    expect(notJson.status).toBe(400);
    expect((await notJson.json<{ error: { code: string } }>()).error.code).toBe("invalid_body");
  });
});
