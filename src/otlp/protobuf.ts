/**
 * OTLP/HTTP protobuf (`Content-Type: application/x-protobuf`, the default of the Collector's
 * `otlphttp` exporter and of several SDKs). The body is read field by field (src/otlp/wire.ts)
 * into the OTLP JSON shape (hex ids, nanoseconds as digit strings, numeric enums) so that one
 * mapping, `spansToRecords`, serves both encodings. Field numbers are those of the official
 * opentelemetry-proto files (collector/trace/v1, trace/v1, common/v1, resource/v1); the code
 * generated from them (test/otlp/gen, `npm run otlp:gen`) is what the tests encode with. Pure.
 */
import { lenField, readMessage, varintField, WIRE, WireReader } from "./wire";

type Json = Record<string, unknown>;

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** An `AnyValue` in its OTLP JSON form (`intValue` as a string); arrays, maps and bytes become `{}` (not read). */
function anyValue(r: WireReader): Json {
  let out: Json = {};
  readMessage(r, {
    1: [WIRE.LEN, (f) => (out = { stringValue: f.string() })],
    2: [WIRE.VARINT, (f) => (out = { boolValue: f.varint() !== 0n })],
    3: [WIRE.VARINT, (f) => (out = { intValue: BigInt.asIntN(64, f.varint()).toString() })],
    4: [WIRE.FIXED64, (f) => (out = { doubleValue: f.double() })],
    5: [WIRE.LEN, (f) => (f.message(), (out = {}))],
    6: [WIRE.LEN, (f) => (f.message(), (out = {}))],
    7: [WIRE.LEN, (f) => (f.bytesField(), (out = {}))],
  });
  return out;
}

/** A `KeyValue` (key 1, value 2). */
function keyValue(r: WireReader): { key: string; value: Json } {
  const kv = { key: "", value: {} as Json };
  readMessage(r, {
    1: [WIRE.LEN, (f) => (kv.key = f.string())],
    2: [WIRE.LEN, (f) => (kv.value = anyValue(f.message()))],
  });
  return kv;
}

/** `repeated KeyValue attributes` at `field` of a message. */
const attributesAt = (field: number, into: { key: string; value: Json }[]) => ({
  [field]: [WIRE.LEN, (f: WireReader) => into.push(keyValue(f.message()))] as const,
});

/** A `Span`: the fields `spansToRecords` reads (ids, kind, times, attributes, events, status). */
function span(r: WireReader): Json {
  const attributes: { key: string; value: Json }[] = [];
  const events: Json[] = [];
  const out: Json = {
    traceId: "",
    spanId: "",
    kind: 0,
    startTimeUnixNano: "0",
    endTimeUnixNano: "0",
    attributes,
    events,
    status: null,
  };
  readMessage(r, {
    1: [WIRE.LEN, (f) => (out.traceId = hex(f.bytesField()))],
    2: [WIRE.LEN, (f) => (out.spanId = hex(f.bytesField()))],
    6: [WIRE.VARINT, (f) => (out.kind = Number(BigInt.asIntN(32, f.varint())))],
    7: [WIRE.FIXED64, (f) => (out.startTimeUnixNano = f.fixed64().toString())],
    8: [WIRE.FIXED64, (f) => (out.endTimeUnixNano = f.fixed64().toString())],
    ...attributesAt(9, attributes),
    11: [
      WIRE.LEN,
      (f) => {
        // Event: name 2, attributes 3.
        const event = { name: "", attributes: [] as { key: string; value: Json }[] };
        readMessage(f.message(), {
          2: [WIRE.LEN, (g) => (event.name = g.string())],
          ...attributesAt(3, event.attributes),
        });
        events.push(event);
      },
    ],
    15: [
      WIRE.LEN,
      (f) => {
        // Status: message 2, code 3 (1 is the deprecated code).
        const status = { code: 0, message: "" };
        readMessage(f.message(), {
          2: [WIRE.LEN, (g) => (status.message = g.string())],
          3: [WIRE.VARINT, (g) => (status.code = Number(BigInt.asIntN(32, g.varint())))],
        });
        out.status = status;
      },
    ],
  });
  return out;
}

/** `ScopeSpans` (and the deprecated `InstrumentationLibrarySpans`): spans are field 2 of both. */
function scopeSpans(r: WireReader): Json {
  const spans: Json[] = [];
  readMessage(r, { 2: [WIRE.LEN, (f) => spans.push(span(f.message()))] });
  return { spans };
}

/** `ResourceSpans`: resource 1 (its attributes 1), scope spans 2, instrumentation library spans 1000. */
function resourceSpans(r: WireReader): Json {
  const attributes: { key: string; value: Json }[] = [];
  const scopes: Json[] = [];
  const library: Json[] = [];
  readMessage(r, {
    1: [WIRE.LEN, (f) => readMessage(f.message(), attributesAt(1, attributes))],
    2: [WIRE.LEN, (f) => scopes.push(scopeSpans(f.message()))],
    1000: [WIRE.LEN, (f) => library.push(scopeSpans(f.message()))],
  });
  return { resource: { attributes }, scopeSpans: [...scopes, ...library] };
}

/**
 * A protobuf `ExportTraceServiceRequest` as the OTLP JSON object `exportTraceRequest` validates,
 * or null when the bytes are not one. Spans under the deprecated `instrumentation_library_spans`
 * (field 1000, sent by SDKs older than proto 0.15) are read as scope spans.
 */
export function decodeTraceRequest(bytes: Uint8Array): Json | null {
  const list: Json[] = [];
  try {
    readMessage(new WireReader(bytes), { 1: [WIRE.LEN, (f) => list.push(resourceSpans(f.message()))] });
  } catch {
    return null;
  }
  return { resourceSpans: list };
}

/**
 * A protobuf `ExportTraceServiceResponse`: empty for a full success, else `partial_success`
 * (field 1: `ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }`).
 */
export function encodeTraceResponse(partial?: {
  rejectedSpans: number;
  errorMessage: string;
}): Uint8Array<ArrayBuffer> {
  if (!partial) return new Uint8Array(0);
  const inner = [
    ...varintField(1, BigInt(partial.rejectedSpans)),
    ...lenField(2, new TextEncoder().encode(partial.errorMessage)),
  ];
  return Uint8Array.from(lenField(1, inner));
}
