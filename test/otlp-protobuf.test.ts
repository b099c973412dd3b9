/**
 * `POST /v1/otlp/v1/traces` with `Content-Type: application/x-protobuf`: export requests encoded
 * with @bufbuild/protobuf and the generated OTLP schema (the library the route decodes with) take
 * the same mapping as JSON and are answered with a protobuf `ExportTraceServiceResponse`
 * (test/e2e/otlp-proto.test.mjs runs the real @opentelemetry/exporter-trace-otlp-proto).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { ExportTraceServiceRequestSchema } from "./otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import { BASE, INGEST_KEY, flushAll, getJson } from "./helpers";

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
  attributes: Record<string, string | number | boolean> | null;
};
type ErrorBody = { error: { code: string; message: string; details?: unknown } };

const str = (key: string, value: string) => ({ key, value: { value: { case: "stringValue" as const, value } } });
const int = (key: string, value: number) => ({
  key,
  value: { value: { case: "intValue" as const, value: BigInt(value) } },
});
const bytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

const TRACE_ID = "5b8efff798038103d269b633813fc60c";
let spanSeq = 1;

/** A span message (kind 2 = server unless told) that started `agoMs` ago and lasted `durationMs`. */
function span(
  attributes: ReturnType<typeof str | typeof int>[],
  o: {
    kind?: number;
    agoMs?: number;
    durationMs?: number;
    spanId?: string;
    status?: { code: number; message?: string };
  } = {},
) {
  const start = BigInt(Date.now() - (o.agoMs ?? 2000)) * 1_000_000n + 123_456n;
  return {
    traceId: bytes(TRACE_ID),
    spanId: bytes(o.spanId ?? (spanSeq++).toString(16).padStart(16, "0")),
    name: "GET /users/:id",
    kind: o.kind ?? 2,
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(Math.round((o.durationMs ?? 42.5) * 1_000_000)),
    attributes,
    status: o.status,
  };
}

/** An ExportTraceServiceRequest in protobuf, as an exporter sends it. */
function encode(service: string | null, spans: ReturnType<typeof span>[]): Uint8Array {
  const message = create(ExportTraceServiceRequestSchema, {
    resourceSpans: [
      {
        resource: { attributes: service === null ? [] : [str("service.name", service)] },
        scopeSpans: [{ scope: { name: "test" }, spans }],
      },
    ],
  });
  return toBinary(ExportTraceServiceRequestSchema, message);
}

async function post(body: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}/v1/otlp/v1/traces`, {
      method: "POST",
      headers: { Authorization: `Bearer ${INGEST_KEY}`, "Content-Type": "application/x-protobuf", ...headers },
      body,
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

/** Reads `partial_success` (field 1: rejected_spans = 1, error_message = 2) of a protobuf ExportTraceServiceResponse. */
function partialSuccess(body: Uint8Array): { rejectedSpans: number; errorMessage: string } | null {
  const reader = new BinaryReader(body);
  let partial: { rejectedSpans: number; errorMessage: string } | null = null;
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    if (field !== 1 || wire !== WireType.LengthDelimited) {
      reader.skip(wire);
      continue;
    }
    const inner = new BinaryReader(reader.bytes());
    partial = { rejectedSpans: 0, errorMessage: "" };
    while (inner.pos < inner.len) {
      const [f, w] = inner.tag();
      if (f === 1) partial.rejectedSpans = Number(inner.int64());
      else if (f === 2) partial.errorMessage = inner.string();
      else inner.skip(w);
    }
  }
  return partial;
}

async function logsOf(service: string): Promise<Log[]> {
  await flushAll();
  const { body } = await getJson<{ logs: Log[] }>(`/v1/logs?service=${service}&limit=100`);
  return body.logs;
}

const serverAttrs = (path = "/users/42", status = 200) => [
  str("http.request.method", "GET"),
  str("url.path", path),
  int("http.response.status_code", status),
];

describe("POST /v1/otlp/v1/traces with application/x-protobuf", () => {
  it("maps a server span like JSON and answers an empty protobuf ExportTraceServiceResponse", async () => {
    const s = span(
      [...serverAttrs("/users/42"), str("http.route", "/users/:id"), str("url.query", "expand=1&access_token=abc")],
      { spanId: "00f067aa0ba902b7", durationMs: 42.5 },
    );
    const res = await post(encode("otlp-pb-basic", [s, span(serverAttrs("/client"), { kind: 3 })]));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/x-protobuf");
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.byteLength).toBe(0);
    const logs = await logsOf("otlp-pb-basic");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      service: "otlp-pb-basic",
      method: "GET",
      route: "/users/:id",
      path: "/users/42?expand=1&access_token=[redacted]",
      status: 200,
      latency_ms: 42.5,
      timestamp: Number(s.startTimeUnixNano / 1_000_000n),
      source: "otlp",
      id: `${TRACE_ID}-00f067aa0ba902b7`,
    });
    expect(logs[0]?.attributes).toEqual({ trace_id: TRACE_ID, span_id: "00f067aa0ba902b7" });
  });

  it("answers partial_success in protobuf with the refused spans and keeps the valid ones", async () => {
    const spans = [
      span(serverAttrs("/ok")),
      span([str("http.request.method", "GET"), str("url.path", "/no-status")]),
      span(serverAttrs("/bad-status", 700)),
    ];
    const res = await post(encode("otlp-pb-partial", spans));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/x-protobuf");
    const partial = partialSuccess(new Uint8Array(await res.arrayBuffer()));
    expect(partial?.rejectedSpans).toBe(2);
    expect(partial?.errorMessage).toMatch(/^2 span\(s\) rejected: /);
    expect(partial?.errorMessage).toContain("spans[1]: http.response.status_code: missing");
    expect(partial?.errorMessage).toContain("spans[2]: status: Too big");
    expect((await logsOf("otlp-pb-partial")).map((l) => l.path)).toEqual(["/ok"]);
  });

  it("a failed span without a status code counts as 500 with its status message as error", async () => {
    const failed = span([str("http.request.method", "POST"), str("url.path", "/crash")], {
      status: { code: 2, message: "upstream reset" },
    });
    expect((await post(encode("otlp-pb-error", [failed]))).status).toBe(200);
    expect((await logsOf("otlp-pb-error"))[0]).toMatchObject({ method: "POST", status: 500, error: "upstream reset" });
  });

  it("accepts a gzip protobuf body (the Collector's default)", async () => {
    const raw = encode("otlp-pb-gzip", [span(serverAttrs("/zipped"))]);
    const gz = new Uint8Array(
      await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
    );
    const res = await post(gz, { "Content-Encoding": "gzip" });
    expect(res.status).toBe(200);
    expect((await logsOf("otlp-pb-gzip")).map((l) => l.path)).toEqual(["/zipped"]);
  });

  it("answers 400 invalid_body in the JSON error envelope to bytes that are not an ExportTraceServiceRequest", async () => {
    // A truncated length-delimited field, a wire type 7 (no such type), JSON sent as protobuf.
    for (const bad of [
      new Uint8Array([0x0a, 0x05, 0x01]),
      new Uint8Array([0x0f, 0x01]),
      new TextEncoder().encode('{"resourceSpans":[]}'),
    ]) {
      const res = await post(bad);
      expect(res.status).toBe(400);
      expect(res.headers.get("Content-Type")).toContain("application/json");
      const body = await res.json<ErrorBody>();
      expect(body.error.code).toBe("invalid_body");
      expect(body.error.message).toContain("protobuf");
    }
  });

  it("answers 400 invalid_records when every span is refused, and 200 to an empty request", async () => {
    const res = await post(encode(null, [span(serverAttrs())]));
    expect(res.status).toBe(400);
    expect((await res.json<ErrorBody>()).error.code).toBe("invalid_records");
    const empty = await post(new Uint8Array(0));
    expect(empty.status).toBe(200);
    expect(new Uint8Array(await empty.arrayBuffer()).byteLength).toBe(0);
  });
});
