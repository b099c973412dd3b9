/**
 * `POST /v1/otlp/v1/traces`: OTLP/HTTP with the JSON or the protobuf encoding, so that an OpenTelemetry SDK or
 * Collector exports straight to the monitor (endpoint `<base>/v1/otlp`, ingest key as a bearer
 * header). Server spans take the ingest path; the answer is OTLP's own: `{}` when every span was
 * taken, `partialSuccess` naming the refused ones when some were taken (exporters log it and do
 * not retry), and `400 invalid_records` when every span was refused. A protobuf request gets
 * its answer in protobuf (`ExportTraceServiceResponse`), as OTLP/HTTP requires; errors keep the
 * JSON envelope.
 */
import { Hono } from "hono";
import * as z from "zod";
import { switches } from "../control/switches";
import { ApiError, errorBody } from "../http/errors";
import { defineRoute } from "../http/route";
import type { AppEnv } from "../http/types";
import { payloadTooLarge } from "../http/body-limit";
import { zodMessages } from "../http/validate";
import { MAX_BODY_BYTES, MAX_RECORDS } from "../ingest/body";
import { serviceCapError, splitByServiceCap } from "../ingest/caps";
import { coalesceHandOff } from "../ingest/coalescer";
import { ingestCounters } from "../ingest/counters";
import { redactEmailsSetting } from "../ingest/privacy-settings";
import { retentionMs } from "../config";
import { countSpans, exportTraceRequest, partialSuccessMessage, spansToRecords } from "./spans";

// OTLP/HTTP protobuf media types (`application/x-protobuf` per the spec; `application/protobuf` also seen).
const PROTOBUF_TYPE = /^application\/(x-)?protobuf\s*(;|$)/i;
// The protobuf decoder (and the OTLP schema it builds from its generated descriptors) is loaded on
// the first protobuf request, not at the worker's startup: JSON-only deployments never pay for it.
const protobufCodec = () => import("./protobuf");

// The body as sent is bounded by the API's body limit (src/http/body-limit.ts); this bounds it inflated.
const tooLarge = () => payloadTooLarge(MAX_BODY_BYTES);

/** Reads a body (at most MAX_BODY_BYTES: the API's body limit), gunzipping it when it is gzip (the Collector's default). */
async function readBody(req: Request): Promise<Uint8Array> {
  const raw = new Uint8Array(await req.arrayBuffer());
  const gzip = /\bgzip\b/i.test(req.headers.get("Content-Encoding") ?? "") && raw[0] === 0x1f && raw[1] === 0x8b;
  if (!gzip) return raw;
  const reader = new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      // Bounded while inflating: a small gzip body must not become a large one in memory.
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, "invalid_body", "the body is not valid gzip");
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/** The JSON answer: `{}`, or OTLP's partial success naming the refused spans. */
const exportTraceAnswer = z.object({
  partialSuccess: z.object({ rejectedSpans: z.number().int(), errorMessage: z.string() }).optional(),
});

export const otlpApp = new Hono<AppEnv>();

defineRoute(
  otlpApp,
  {
    method: "POST",
    path: "/v1/traces",
    key: "ingest",
    tag: "Logs",
    summary: "OTLP/HTTP traces (JSON or protobuf): server spans become logs (≤ 1 MiB, ≤ 1,000 spans)",
    description:
      "Set an OpenTelemetry exporter's endpoint to `<base>/v1/otlp` (JSON or protobuf encoding, `http/json` or `http/protobuf`; gzip accepted). A protobuf request is answered with a protobuf `ExportTraceServiceResponse`; errors are JSON. Only server spans (kind 2) are recorded: `http.request.method`, `http.route` or `url.path`, `http.response.status_code`, the duration, `service.name` of the resource. Other kinds are skipped, not rejected.",
    request: {
      // Read here: JSON or protobuf, maybe gzipped, checked after the media type and the ingestion switch.
      body: {
        schema: exportTraceRequest,
        contentTypes: ["application/json", "application/x-protobuf"],
        validate: false,
      },
    },
    responses: {
      200: {
        description: "`{}` when every span was taken; OTLP's partial success naming the refused spans otherwise",
        schema: exportTraceAnswer,
      },
      400: {
        description:
          "not an OTLP JSON or protobuf ExportTraceServiceRequest (`invalid_body`), or every span refused (`invalid_records`)",
      },
      413: { description: "body over 1 MiB, or more than 1,000 spans" },
      415: { description: "neither application/json nor application/x-protobuf" },
      503: { description: "ingestion paused by the operator (`Retry-After`)" },
    },
  },
  async (c) => {
    const type = c.req.header("Content-Type") ?? "";
    const protobuf = PROTOBUF_TYPE.test(type);
    if (!protobuf && !/^application\/json\s*(;|$)/i.test(type)) {
      throw new ApiError(
        415,
        "unsupported_media_type",
        "send OTLP/HTTP with Content-Type: application/json or application/x-protobuf",
        { content_type: type || null },
      );
    }
    // Paused: 503 + Retry-After, which OTLP exporters retry, so spans are kept and resent.
    if (!(await switches(c.env.DB)).ingestion) {
      return c.json(
        errorBody("ingestion_paused", "ingestion is paused by the operator: resend later", { retry_after_seconds: 60 }),
        503,
        { "Retry-After": "60" },
      );
    }
    const body = await readBody(c.req.raw);
    const codec = protobuf ? await protobufCodec() : null;
    let json: unknown;
    if (codec) {
      json = codec.decodeTraceRequest(body);
      if (json === null)
        throw new ApiError(400, "invalid_body", "the body is not an OTLP protobuf ExportTraceServiceRequest");
    } else {
      try {
        json = JSON.parse(new TextDecoder().decode(body));
      } catch {
        throw new ApiError(400, "invalid_body", "the body is not JSON");
      }
    }
    const parsed =
      json !== null && typeof json === "object" && !Array.isArray(json) ? exportTraceRequest.safeParse(json) : null;
    if (!parsed?.success) {
      throw new ApiError(
        400,
        "invalid_body",
        'the body is not an OTLP JSON ExportTraceServiceRequest ({"resourceSpans": [...]})',
        parsed ? zodMessages(parsed.error) : undefined,
      );
    }
    const spans = countSpans(parsed.data);
    if (spans > MAX_RECORDS) {
      throw new ApiError(413, "too_many_records", `at most ${MAX_RECORDS} spans per request (got ${spans})`, {
        max_records: MAX_RECORDS,
      });
    }
    const batch = spansToRecords(parsed.data, {
      now: Date.now(),
      retentionMs: retentionMs(c.env),
      newKey: () => crypto.randomUUID(),
      redactEmails: redactEmailsSetting(c.env),
    });
    const capped = await splitByServiceCap(c.env, batch.records, (p) => c.executionCtx.waitUntil(p));
    batch.records = capped.kept;
    for (const r of capped.refused)
      batch.rejected.push({ span: `service ${r.service}`, errors: [serviceCapError(c.env)] });
    ingestCounters.requests++;
    ingestCounters.accepted += batch.records.length;
    ingestCounters.rejected += batch.rejected.length;
    const send = coalesceHandOff(c.env, batch.records);
    if (send) c.executionCtx.waitUntil(send);
    const answer = (partial?: { rejectedSpans: number; errorMessage: string }) =>
      codec
        ? c.body(codec.encodeTraceResponse(partial), 200, { "Content-Type": "application/x-protobuf" })
        : c.json(partial ? { partialSuccess: partial } : {}, 200);
    if (batch.rejected.length === 0) return answer();
    // OTLP's partial success is for a request accepted in part; one whose every span was refused
    // (and none skipped) is bad data, which the specification answers with a 400 (not retried).
    if (batch.records.length === 0 && batch.skipped === 0) {
      throw new ApiError(400, "invalid_records", partialSuccessMessage(batch.rejected), {
        accepted: 0,
        rejected: batch.rejected,
      });
    }
    return answer({ rejectedSpans: batch.rejected.length, errorMessage: partialSuccessMessage(batch.rejected) });
  },
);
