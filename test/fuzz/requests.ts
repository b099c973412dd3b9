/**
 * The fuzz plan and its request generators. Every operation of the OpenAPI document (built from
 * the routes' own definitions in the app's route table, src/openapi/document.ts) is
 * fuzzed with its own path, query and body schemas, so a new route is fuzzed as soon as it is
 * registered. Inputs go through the real auth: mostly the right key (so they reach validation),
 * some with the wrong scope, a wrong key or none.
 */
import fc from "fast-check";
import { app } from "../../src/app";
import { ALL_METHODS, buildDocument, documentedRoutes } from "../../src/openapi/document";
import type { z } from "zod";
import { ADMIN_KEY, BASE, INGEST_KEY, READ_KEY } from "../helpers";
import { anyKey, anyString, asQueryValue, deeplyNested, fromSchema, hugeString, junk, type JsonSchema } from "./values";

export type Scope = "ingest" | "read" | "admin" | "none";

/** One method of one documented path. */
export interface Operation {
  key: string;
  method: string;
  path: string;
  scope: Scope;
  params: { name: string; schema: JsonSchema }[];
  query: { name: string; schema: JsonSchema; required: boolean }[];
  /** The JSON Schema of the body, and the zod schema the route validates it with. */
  body?: { schema: JsonSchema; zod?: z.ZodType; contentTypes: string[] };
  /** Whether a 2xx answer is JSON (the error envelope is JSON everywhere). */
  jsonAnswer: boolean;
}

/** A request ready to send. */
export interface FuzzRequest {
  method: string;
  /** Path and query. */
  target: string;
  headers: Record<string, string>;
  body: string | Uint8Array | null;
  /** Gzip the body (and say so in Content-Encoding) before sending. */
  gzip: boolean;
}

/** Documented operations not fuzzed here, each with the reason. */
export const NOT_FUZZED: Record<string, string> = {
  "/proxy/{service}": "passes the origin's own answer through (5xx included): not a JSON route of the monitor",
  "/proxy/{service}/{path}": "passes the origin's own answer through (5xx included): not a JSON route of the monitor",
};

const ROUTES = documentedRoutes(app.routes);
export const DOC = buildDocument("fuzz", ROUTES);

/** Every documented operation, in document order, with what it takes. */
export function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const route of ROUTES) {
    if (route.path in NOT_FUZZED) continue;
    const item = (DOC.paths as Record<string, Record<string, JsonSchema>>)[route.path] ?? {};
    for (const method of route.method === "ALL" ? ALL_METHODS : [route.method.toLowerCase()]) {
      const op = item[method] ?? {};
      const parameters = (op.parameters ?? []) as {
        name: string;
        in: string;
        required?: boolean;
        schema: JsonSchema;
      }[];
      const content = ((op.requestBody as JsonSchema | undefined)?.content ?? undefined) as
        Record<string, { schema: JsonSchema }> | undefined;
      const ok = route.responses[200] ?? route.responses[201] ?? route.responses[202];
      ops.push({
        key: `${method.toUpperCase()} ${route.path}`,
        method: method.toUpperCase(),
        path: route.path,
        scope: route.scope,
        params: parameters.filter((p) => p.in === "path").map((p) => ({ name: p.name, schema: p.schema })),
        query: parameters
          .filter((p) => p.in === "query")
          .map((p) => ({ name: p.name, schema: p.schema, required: p.required === true })),
        body: content
          ? {
              schema: content["application/json"]?.schema ?? {},
              zod: route.body && "safeParse" in route.body.schema ? route.body.schema : undefined,
              contentTypes: Object.keys(content),
            }
          : undefined,
        jsonAnswer: ok === undefined || ok.contentType === undefined || ok.contentType === "application/json",
      });
    }
  }
  return ops;
}

/** Content types, right and wrong, for any body. */
export const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json;;;",
  "application/x-ndjson",
  "application/jsonl",
  "application/json-seq",
  "text/plain",
  "text/html",
  "application/octet-stream",
  "multipart/form-data; boundary=xyz",
  "application/x-www-form-urlencoded",
  "application/x-protobuf",
  "application/protobuf",
  "application/json; charset=utf-16",
  "*/*",
  "",
];

const contentType = fc.oneof(
  { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 5 },
  { arbitrary: fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")), weight: 1 },
);

/** Bodies that are not what any route wants: text, bytes, broken and odd JSON. */
export const rawBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { arbitrary: anyString, weight: 3 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      "",
      "{",
      "[",
      "}",
      "null",
      "[]",
      "{}",
      "0",
      "-0",
      "1e999",
      "NaN",
      '"x"',
      '{"a":1}{"b":2}',
      "\ufeff{}",
      '{"a":1,}',
      "[1,2,]",
      "{'a':1}",
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      "\n\n\n",
      "{}\n{}\n",
      "[{}]\n[{}]",
      deeplyNested(20_000, "array"),
      deeplyNested(5_000, "object"),
      '{"a":"' + "\\u0000".repeat(1000) + '"}',
      '"\\ud800"',
    ),
    weight: 2,
  },
  {
    arbitrary: fc.tuple(junk, fc.nat()).map(([v, n]) => {
      const s = JSON.stringify(v) ?? "";
      return s.slice(0, n % (s.length + 1));
    }),
    weight: 1,
  },
);

const KEYS: Record<Exclude<Scope, "none">, string[]> = {
  ingest: [INGEST_KEY, "second-ingest-key"],
  read: [READ_KEY, ADMIN_KEY],
  admin: [ADMIN_KEY],
};

/** Authorization headers: mostly the right key for the scope, then wrong scopes, wrong keys, none. */
export function authHeader(scope: Scope): fc.Arbitrary<string | null> {
  const right = scope === "none" ? fc.constant(null) : fc.constantFrom(...KEYS[scope].map((k) => `Bearer ${k}`));
  const wrong = fc.constantFrom(
    null,
    "",
    "Bearer",
    "Bearer ",
    `Bearer ${INGEST_KEY}`,
    `Bearer ${READ_KEY}`,
    `Bearer  ${ADMIN_KEY}`,
    `bearer ${ADMIN_KEY}`,
    `Bearer ${ADMIN_KEY} `,
    `Bearer ${ADMIN_KEY}x`,
    "Basic dXNlcjpwYXNz",
    `Bearer ${"k".repeat(5000)}`,
    "Bearer \u00e9",
  );
  const junkHeader = fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, "").trim());
  return fc.oneof(
    { arbitrary: right, weight: 12 },
    { arbitrary: wrong, weight: 2 },
    { arbitrary: junkHeader, weight: 1 },
  );
}

/** A path parameter: known values (seeded records), schema-shaped ones, junk; percent-encoded, or with `%` and spaces left raw. */
function pathValue(schema: JsonSchema, known: readonly string[]): fc.Arbitrary<string> {
  const options: fc.WeightedArbitrary<string>[] = [
    { arbitrary: fromSchema(schema, DOC).map(asQueryValue), weight: 4 },
    { arbitrary: anyString, weight: 1 },
  ];
  if (known.length > 0) options.push({ arbitrary: fc.constantFrom(...known), weight: 4 });
  return fc
    .tuple(fc.oneof(...options), fc.nat(5))
    .map(([v, mode]) => (mode === 0 ? v.replace(/[/?#\\]/g, encode) : encode(v)));
}

/** `encodeURIComponent`, with lone surrogates (which it refuses) sent as U+FFFD as a URL would. */
export function encode(v: string): string {
  return encodeURIComponent(
    v.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  );
}

const WEIRD_QUERIES = [
  "?",
  "?&&&",
  "?=",
  "?a",
  "?%",
  "?%zz=%zz",
  "?a=1&a=2&a=3",
  "?" + "x=1&".repeat(500),
  "?limit=1;limit=2",
  "?\u00e9=\u00e9",
  "?from[]=1&to[]=2",
];

/** A query string: the documented parameters (shaped, at bounds, junk, repeated) plus unknown ones, or raw oddities. */
function queryString(op: Operation): fc.Arbitrary<string> {
  const params = op.query.map((q) =>
    fc
      .tuple(fc.nat(9), fromSchema(q.schema, DOC, 0, q.name), fc.nat(9))
      .map(([presence, v, repeat]): [string, string][] => {
        if (presence < (q.required ? 1 : 5)) return [];
        const value = asQueryValue(v);
        return repeat === 0
          ? [
              [q.name, value],
              [q.name, "2"],
            ]
          : [[q.name, value]];
      }),
  );
  const extra = fc.array(fc.tuple(anyKey, anyString), { maxLength: 2 });
  const structured = fc
    .tuple(fc.tuple(...params), fc.oneof({ arbitrary: fc.constant([]), weight: 4 }, { arbitrary: extra, weight: 1 }))
    .map(([ps, more]) => {
      const entries = [...ps.flat(), ...more];
      return entries.length === 0 ? "" : `?${new URLSearchParams(entries).toString()}`;
    });
  return fc.oneof({ arbitrary: structured, weight: 9 }, { arbitrary: fc.constantFrom(...WEIRD_QUERIES), weight: 1 });
}

/** A body for `op`: JSON shaped by its schema (usually sent as JSON), or raw junk under any content type. */
function bodyOf(op: Operation): fc.Arbitrary<{ body: string | Uint8Array | null; type: string | null }> {
  const raw = fc.record({ body: rawBody, type: contentType });
  if (!op.body) {
    if (op.method === "GET") return fc.constant({ body: null, type: null });
    return fc.oneof({ arbitrary: fc.constant({ body: null, type: null }), weight: 4 }, { arbitrary: raw, weight: 1 });
  }
  const types = op.body.contentTypes;
  const json = fc.record({
    body: fromSchema(op.body.schema, DOC).map((v) => JSON.stringify(v) ?? "null"),
    type: fc.oneof({ arbitrary: fc.constantFrom(...types), weight: 6 }, { arbitrary: contentType, weight: 1 }),
  });
  return fc.oneof({ arbitrary: json, weight: 6 }, { arbitrary: raw, weight: 2 });
}

/**
 * Requests for `op`. `known` holds path parameter values that name stored records (by
 * parameter name), so reads, writes and deletes also reach existing rows.
 */
export function requestsFor(op: Operation, known: Record<string, readonly string[]>): fc.Arbitrary<FuzzRequest> {
  const params = fc.tuple(...op.params.map((p) => pathValue(p.schema, known[p.name] ?? [])));
  return fc
    .record({ auth: authHeader(op.scope), params, query: queryString(op), body: bodyOf(op), gzip: fc.nat(30) })
    .map(({ auth, params: values, query, body, gzip }) => {
      let path = op.path;
      op.params.forEach((p, i) => (path = path.replace(`{${p.name}}`, values[i] ?? "")));
      const headers: Record<string, string> = {};
      if (auth !== null) headers.Authorization = auth;
      if (body.type !== null) headers["Content-Type"] = body.type;
      return {
        method: op.method,
        target: path + query,
        headers,
        body: body.body,
        gzip: body.body !== null && gzip === 0,
      };
    });
}

/** Paths no route or method takes, under the API's prefixes: a 404 or 405 in the envelope. */
export const strayRequests: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
    prefix: fc.constantFrom(
      "/v1/",
      "/v1/logs/",
      "/v1/services/x/",
      "/v1/control/",
      "/v1/alert-channels/ch_0000000000000000/",
      "/health/",
      "/v1/otlp/",
    ),
    rest: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("", "..", "%2e%2e/", "x".repeat(3000), "%00", "logs")),
    auth: authHeader("admin"),
  })
  .map(({ method, prefix, rest, auth }): FuzzRequest => ({
    method,
    target: prefix + encode(rest).replace(/%2F/g, "/"),
    headers: auth === null ? {} : { Authorization: auth },
    body: null,
    gzip: false,
  }))
  // Dot segments are resolved by the URL parser: `/v1/..` is `/`, the dashboard, not the API.
  .filter((r) => /^\/(v1|health)\//.test(new URL(r.target, BASE).pathname));
