/**
 * OTLP/HTTP protobuf (`Content-Type: application/x-protobuf`, the default of the Collector's
 * `otlphttp` exporter and of several SDKs). The body is decoded with @bufbuild/protobuf and code
 * generated from the official opentelemetry-proto files (src/otlp/gen, `npm run otlp:gen`), then
 * turned into the OTLP JSON shape (hex ids, nanoseconds as digit strings, numeric enums) so that
 * one mapping, `spansToRecords`, serves both encodings. Pure.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ExportTraceServiceRequestSchema } from "./gen/opentelemetry/proto/collector/trace/v1/trace_service_pb";
import type { AnyValue, KeyValue } from "./gen/opentelemetry/proto/common/v1/common_pb";
import type { Span } from "./gen/opentelemetry/proto/trace/v1/trace_pb";

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** An `AnyValue` in its OTLP JSON form (`intValue` as a string); arrays, maps and bytes become `{}` (not read). */
function anyValueJson(value: AnyValue | undefined): Record<string, unknown> {
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

function attributesJson(list: KeyValue[]): { key: string; value: unknown }[] {
  return list.map((kv) => ({ key: kv.key, value: anyValueJson(kv.value) }));
}

function spanJson(span: Span): Record<string, unknown> {
  return {
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    kind: span.kind,
    startTimeUnixNano: span.startTimeUnixNano.toString(),
    endTimeUnixNano: span.endTimeUnixNano.toString(),
    attributes: attributesJson(span.attributes),
    events: span.events.map((e) => ({ name: e.name, attributes: attributesJson(e.attributes) })),
    status: span.status ? { code: span.status.code, message: span.status.message } : null,
  };
}

/**
 * A protobuf `ExportTraceServiceRequest` as the OTLP JSON object `exportTraceRequest` validates,
 * or null when the bytes are not one. Spans under the deprecated `instrumentation_library_spans`
 * (field 1000, sent by SDKs older than proto 0.15) are read as scope spans.
 */
export function decodeTraceRequest(bytes: Uint8Array): Record<string, unknown> | null {
  let request;
  try {
    request = fromBinary(ExportTraceServiceRequestSchema, bytes);
  } catch {
    return null;
  }
  return {
    resourceSpans: request.resourceSpans.map((rs) => ({
      resource: { attributes: attributesJson(rs.resource?.attributes ?? []) },
      scopeSpans: [...rs.scopeSpans, ...rs.instrumentationLibrarySpans].map((ss) => ({ spans: ss.spans.map(spanJson) })),
    })),
  };
}

/**
 * A protobuf `ExportTraceServiceResponse`: empty for a full success, else `partial_success`
 * (field 1: `ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }`).
 * Written field by field because the generated schema predates partial success (proto 1.0).
 */
export function encodeTraceResponse(partial?: { rejectedSpans: number; errorMessage: string }): Uint8Array<ArrayBuffer> {
  const writer = new BinaryWriter();
  if (partial) {
    writer.tag(1, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.Varint).int64(partial.rejectedSpans);
    writer.tag(2, WireType.LengthDelimited).string(partial.errorMessage);
    writer.join();
  }
  return new Uint8Array(writer.finish());
}
