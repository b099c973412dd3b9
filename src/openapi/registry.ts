/**
 * Every route of the API, for the OpenAPI document: method, path (OpenAPI `{param}` form), tag,
 * summary, the key scope it requires and the zod schemas the route itself validates with (query,
 * path parameters, body), so the document cannot drift from the validation. Responses carry a
 * JSON Schema where one is cheap (zod where the route has one, a few hand-written objects) and a
 * description otherwise. test/openapi.test.ts fails when the app registers a route missing here.
 */
import * as z from "zod";
import { analysisBody } from "../ai/analysis";
import { archiveQuery } from "../archive/query";
import type { KeyScope } from "../auth/keys";
import { reevaluateQuery } from "../control/reevaluate";
import { quarantineListQuery, quarantineReplayQuery } from "../control/quarantine";
import { logRecordInput } from "../ingest/record";
import { exportTraceRequest } from "../otlp/spans";
import { SERVICE_NAME } from "../services/config";

/** A JSON Schema written by hand (for answers without a zod schema). */
export type JsonSchema = { [key: string]: unknown };

export interface ResponseDoc {
  description: string;
  /** A zod schema (converted as output) or a JSON Schema; none: described only. */
  schema?: z.ZodType | JsonSchema;
  /** Default `application/json`. */
  contentType?: string;
}

export interface RouteDoc {
  /** `ALL`: every method is accepted (the proxy). */
  method: "GET" | "POST" | "PUT" | "DELETE" | "ALL";
  path: string;
  tag: string;
  summary: string;
  description?: string;
  scope: KeyScope | "none";
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: { schema: z.ZodType | JsonSchema; description?: string; contentTypes?: string[] };
  responses: Record<number, ResponseDoc>;
}

const obj = (properties: Record<string, JsonSchema>, description?: string): JsonSchema => ({
  type: "object",
  properties,
  ...(description ? { description } : {}),
});
const list = (items: JsonSchema = { type: "object" }): JsonSchema => ({ type: "array", items });
const int: JsonSchema = { type: "integer" };
const str: JsonSchema = { type: "string" };
const nullable = (s: JsonSchema): JsonSchema => ({ anyOf: [s, { type: "null" }] });

const proxyParams = z.object({ service: z.string().regex(SERVICE_NAME) });
const proxyPathParams = proxyParams.extend({
  path: z.string().describe("the path below the service's origin (may hold slashes)"),
});

const notFound = (what: string) => ({ description: `no such ${what}` });

export const ROUTES: RouteDoc[] = [
  // Health
  // Ingest and logs
  {
    method: "POST",
    path: "/v1/logs",
    tag: "Logs",
    scope: "ingest",
    summary: "Ingest request logs: one record, an array or NDJSON (≤ 1 MiB, ≤ 1,000 records)",
    description:
      "Answers once the body is validated; `?sync=1` waits until the endpoint objects committed the records.",
    query: z.object({ sync: z.enum(["1", "true"]).optional() }),
    body: {
      schema: {
        anyOf: [
          { $ref: "#/components/schemas/LogRecord" },
          { type: "array", maxItems: 1000, items: { $ref: "#/components/schemas/LogRecord" } },
        ],
      },
      contentTypes: ["application/json", "application/x-ndjson"],
    },
    responses: {
      202: {
        description: "accepted (records failing validation are listed, the others kept)",
        schema: obj({
          accepted: int,
          rejected: list(obj({ index: int, errors: list(str) })),
          stored: int,
          duplicates: int,
          stored_directly_in_d1: int,
        }),
      },
      400: {
        description:
          "not JSON or NDJSON (`invalid_body`), or every record rejected (`invalid_records`, with `details.rejected` as in a 202)",
      },
      413: { description: "body over 1 MiB (`payload_too_large`) or more than 1,000 records (`too_many_records`)" },
      503: { description: "ingestion paused by the operator (`Retry-After`), or storage unavailable with `?sync=1`" },
    },
  },
  {
    method: "POST",
    path: "/v1/otlp/v1/traces",
    tag: "Logs",
    scope: "ingest",
    summary: "OTLP/HTTP traces (JSON or protobuf): server spans become logs (≤ 1 MiB, ≤ 1,000 spans)",
    description:
      "Set an OpenTelemetry exporter's endpoint to `<base>/v1/otlp` (JSON or protobuf encoding, `http/json` or `http/protobuf`; gzip accepted). A protobuf request is answered with a protobuf `ExportTraceServiceResponse`; errors are JSON. Only server spans (kind 2) are recorded: `http.request.method`, `http.route` or `url.path`, `http.response.status_code`, the duration, `service.name` of the resource. Other kinds are skipped, not rejected.",
    body: { schema: exportTraceRequest, contentTypes: ["application/json", "application/x-protobuf"] },
    responses: {
      200: {
        description: "`{}` when every span was taken; OTLP's partial success naming the refused spans otherwise",
        schema: obj({ partialSuccess: obj({ rejectedSpans: int, errorMessage: str }) }),
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
  {
    method: "GET",
    path: "/v1/archive/logs",
    tag: "Logs",
    scope: "read",
    summary:
      "Records of one service and time range from the R2 archive, oldest hour first, NDJSON streamed, bounded per call",
    description:
      "The filters of `GET /v1/logs` on the archived records (gzip NDJSON objects per service and UTC hour). Hours ascending; within an hour, objects in key order and lines in stored order (parts of an hour may overlap in time). A call stops after `limit` records, `max_objects` objects or `max_bytes` compressed bytes (the first object is always read). Every line but the last is a record as in `GET /v1/logs`; the last line is `{next_cursor, records, objects_read, bytes_read, lists, skipped_lines, stopped_by}` (`next_cursor` null: the range is done; otherwise repeat the call with the same filters and `cursor`), or `{error}` when R2 failed mid-stream. `to` defaults to now.",
    query: archiveQuery,
    responses: {
      200: { description: "NDJSON: records, then the summary line", contentType: "application/x-ndjson" },
      400: {
        description:
          "bad filters, `to` before `from`, or a cursor not from this API for this service (`invalid_request`)",
      },
    },
  },
  // Endpoints, incidents, system health, time series
  {
    method: "POST",
    path: "/v1/analysis",
    tag: "Incidents",
    scope: "read",
    summary: "Deterministic findings over a period, with an AI narrative when available",
    body: { schema: analysisBody },
    responses: { 200: { description: "findings and recommendations" } },
  },
  // Maintenance windows and deploy markers
  // Summaries
  // Control
  {
    method: "POST",
    path: "/v1/control/re-evaluate",
    tag: "Control",
    scope: "admin",
    summary:
      "Rebuild windows, baselines, health and incidents from the logs in D1 (or the R2 archive: `source=archive`, one endpoint named in full)",
    query: reevaluateQuery,
    responses: { 200: { description: "each endpoint's result or error" } },
  },
  {
    method: "GET",
    path: "/v1/control/quarantine",
    tag: "Control",
    scope: "admin",
    summary: "Records D1 refused on their own, with its error, across endpoints (keyset pages)",
    query: quarantineListQuery,
    responses: {
      200: {
        description: "a page",
        schema: obj({
          records: list(
            obj({
              service: str,
              method: str,
              route: str,
              record_key: str,
              error: str,
              quarantined_at: int,
              record: { type: "object" },
            }),
          ),
          next_cursor: nullable(str),
        }),
      },
    },
  },
  {
    method: "POST",
    path: "/v1/control/quarantine/replay",
    tag: "Control",
    scope: "admin",
    summary: "Try quarantined records again (an endpoint, a service or all): rows D1 takes leave the quarantine",
    query: quarantineReplayQuery,
    responses: {
      200: {
        description: "totals and each endpoint's result or error",
        schema: obj({ replayed: int, failed: int, remaining: int, endpoints: list() }),
      },
    },
  },
  // Services
  // Alerts
  // Metrics, docs, proxy
  {
    method: "ALL",
    path: "/proxy/{service}",
    tag: "Proxy",
    scope: "none",
    summary: "Proxy to the service's origin (its base path)",
    params: proxyParams,
    responses: {
      200: {
        description:
          "the origin's answer, passed through, sandboxed and without Set-Cookie (docs/operations.md: Security: proxied content)",
        contentType: "*/*",
      },
      403: {
        description: "service_worker_refused: a service worker's script (Service-Worker: script) is never served here",
      },
      404: notFound("service"),
      502: { description: "origin unreachable" },
      504: { description: "origin timeout" },
    },
  },
  {
    method: "ALL",
    path: "/proxy/{service}/{path}",
    tag: "Proxy",
    scope: "none",
    summary: "Proxy to a path of the service's origin",
    params: proxyPathParams,
    responses: {
      200: {
        description:
          "the origin's answer, passed through, sandboxed and without Set-Cookie (docs/operations.md: Security: proxied content)",
        contentType: "*/*",
      },
      403: {
        description: "service_worker_refused: a service worker's script (Service-Worker: script) is never served here",
      },
      404: notFound("service"),
      502: { description: "origin unreachable" },
      504: { description: "origin timeout" },
    },
  },
];

/** Schemas shared through `components.schemas`. */
export const COMPONENT_SCHEMAS: Record<string, z.ZodType> = { LogRecord: logRecordInput };
