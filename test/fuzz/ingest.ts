/**
 * Generators for the ingest formats: records of `POST /v1/logs` (one object, an array, NDJSON) and
 * OTLP JSON trace exports. Records carry every field of the documented LogRecord schema, right
 * and wrong; service, method and path come from small sets (plus junk) so that the valid records
 * land on a bounded number of endpoint objects instead of creating thousands.
 */
import fc from "fast-check";
import { CONTENT_TYPES, DOC, authHeader, rawBody, type FuzzRequest } from "./requests";
import { EXTREME_NUMBERS, NUMBERISH_STRINGS, anyString, fromSchema, junk, objectOf, type JsonSchema } from "./values";

/** Services the fuzzed records may be stored under (never a name seeded before the run). */
export const FUZZ_SERVICES = ["fz-ingest", "fz-other", "FZ.ingest_2"];

const ABSENT = Symbol("absent");
const LOG_RECORD = (DOC.components as { schemas: Record<string, JsonSchema> }).schemas.LogRecord ?? {};

const service = fc.oneof(
  { arbitrary: fc.constantFrom(...FUZZ_SERVICES), weight: 8 },
  { arbitrary: fc.constantFrom("bad name", "a/b", "", "x".repeat(65), "ü", "fz-ingest\n", " fz-ingest"), weight: 1 },
  { arbitrary: junk, weight: 1 },
  { arbitrary: fc.constant(ABSENT), weight: 1 },
);

const method = fc.oneof(
  { arbitrary: fc.constantFrom("GET", "post", "Delete"), weight: 8 },
  { arbitrary: fc.constantFrom("G3T", "GET POST", "", "A".repeat(17), "ПОСТ"), weight: 1 },
  { arbitrary: junk, weight: 1 },
  { arbitrary: fc.constant(ABSENT), weight: 1 },
);

/** Paths with ids, secrets, odd encodings and extreme lengths. */
const PATHS = [
  "/",
  "/items/1",
  "/items/2?x=1&token=abc",
  "/orders/123/lines/4",
  "/verify/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
  "/cards/4111111111111111",
  "/keys/AKIAIOSFODNN7EXAMPLE",
  "/hooks/sk_live_4eC39HqLyjWDarjtT1zdp7dc",
  "/redirect/https://user:pa55w0rd@evil.test/x",
  "/a;jsessionid=SECRET/b",
  "/%zz/%",
  "/" + "a/".repeat(1000),
  "/ü/😀/\u0000",
  "/users/a@b.test?email=c@d.test",
  "/x?" + "q=1&".repeat(400),
  "//double//slash",
  "/./../..",
];
const path = fc.oneof(
  { arbitrary: fc.constantFrom(...PATHS), weight: 6 },
  { arbitrary: fc.stringMatching(/^\/[a-z0-9/]{0,20}$/), weight: 2 },
  { arbitrary: fc.constantFrom("items/1", "", "x".repeat(3000)), weight: 1 },
  { arbitrary: junk, weight: 1 },
  { arbitrary: fc.constant(ABSENT), weight: 1 },
);

/** Timestamps: recent (epoch ms or ISO), ahead, past retention, extreme, junk. */
function timestamp(now: number): fc.Arbitrary<unknown> {
  const recentMs = fc
    .oneof(
      { arbitrary: fc.integer({ min: 0, max: 600_000 }), weight: 9 },
      { arbitrary: fc.integer({ min: 0, max: 6 * 86_400_000 }), weight: 1 },
    )
    .map((ago) => now - ago);
  return fc.oneof(
    { arbitrary: recentMs, weight: 6 },
    { arbitrary: recentMs.map((t) => new Date(t).toISOString()), weight: 2 },
    {
      arbitrary: fc.constantFrom(now + 600_000, now - 30 * 86_400_000, ...EXTREME_NUMBERS, ...NUMBERISH_STRINGS),
      weight: 2,
    },
    { arbitrary: junk, weight: 1 },
    { arbitrary: fc.constant(ABSENT), weight: 1 },
  );
}

const nullable = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: arb, weight: 4 }, { arbitrary: fc.constant(null), weight: 1 });
const bytes = nullable(fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 53 - 1, 2 ** 31, 2 ** 32)));
const ms = fc.oneof(
  fc.double({ min: 0, max: 100_000, noNaN: true }),
  fc.constantFrom(0, -0, Number.MIN_VALUE, 2 ** 53 - 1, 1.79e308),
);
/** Values that look like secrets or personal data: the scrubbing must take them without failing. */
const sensitive = fc.constantFrom(
  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
  "4111111111111111",
  "AKIAIOSFODNN7EXAMPLE",
  "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
  "a@b.test",
  "https://u:p@x.test",
);
const text = (max: number) =>
  nullable(
    fc.oneof(
      { arbitrary: fc.string({ maxLength: Math.min(max, 24) }), weight: 4 },
      { arbitrary: sensitive, weight: 1 },
      { arbitrary: fc.constant("z".repeat(max)), weight: 1 },
    ),
  );

/** A record every field of which is valid (values at their bounds included). */
function validRecord(now: number): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      // Mostly the last minutes: far-apart event times make each endpoint object evaluate every minute between them.
      timestamp: fc
        .oneof(
          { arbitrary: fc.integer({ min: 0, max: 600_000 }), weight: 9 },
          { arbitrary: fc.integer({ min: 0, max: 6 * 86_400_000 }), weight: 1 },
        )
        .chain((ago) => fc.constantFrom(now - ago, new Date(now - ago).toISOString())),
      service: fc.constantFrom(...FUZZ_SERVICES),
      method: fc.constantFrom("GET", "post", "Delete"),
      path: fc.oneof(fc.constantFrom(...PATHS), fc.stringMatching(/^\/[a-z0-9/]{0,20}$/)),
      status: fc.integer({ min: 100, max: 599 }),
      latency_ms: ms,
      route: nullable(fc.constantFrom("/items/:id", "/orders/:id", `/${"r".repeat(255)}`)),
      id: nullable(fc.string({ minLength: 1, maxLength: 40 })),
      request_bytes: bytes,
      response_bytes: bytes,
      ttfb_ms: nullable(ms),
      error: text(200),
      response_empty: nullable(fc.boolean()),
      inconsistent: nullable(fc.boolean()),
      request_id: text(128),
      client_ip: text(64),
      user_agent: text(300),
      consumer: text(128),
      region: text(64),
      attributes: nullable(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 64 }),
          fc.oneof(fc.string({ maxLength: 1024 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()),
          { maxKeys: 4 },
        ),
      ),
    },
    { requiredKeys: ["timestamp", "service", "method", "path", "status", "latency_ms"] },
  );
}

/** A fully fuzzed record: every documented field shaped by the schema, service/method/path/timestamp from the sets above. */
function fuzzedRecord(now: number): fc.Arbitrary<unknown> {
  const base = fromSchema(LOG_RECORD, DOC);
  const overrides = fc.record({ service, method, path, timestamp: timestamp(now) });
  return fc.tuple(base, overrides).map(([b, o]) => {
    if (b === null || typeof b !== "object" || Array.isArray(b)) return b;
    const entries = Object.entries(b).filter(([k]) => !(k in o));
    for (const [k, v] of Object.entries(o)) if (v !== ABSENT) entries.push([k, v]);
    return objectOf(entries);
  });
}

const FIELDS = Object.keys(LOG_RECORD.properties ?? {});

/**
 * One record: valid, valid but for one or two fields taken from a fuzzed record (so a single bad
 * field is what the validation sees), fully fuzzed, or not an object at all.
 */
export function logRecord(now: number): fc.Arbitrary<unknown> {
  const fuzzed = fuzzedRecord(now);
  const mutated = fc
    .tuple(validRecord(now), fuzzed, fc.subarray(FIELDS, { maxLength: 2 }))
    .map(([valid, bad, fields]) => {
      const entries = Object.entries(valid).filter(([k]) => !fields.includes(k));
      if (bad !== null && typeof bad === "object" && !Array.isArray(bad))
        for (const f of fields) if (f in bad) entries.push([f, (bad as Record<string, unknown>)[f]]);
      return objectOf(entries);
    });
  // Valid records cost the most (endpoint objects, D1 at the flush): a minority, enough to reach storage.
  return fc.oneof(
    { arbitrary: validRecord(now), weight: 1 },
    { arbitrary: mutated, weight: 3 },
    { arbitrary: fuzzed, weight: 4 },
    { arbitrary: junk, weight: 2 },
  );
}

/** Bodies of `POST /v1/logs`: one record, an array, NDJSON with broken lines, or raw junk. */
export function logsRequests(now: number): fc.Arbitrary<{ request: FuzzRequest; records: number }> {
  const record = logRecord(now);
  const ndLine = fc.oneof(
    { arbitrary: record.map((r) => JSON.stringify(r) ?? ""), weight: 6 },
    { arbitrary: fc.constantFrom("", " ", "{", "[1,2]", "null", "\r", "42"), weight: 1 },
    { arbitrary: anyString, weight: 1 },
  );
  const body = fc.oneof(
    {
      arbitrary: record.map((r) => ({ text: JSON.stringify(r) ?? "", type: "application/json", records: 1 })),
      weight: 3,
    },
    {
      arbitrary: fc
        .array(record, { maxLength: 10 })
        .map((rs) => ({ text: JSON.stringify(rs), type: "application/json", records: rs.length })),
      weight: 4,
    },
    {
      arbitrary: fc
        .tuple(
          fc.array(ndLine, { maxLength: 10 }),
          fc.constantFrom("\n", "\r\n", "\n\n"),
          fc.constantFrom("application/x-ndjson", "application/jsonl", "application/json", "text/plain"),
        )
        .map(([lines, sep, type]) => ({ text: lines.join(sep), type, records: lines.length })),
      weight: 3,
    },
    {
      arbitrary: fc
        .record({ text: rawBody, type: fc.constantFrom(...CONTENT_TYPES) })
        .map((r) => ({ ...r, records: 0 })),
      weight: 1,
    },
  );
  return fc
    .record({ auth: authHeader("ingest"), body, sync: fc.nat(19), gzip: fc.nat(40) })
    .map(({ auth, body: b, sync, gzip }) => {
      const headers: Record<string, string> = {};
      if (auth !== null) headers.Authorization = auth;
      if (b.type !== "") headers["Content-Type"] = b.type;
      return {
        request: {
          method: "POST",
          target: sync === 0 ? "/v1/logs?sync=1" : sync === 1 ? "/v1/logs?sync=%zz" : "/v1/logs",
          headers,
          body: b.text,
          gzip: gzip === 0,
        },
        records: b.records,
      };
    });
}

const attrValue = fc.oneof(
  fc.record({
    stringValue: fc.oneof(anyString, fc.constantFrom("GET", "POST", "/items/:id", "/items/1", "200", "shop")),
  }),
  fc.record({
    intValue: fc.oneof(
      fc.constantFrom("200", "404", "500", "9007199254740993", "-1", "1e3", ""),
      fc.constantFrom(...EXTREME_NUMBERS),
    ),
  }),
  fc.record({ doubleValue: fc.constantFrom(...EXTREME_NUMBERS, "NaN", "Infinity") }),
  fc.record({ boolValue: fc.oneof(fc.boolean(), junk) }),
  fc.record({ arrayValue: fc.record({ values: fc.array(junk, { maxLength: 3 }) }) }),
  fc.record({ kvlistValue: junk }),
  junk,
);
const ATTR_KEYS = [
  "http.request.method",
  "http.method",
  "http.route",
  "url.path",
  "url.query",
  "http.target",
  "url.full",
  "http.url",
  "http.response.status_code",
  "http.status_code",
  "http.request.body.size",
  "http.response.body.size",
  "user_agent.original",
  "client.address",
  "cloud.region",
  "service.name",
  "",
];
const attributes = fc.oneof(
  {
    arbitrary: fc.array(fc.record({ key: fc.oneof(fc.constantFrom(...ATTR_KEYS), anyString), value: attrValue }), {
      maxLength: 8,
    }),
    weight: 6,
  },
  { arbitrary: junk, weight: 1 },
);

function nanos(now: number): fc.Arbitrary<unknown> {
  const recent = fc
    .oneof(
      { arbitrary: fc.integer({ min: 0, max: 600_000 }), weight: 9 },
      { arbitrary: fc.integer({ min: 0, max: 3 * 86_400_000 }), weight: 1 },
    )
    .map((ago) => `${now - ago}000000`);
  return fc.oneof(
    { arbitrary: recent, weight: 6 },
    {
      arbitrary: fc.constantFrom(
        "0",
        "",
        "-1",
        "99999999999999999999",
        "1e18",
        "18446744073709551616",
        1.79e308,
        2 ** 53 - 1,
        -0,
        1.5,
      ),
      weight: 2,
    },
    { arbitrary: junk, weight: 1 },
  );
}

/** One span: mostly server spans with HTTP attributes, timed in the last days, with oddities. */
function span(now: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      arbitrary: fc.record(
        {
          traceId: fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), junk),
          spanId: fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), junk),
          name: anyString,
          kind: fc.oneof(
            { arbitrary: fc.constantFrom(2, "SPAN_KIND_SERVER"), weight: 6 },
            { arbitrary: fc.constantFrom(0, 1, 3, 5, -1, 2.5, "2", 2 ** 53), weight: 1 },
            { arbitrary: junk, weight: 1 },
          ),
          startTimeUnixNano: nanos(now),
          endTimeUnixNano: nanos(now),
          attributes,
          events: fc.oneof(
            fc.array(fc.record({ name: fc.oneof(fc.constant("exception"), anyString), attributes }), { maxLength: 2 }),
            junk,
          ),
          status: fc.oneof(
            fc.record({
              code: fc.oneof(fc.constantFrom(0, 1, 2, "STATUS_CODE_ERROR"), junk),
              message: fc.oneof(anyString, junk),
            }),
            junk,
          ),
        },
        { requiredKeys: ["kind", "startTimeUnixNano", "endTimeUnixNano"] },
      ),
      weight: 8,
    },
    { arbitrary: junk, weight: 1 },
  );
}

/** Bodies of `POST /v1/otlp/v1/traces`: OTLP JSON exports with resources and scopes, or junk. */
export function otlpRequests(now: number): fc.Arbitrary<{ request: FuzzRequest; records: number }> {
  const resourceAttrs = fc.oneof(
    {
      arbitrary: fc.constantFrom(...FUZZ_SERVICES).map((s) => [{ key: "service.name", value: { stringValue: s } }]),
      weight: 12,
    },
    { arbitrary: attributes, weight: 1 },
  );
  const scopeSpans = fc.array(
    fc.record(
      {
        spans: fc.oneof(
          { arbitrary: fc.array(span(now), { maxLength: 8 }), weight: 8 },
          { arbitrary: junk, weight: 1 },
        ),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  );
  const resourceSpans = fc.array(
    fc.record(
      {
        resource: fc.oneof(fc.record({ attributes: resourceAttrs }), junk),
        scopeSpans: fc.oneof({ arbitrary: scopeSpans, weight: 8 }, { arbitrary: junk, weight: 1 }),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 3 },
  );
  const body = fc.oneof(
    {
      arbitrary: resourceSpans.map((rs) => ({ text: JSON.stringify({ resourceSpans: rs }), records: countSpans(rs) })),
      weight: 8,
    },
    { arbitrary: rawBody.map((text) => ({ text, records: 0 })), weight: 1 },
    { arbitrary: junk.map((v) => ({ text: JSON.stringify({ resourceSpans: v }) ?? "", records: 0 })), weight: 1 },
  );
  const type = fc.oneof(
    { arbitrary: fc.constantFrom("application/json", "application/json; charset=utf-8"), weight: 8 },
    { arbitrary: fc.constantFrom(...CONTENT_TYPES), weight: 1 },
  );
  return fc
    .record({ auth: authHeader("ingest"), body, type, gzip: fc.nat(15) })
    .map(({ auth, body: b, type: t, gzip }) => {
      const headers: Record<string, string> = {};
      if (auth !== null) headers.Authorization = auth;
      if (t !== "") headers["Content-Type"] = t;
      return {
        request: { method: "POST", target: "/v1/otlp/v1/traces", headers, body: b.text, gzip: gzip === 0 },
        records: b.records,
      };
    });
}

function countSpans(resourceSpans: unknown[]): number {
  let n = 0;
  for (const rs of resourceSpans) {
    const scopes = rs !== null && typeof rs === "object" ? (rs as { scopeSpans?: unknown }).scopeSpans : undefined;
    if (!Array.isArray(scopes)) continue;
    for (const s of scopes) {
      const spans = s !== null && typeof s === "object" ? (s as { spans?: unknown }).spans : undefined;
      if (Array.isArray(spans)) n += spans.length;
    }
  }
  return n;
}
