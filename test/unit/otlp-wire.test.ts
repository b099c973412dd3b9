/**
 * The hand-written OTLP trace decoder (src/otlp/wire.ts, protobuf.ts) against @bufbuild/protobuf
 * and the generated schema: a request with every kind of value, the deprecated instrumentation
 * library spans, fields the decoder skips (links, trace state, schema URLs, dropped counts) and
 * extreme numbers decodes to what the library's decode and the former mapping gave.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../otlp/gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import type { AnyValue, KeyValue } from "../otlp/gen/opentelemetry/proto/common/v1/common_pb";
import type { Span } from "../otlp/gen/opentelemetry/proto/trace/v1/trace_pb";
import { decodeTraceRequest, encodeTraceResponse } from "../../src/otlp/protobuf";

// The mapping as it was with @bufbuild/protobuf in the Worker (the reference).
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
function anyJson(value: AnyValue | undefined): Record<string, unknown> {
  const v = value?.value;
  switch (v?.case) {
    case "stringValue":
    case "boolValue":
    case "doubleValue":
      return { [v.case]: v.value };
    case "intValue":
      return { intValue: v.value.toString() };
    default:
      return {};
  }
}
const attrs = (list: KeyValue[]) => list.map((kv) => ({ key: kv.key, value: anyJson(kv.value) }));
const spanJson = (s: Span) => ({
  traceId: hex(s.traceId),
  spanId: hex(s.spanId),
  kind: s.kind,
  startTimeUnixNano: s.startTimeUnixNano.toString(),
  endTimeUnixNano: s.endTimeUnixNano.toString(),
  attributes: attrs(s.attributes),
  events: s.events.map((e) => ({ name: e.name, attributes: attrs(e.attributes) })),
  status: s.status ? { code: s.status.code, message: s.status.message } : null,
});
function reference(bytes: Uint8Array) {
  const r = fromBinary(ExportTraceServiceRequestSchema, bytes);
  return {
    resourceSpans: r.resourceSpans.map((rs) => ({
      resource: { attributes: attrs(rs.resource?.attributes ?? []) },
      scopeSpans: [...rs.scopeSpans, ...rs.instrumentationLibrarySpans].map((ss) => ({
        spans: ss.spans.map(spanJson),
      })),
    })),
  };
}

// Init shapes, loosely typed: the library checks them when it encodes.
const kv = (key: string, value: { case: string; value: unknown }) => ({ key, value: { value } });
const id = (n: number, len: number) => Uint8Array.from({ length: len }, (_, i) => (n * 31 + i * 7) & 0xff);

describe("OTLP protobuf decoder", () => {
  it("decodes what @bufbuild/protobuf decodes, value kinds, skipped fields and the deprecated spans included", () => {
    const values = [
      kv("s", { case: "stringValue", value: "héllo ☃" }),
      kv("b", { case: "boolValue", value: true }),
      kv("f", { case: "boolValue", value: false }),
      kv("i", { case: "intValue", value: -9_007_199_254_740_993n }),
      kv("max", { case: "intValue", value: 9_223_372_036_854_775_807n }),
      kv("d", { case: "doubleValue", value: -1.5e-300 }),
      kv("arr", { case: "arrayValue", value: { values: [{ value: { case: "stringValue", value: "x" } }] } }),
      kv("map", { case: "kvlistValue", value: { values: [kv("k", { case: "intValue", value: 1n })] } }),
      kv("bytes", { case: "bytesValue", value: id(1, 5) }),
      { key: "empty" },
    ];
    const span = (n: number, kind: number) => ({
      traceId: id(n, 16),
      spanId: id(n + 1, 8),
      parentSpanId: id(n + 2, 8),
      traceState: "a=b",
      name: `span ${n}`,
      kind,
      startTimeUnixNano: 1_700_000_000_123_456_789n + BigInt(n),
      endTimeUnixNano: 18_446_744_073_709_551_615n,
      attributes: values,
      droppedAttributesCount: 3,
      events: [
        {
          timeUnixNano: 5n,
          name: "exception",
          attributes: [kv("exception.message", { case: "stringValue", value: "boom" })],
        },
      ],
      links: [{ traceId: id(9, 16), spanId: id(9, 8), attributes: values }],
      status: { code: 2, message: "failed" },
    });
    const init = {
      resourceSpans: [
        {
          resource: {
            attributes: [kv("service.name", { case: "stringValue", value: "api" })],
            droppedAttributesCount: 1,
          },
          scopeSpans: [
            {
              scope: { name: "lib", version: "1" },
              spans: [span(1, 2), { ...span(2, 3), status: undefined }],
              schemaUrl: "https://x",
            },
          ],
          instrumentationLibrarySpans: [{ instrumentationLibrary: { name: "old" }, spans: [span(3, 2)] }],
          schemaUrl: "https://y",
        },
        { scopeSpans: [{ spans: [{ name: "defaults" }] }] },
      ],
    };
    const message = create(
      ExportTraceServiceRequestSchema,
      init as unknown as MessageInitShape<typeof ExportTraceServiceRequestSchema>,
    );
    const bytes = toBinary(ExportTraceServiceRequestSchema, message);
    expect(decodeTraceRequest(bytes)).toEqual(reference(bytes));
  });

  it("refuses malformed bytes: a truncated field or varint, wire types 3, 4, 6 and 7, a known field of the wrong type", () => {
    for (const bad of [
      [0x0a, 0x05, 0x01],
      [0x0a, 0x80],
      [0x0b],
      [0x0c],
      [0x0e],
      [0x0f, 0x01],
      [0x08, 0x01],
      [0x00, 0x01],
    ]) {
      expect(decodeTraceRequest(Uint8Array.from(bad))).toBeNull();
    }
    expect(decodeTraceRequest(new Uint8Array(0))).toEqual({ resourceSpans: [] });
  });

  it("encodes partial_success as the library reads it", () => {
    expect(encodeTraceResponse().byteLength).toBe(0);
    const bytes = encodeTraceResponse({ rejectedSpans: 300, errorMessage: "2 spans: ☃" });
    // ExportTraceServiceResponse { partial_success = 1 { rejected_spans = 1; error_message = 2 } }
    expect([...bytes]).toEqual([
      0x0a,
      3 + 2 + 12,
      0x08,
      0xac,
      0x02,
      0x12,
      12,
      ...new TextEncoder().encode("2 spans: ☃"),
    ]);
  });
});
