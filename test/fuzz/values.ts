/**
 * Value generators for the fuzz suite: junk of every JSON type (extreme numbers, NaN-ish strings,
 * huge and unicode strings, prototype keys, nested junk) and values shaped by a JSON Schema (the
 * OpenAPI document's own request schemas), each field sometimes right, sometimes at or past its
 * bounds, sometimes of the wrong type. Driving generation from the document means a new route or
 * field is fuzzed without touching this file.
 */
import fc from "fast-check";

export type JsonSchema = { [key: string]: unknown };

/** Numbers at the edges of what JSON, JavaScript and SQLite hold. */
export const EXTREME_NUMBERS = [
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53 - 1),
  2 ** 63,
  -(2 ** 63),
  1.79e308,
  -1.79e308,
  Number.MIN_VALUE,
  -0,
  0,
  -1,
  1,
  0.5,
  1e21,
  1e-7,
  2 ** 31,
  2 ** 32,
  -(2 ** 31) - 1,
  86_400_000 * 366 * 300,
];

/** Strings that a careless `Number()` or a regex might take for a number, a date or a keyword. */
export const NUMBERISH_STRINGS = [
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "1e400",
  "-1e400",
  "1e-400",
  "0x1F",
  "0b11",
  "0o7",
  "1_000",
  " 1 ",
  "",
  " ",
  "\t",
  "null",
  "undefined",
  "true",
  "false",
  "-0",
  "+1",
  "1.",
  ".5",
  "9007199254740993",
  "18446744073709551616",
  "١٢٣",
  "１２３",
  "00001",
  "9".repeat(400),
  "1.79e308",
  "-1",
  "2026-02-30T25:61:61Z",
  "0000-00-00T00:00Z",
  "9999-12-31T23:59:59.999999999+99:99",
  "275760-09-13T00:00:00Z",
  "1970-01-01T00:00:00Z",
  "now",
  "[]",
  "{}",
  "%00",
  "%",
  "%zz",
  "..",
  "../../etc/passwd",
  "\u0000",
  "\ud800",
  "Ω≈ç√",
  "😀",
  "‮reversed",
  "__proto__",
  "constructor",
  "' OR 1=1 --",
  '"; DROP TABLE request_logs; --',
];

/** Keys that poke at prototype handling and lookups by name. */
export const PROTO_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", ""];

/** Large strings: 70 kB (over a 64 KiB limit), wide characters, control characters. Used sparingly: they cost time. */
export const hugeString = fc.constantFrom(
  "x".repeat(70_000),
  "é".repeat(20_000),
  "😀".repeat(5_000),
  "\u0000".repeat(2_000),
  "/".repeat(5_000),
  "a%".repeat(3_000),
);

/** Short strings of any kind: ASCII, any code point (controls included), printable unicode, number-like. */
export const anyString = fc.oneof(
  { arbitrary: fc.string({ maxLength: 16 }), weight: 3 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 12 }), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }), weight: 2 },
  { arbitrary: fc.constantFrom(...NUMBERISH_STRINGS), weight: 3 },
);

const anyNumber = fc.oneof(
  fc.constantFrom(...EXTREME_NUMBERS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const scalar: fc.Arbitrary<unknown> = fc.oneof(anyNumber, anyString, fc.boolean(), fc.constant(null));

/** JSON object keys: ordinary, prototype-ish and weird ones. */
export const anyKey = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(...PROTO_KEYS),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);

/** An object built from entries: `Object.fromEntries` makes `__proto__` an own key, so it reaches the JSON. */
export function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  return Object.fromEntries(entries);
}

/** Any JSON value of the wrong kind for wherever it lands, nested a few levels. */
export const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { arbitrary: scalar, weight: 4 },
    { arbitrary: fc.array(tie("value"), { maxLength: 4 }), weight: 1 },
    { arbitrary: fc.array(fc.tuple(anyKey, tie("value")), { maxLength: 4 }).map(objectOf), weight: 1 },
  ),
})).value;

/** JSON text nested `depth` levels deep (arrays or objects), for parsers and recursive validators. */
export function deeplyNested(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

function integers(min: number | undefined, max: number | undefined): fc.Arbitrary<unknown> {
  const lo = min ?? -(2 ** 53 - 1);
  const hi = max ?? 2 ** 53 - 1;
  const edges = [lo, hi, lo - 1, hi + 1, Math.trunc((lo + hi) / 2)];
  return fc.oneof(
    { arbitrary: fc.double({ min: lo, max: hi, noNaN: true }).map(Math.trunc), weight: 4 },
    { arbitrary: fc.constantFrom(...edges), weight: 3 },
    { arbitrary: fc.double({ min: lo, max: hi, noNaN: true }).filter((n) => !Number.isInteger(n)), weight: 1 },
    { arbitrary: anyNumber, weight: 1 },
  );
}

function numbers(s: JsonSchema): fc.Arbitrary<unknown> {
  const lo =
    typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum : -1.79e308;
  const hi =
    typeof s.maximum === "number" ? s.maximum : typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum : 1.79e308;
  return fc.oneof(
    { arbitrary: fc.double({ min: lo, max: hi, noNaN: true }), weight: 4 },
    { arbitrary: fc.constantFrom(lo, hi, lo - 1, hi + 1, lo + Number.EPSILON, hi * 2), weight: 2 },
    { arbitrary: anyNumber, weight: 1 },
  );
}

/** Query fields read as times: give them recent epoch ms and ISO times too (relative to when the suite loads). */
const TIME_KEYS = /^(from|to)$/;
const LOADED_AT = Date.now();
const recentTime = fc
  .integer({ min: 0, max: 7 * 86_400_000 })
  .chain((ago) =>
    fc.constantFrom<unknown>(LOADED_AT - ago, new Date(LOADED_AT - ago).toISOString(), String(LOADED_AT - ago)),
  );

/** Fields whose strings the app reads as URLs: give them URLs, including hostile ones. */
const URL_KEYS = /url|origin/i;
const hostileUrls = fc.constantFrom(
  "https://hooks.slack.com/services/T000/B000/XXXXXXXX/",
  "http://169.254.169.254/latest/meta-data/",
  "http://10.0.0.5/",
  "https://user:pa55w0rd@example.test/x",
  "javascript:alert(1)",
  "file:///etc/passwd",
  "https://[::1]/",
  "http://127.0.0.1:1/",
  "https://example.test/a?token=abc&sig=x",
  "ftp://x.test/",
  "https://",
  "https://xn--80ak6aa92e.test/",
  "http://origin.test",
  "https://events.pagerduty.com/v2/enqueue",
);

function strings(s: JsonSchema, key: string): fc.Arbitrary<unknown> {
  const max = typeof s.maxLength === "number" ? s.maxLength : 64;
  const min = typeof s.minLength === "number" ? s.minLength : 0;
  const shaped =
    typeof s.pattern === "string"
      ? fc.stringMatching(new RegExp(s.pattern), { maxLength: Math.min(max, 40) })
      : fc.string({ minLength: min, maxLength: Math.min(max, 40) });
  const options: fc.WeightedArbitrary<unknown>[] = [
    { arbitrary: shaped, weight: 50 },
    // Exactly at and just past the length bounds.
    {
      arbitrary: fc.constantFrom(
        "a".repeat(max),
        "a".repeat(max + 1),
        "/".repeat(max),
        "/".repeat(max + 1),
        "a".repeat(Math.max(min - 1, 0)),
      ),
      weight: 10,
    },
    { arbitrary: anyString, weight: 10 },
  ];
  if (max >= 1000) options.push({ arbitrary: hugeString, weight: 1 });
  if (URL_KEYS.test(key))
    options.push({ arbitrary: fc.oneof(hostileUrls, fc.webUrl({ withQueryParameters: true })), weight: 60 });
  return fc.oneof(...options);
}

function objects(s: JsonSchema, doc: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = Array.isArray(s.required) ? (s.required as string[]) : [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, v] of Object.entries(props)) model[k] = fromSchema(v, doc, depth + 1, k);
  const known = Object.keys(model).length > 0;
  const complete = fc.record(model, { requiredKeys: required.filter((k) => k in model) });
  const partial = fc.record(model, { requiredKeys: [] });
  const extraValue =
    typeof s.additionalProperties === "object"
      ? fromSchema(s.additionalProperties as JsonSchema, doc, depth + 1)
      : junk;
  const names = s.propertyNames as JsonSchema | undefined;
  const extraKey =
    typeof names?.pattern === "string"
      ? fc.oneof(fc.stringMatching(new RegExp(names.pattern), { maxLength: 30 }), anyKey)
      : anyKey;
  const extras = fc.array(fc.tuple(extraKey, extraValue), { maxLength: known ? 2 : 4 });
  return fc
    .tuple(
      fc.oneof({ arbitrary: complete, weight: 4 }, { arbitrary: partial, weight: 1 }),
      fc.oneof({ arbitrary: fc.constant([]), weight: 3 }, { arbitrary: extras, weight: 1 }),
    )
    .map(([base, more]) => objectOf([...Object.entries(base), ...(more as [string, unknown][])]));
}

function shaped(s: JsonSchema, doc: JsonSchema, depth: number, key: string): fc.Arbitrary<unknown> {
  if (TIME_KEYS.test(key))
    return fc.oneof({ arbitrary: recentTime, weight: 3 }, { arbitrary: shapedBySchema(s, doc, depth, key), weight: 2 });
  return shapedBySchema(s, doc, depth, key);
}

function shapedBySchema(s: JsonSchema, doc: JsonSchema, depth: number, key: string): fc.Arbitrary<unknown> {
  if (typeof s.$ref === "string") {
    const name = s.$ref.split("/").pop() ?? "";
    const target = ((doc.components as JsonSchema | undefined)?.schemas as Record<string, JsonSchema> | undefined)?.[
      name
    ];
    return target ? fromSchema(target, doc, depth, key) : junk;
  }
  if (Array.isArray(s.anyOf)) return fc.oneof(...(s.anyOf as JsonSchema[]).map((x) => fromSchema(x, doc, depth, key)));
  if (Array.isArray(s.enum))
    return fc.oneof(
      { arbitrary: fc.constantFrom(...(s.enum as unknown[])), weight: 4 },
      { arbitrary: anyString, weight: 1 },
    );
  if (Array.isArray(s.type))
    return fc.oneof(...(s.type as string[]).map((type) => shaped({ ...s, type }, doc, depth, key)));
  switch (s.type) {
    case "integer":
      return integers(
        typeof s.minimum === "number" ? s.minimum : undefined,
        typeof s.maximum === "number" ? s.maximum : undefined,
      );
    case "number":
      return numbers(s);
    case "string":
      return strings(s, key);
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const items =
        typeof s.items === "object" && s.items !== null ? fromSchema(s.items as JsonSchema, doc, depth + 1, key) : junk;
      const maxItems = typeof s.maxItems === "number" ? s.maxItems : 4;
      const normal = fc.array(items, { maxLength: Math.min(maxItems, 4) });
      // One past a small maxItems; large ones (1,000 records) are the ingest tests' business.
      if (maxItems > 100) return normal;
      return fc.oneof(
        { arbitrary: normal, weight: 6 },
        { arbitrary: fc.array(items, { minLength: maxItems + 1, maxLength: maxItems + 1 }), weight: 1 },
      );
    }
    case "object":
      return objects(s, doc, depth);
    default:
      return junk;
  }
}

/**
 * Values for a JSON Schema node: mostly shaped by it (in range, at its bounds, past them), now and
 * then junk of another type. `doc` resolves `$ref`s; `key` is the field's name (URLs get URLs).
 */
export function fromSchema(s: JsonSchema, doc: JsonSchema, depth = 0, key = ""): fc.Arbitrary<unknown> {
  if (depth > 6) return scalar;
  return fc.oneof({ arbitrary: shaped(s, doc, depth, key), weight: 6 }, { arbitrary: junk, weight: 1 });
}

/** A query-string value for any generated value: strings as they are, numbers in their JS spellings. */
export function asQueryValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v) ?? "";
}
