/**
 * `POST /v1/otlp/v1/traces`: OTLP/HTTP JSON export requests (the shape
 * @opentelemetry/exporter-trace-otlp-http sends; test/e2e/otlp.test.mjs runs the real exporter)
 * become records of their server spans, with OTLP's partial-success answer for refused spans.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { setSwitches } from "../src/control/switches";
import worker from "../src/index";
import { anyValue } from "../src/otlp/spans";
import { BASE, INGEST_KEY, countLogs, flushAll, getJson } from "./helpers";

type Log = {
  id: string | null;
  timestamp: number;
  service: string;
  method: string;
  route: string;
  path: string;
  status: number;
  latency_ms: number;
  error: string | null;
  source: string;
  user_agent: string | null;
  client_ip: string | null;
  response_bytes: number | null;
  attributes: Record<string, string | number | boolean> | null;
};
type Answer = { partialSuccess?: { rejectedSpans: number; errorMessage: string } };
type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Attr = { key: string; value: Record<string, unknown> };

const str = (key: string, value: string): Attr => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): Attr => ({ key, value: { intValue: String(value) } });
const hex = (n: number, len: number) => n.toString(16).padStart(len, "0");

let spanSeq = 1;
/** A server span that started `agoMs` ago and lasted `durationMs` (times as OTLP JSON strings of nanoseconds). */
function span(
  attributes: Attr[],
  o: {
    kind?: number;
    agoMs?: number;
    durationMs?: number;
    status?: { code: number; message?: string };
    events?: unknown[];
    spanId?: string;
  } = {},
) {
  const start = BigInt(Date.now() - (o.agoMs ?? 2000)) * 1_000_000n + 123_456n;
  const end = start + BigInt(Math.round((o.durationMs ?? 42.5) * 1_000_000));
  return {
    traceId: "5b8efff798038103d269b633813fc60c",
    spanId: o.spanId ?? hex(spanSeq++, 16),
    name: "GET /users/:id",
    kind: o.kind ?? 2,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: end.toString(),
    attributes,
    droppedAttributesCount: 0,
    events: o.events ?? [],
    status: o.status ?? { code: 0 },
  };
}

function exportRequest(service: string | null, spans: unknown[]) {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: service === null ? [] : [str("service.name", service), str("telemetry.sdk.language", "nodejs")],
          droppedAttributesCount: 0,
        },
        scopeSpans: [{ scope: { name: "@opentelemetry/instrumentation-http", version: "0.200.0" }, spans }],
      },
    ],
  };
}

/** Posts an export request and waits for the background hand-off to the endpoint objects. */
async function postTraces(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}/v1/otlp/v1/traces`, {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/json", ...headers },
      body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function logsOf(service: string): Promise<Log[]> {
  await flushAll();
  const { body } = await getJson<{ logs: Log[] }>(`/v1/logs?service=${service}&limit=100`);
  return body.logs;
}

const serverAttrs = (path = "/users/42", status = 200): Attr[] => [
  str("http.request.method", "GET"),
  str("url.path", path),
  int("http.response.status_code", status),
];

describe("POST /v1/otlp/v1/traces", () => {
  it("turns a server span into a record: method, route, path, status, duration, start time, service.name; answers {}", async () => {
    const s = span(
      [
        str("http.request.method", "GET"),
        str("http.route", "/users/:id"),
        str("url.path", "/users/42"),
        str("url.query", "expand=1&access_token=abc"),
        int("http.response.status_code", 201),
        str("user_agent.original", "otel-test/1.0"),
        str("client.address", "203.0.113.9"),
        int("http.response.body.size", 512),
      ],
      { durationMs: 42.5, spanId: "00f067aa0ba902b7" },
    );
    const res = await postTraces(exportRequest("otlp-basic", [s]));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect(await res.json()).toEqual({});
    const logs = await logsOf("otlp-basic");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service: "otlp-basic",
      method: "GET",
      route: "/users/:id",
      path: "/users/42?expand=1&access_token=[redacted]",
      status: 201,
      latency_ms: 42.5,
      timestamp: Math.floor(Number(BigInt(s.startTimeUnixNano) / 1_000_000n)),
      source: "otlp",
      id: "5b8efff798038103d269b633813fc60c-00f067aa0ba902b7",
      user_agent: "otel-test/1.0",
      client_ip: "203.0.113.9",
      response_bytes: 512,
      error: null,
    });
    expect(logs[0]?.attributes).toEqual({ trace_id: "5b8efff798038103d269b633813fc60c", span_id: "00f067aa0ba902b7" });
  });

  it("reads the legacy attribute names and derives the route from the path when http.route is absent", async () => {
    const legacy = span([
      str("http.method", "post"),
      str("http.target", "/orders/9f86d081884c7d65/items?x=1"),
      { key: "http.status_code", value: { intValue: 503 } },
    ]);
    const res = await postTraces(exportRequest("otlp-legacy", [legacy]));
    expect(await res.json()).toEqual({});
    const logs = await logsOf("otlp-legacy");
    expect(logs[0]).toMatchObject({
      method: "POST",
      route: "/orders/:id/items",
      path: "/orders/9f86d081884c7d65/items?x=1",
      status: 503,
    });
  });

  it("records only server spans: internal, client, producer and consumer spans are skipped, not rejected", async () => {
    const spans = [1, 3, 4, 5, 0].map((kind) => span(serverAttrs("/skipped"), { kind }));
    const res = await postTraces(exportRequest("otlp-kinds", [...spans, span(serverAttrs("/kept"))]));
    expect(await res.json()).toEqual({});
    expect((await logsOf("otlp-kinds")).map((l) => l.path)).toEqual(["/kept"]);
  });

  it("answers partialSuccess with the refused spans and their reasons, and keeps the valid ones", async () => {
    const spans = [
      span(serverAttrs("/ok")),
      span([str("http.request.method", "GET"), str("url.path", "/no-status")]),
      span(serverAttrs("/bad-status", 700)),
      span([str("url.path", "/no-method"), int("http.response.status_code", 200)]),
      { ...span(serverAttrs("/backwards")), endTimeUnixNano: "1000" },
      { ...span(serverAttrs("/garbage")), startTimeUnixNano: "yesterday" },
      span(serverAttrs("/ancient"), { agoMs: 30 * 24 * 60 * 60 * 1000 }),
    ];
    const res = await postTraces(exportRequest("otlp-partial", spans));
    expect(res.status).toBe(200);
    const body = await res.json<Answer>();
    expect(body.partialSuccess?.rejectedSpans).toBe(6);
    const message = body.partialSuccess?.errorMessage ?? "";
    expect(message).toMatch(/^6 span\(s\) rejected: /);
    expect(message).toContain("resourceSpans[0].scopeSpans[0].spans[1]: http.response.status_code: missing");
    expect(message).toContain("spans[2]: status: Too big");
    expect(message).toContain("spans[3]: http.request.method: missing");
    expect(message).toContain("spans[4]: endTimeUnixNano: before startTimeUnixNano");
    expect(message).toContain("spans[5]: startTimeUnixNano:");
    expect(message).toContain("spans[6]: timestamp: older than the raw-log retention");
    expect((await logsOf("otlp-partial")).map((l) => l.path)).toEqual(["/ok"]);
  });

  it("answers 400 invalid_records when every span is refused (a resource without service.name)", async () => {
    const res = await postTraces(exportRequest(null, [span(serverAttrs()), span(serverAttrs())]));
    expect(res.status).toBe(400);
    const body = await res.json<{
      error: {
        code: string;
        message: string;
        details: { accepted: number; rejected: { span: string; errors: string[] }[] };
      };
    }>();
    expect(body.error.code).toBe("invalid_records");
    expect(body.error.message).toMatch(/^2 span\(s\) rejected: /);
    expect(body.error.details.accepted).toBe(0);
    expect(body.error.details.rejected).toHaveLength(2);
    expect(body.error.details.rejected[0]?.errors.join(" ")).toContain(
      "service.name: missing from the resource attributes",
    );
  });

  it("keeps partialSuccess when the refused spans come with skipped ones (the request was taken in part)", async () => {
    const res = await postTraces(
      exportRequest("otlp-refused-and-skipped", [
        span(serverAttrs("/bad", 700)),
        span(serverAttrs("/client"), { kind: 3 }),
      ]),
    );
    expect(res.status).toBe(200);
    expect((await res.json<Answer>()).partialSuccess).toMatchObject({ rejectedSpans: 1 });
  });

  it("a failed span without a status code counts as 500, with its exception event as error", async () => {
    const failed = span([str("http.request.method", "GET"), str("url.path", "/crash")], {
      status: { code: 2, message: "upstream reset" },
      events: [
        {
          timeUnixNano: "1",
          name: "exception",
          attributes: [
            str("exception.type", "Error"),
            str("exception.message", "socket hang up; Bearer abcdefghijklmnop"),
          ],
        },
      ],
    });
    const errored = span(serverAttrs("/errored", 502), { status: { code: 2, message: "bad gateway from origin" } });
    expect(await (await postTraces(exportRequest("otlp-error", [failed, errored]))).json()).toEqual({});
    const byPath = new Map((await logsOf("otlp-error")).map((l) => [l.path, l]));
    expect(byPath.get("/crash")).toMatchObject({ status: 500 });
    expect(byPath.get("/crash")?.error).toMatch(/^Error: socket hang up; Bearer \[redacted\]/);
    expect(byPath.get("/errored")).toMatchObject({ status: 502, error: "bad gateway from origin" });
  });

  it("stores a span sent twice once (exporters resend a batch they could not deliver)", async () => {
    const s = span(serverAttrs("/retry"), { spanId: "aaaaaaaaaaaaaaaa" });
    for (let i = 0; i < 2; i++) expect((await postTraces(exportRequest("otlp-retry", [s]))).status).toBe(200);
    await flushAll();
    expect(await countLogs("otlp-retry")).toBe(1);
  });

  it("accepts a gzip body (the Collector's otlphttp exporter compresses by default)", async () => {
    const json = new TextEncoder().encode(JSON.stringify(exportRequest("otlp-gzip", [span(serverAttrs("/zipped"))])));
    const gz = new Uint8Array(
      await new Response(new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
    );
    const res = await postTraces(gz, { "Content-Encoding": "gzip" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect((await logsOf("otlp-gzip")).map((l) => l.path)).toEqual(["/zipped"]);
    const bad = await postTraces(new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4]), { "Content-Encoding": "gzip" });
    expect(bad.status).toBe(400);
  });

  it("answers 415 to content types other than JSON and protobuf, with a message that says what to send", async () => {
    for (const type of ["text/plain", "application/xml", ""]) {
      const res = await postTraces("{}", { "Content-Type": type });
      expect(res.status, type).toBe(415);
      const body = await res.json<ErrorBody>();
      expect(body.error.code).toBe("unsupported_media_type");
      expect(body.error.message).toContain("application/x-protobuf");
    }
  });

  it("answers 400 in the error envelope to a body that is not OTLP JSON, {} to an empty request", async () => {
    for (const bad of [
      "not json",
      "[]",
      "null",
      JSON.stringify({ resourceSpans: "x" }),
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: 5 }] }] }),
    ]) {
      const res = await postTraces(bad);
      expect(res.status, bad).toBe(400);
      expect((await res.json<ErrorBody>()).error.code).toBe("invalid_body");
    }
    for (const empty of [
      {},
      { resourceSpans: [] },
      { resourceSpans: [{ resource: null, scopeSpans: [{ spans: [] }] }] },
    ]) {
      const res = await postTraces(empty);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
    }
  });

  it("answers 413 past 1,000 spans", async () => {
    const spans = Array.from({ length: 1001 }, () => ({ kind: 1, startTimeUnixNano: "1", endTimeUnixNano: "2" }));
    const res = await postTraces(exportRequest("otlp-many", spans));
    expect(res.status).toBe(413);
    expect((await res.json<ErrorBody>()).error.code).toBe("too_many_records");
  });

  it("answers 503 with Retry-After while ingestion is paused (exporters retry)", async () => {
    await setSwitches(env.DB, { ingestion: false });
    try {
      const res = await postTraces(exportRequest("otlp-paused", [span(serverAttrs())]));
      expect(res.status).toBe(503);
      expect(res.headers.get("Retry-After")).toBe("60");
    } finally {
      await setSwitches(env.DB, { ingestion: true });
    }
  });
});

describe("anyValue", () => {
  it("reads OTLP JSON scalars: intValue as a string or a number, doubles, booleans; not arrays, maps or bytes", () => {
    expect(anyValue({ stringValue: "x" })).toBe("x");
    expect(anyValue({ intValue: "404" })).toBe(404);
    expect(anyValue({ intValue: 200 })).toBe(200);
    expect(anyValue({ doubleValue: 1.5 })).toBe(1.5);
    expect(anyValue({ boolValue: false })).toBe(false);
    expect(anyValue({ arrayValue: { values: [] } })).toBeUndefined();
    expect(anyValue({ bytesValue: "AAE=" })).toBeUndefined();
    expect(anyValue({ intValue: "" })).toBeUndefined();
    expect(anyValue(null)).toBeUndefined();
  });
});
