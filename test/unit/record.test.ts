import { describe, expect, it } from "vitest";
import {
  FUTURE_TOLERANCE_MS,
  MAX_ATTRIBUTES,
  endpointName,
  logRecordInput,
  normaliseRecord,
  recordKey,
  type LogRecord,
  type NormaliseContext,
  type RecordResult,
} from "../../src/ingest/record";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const DAY_MS = 24 * 60 * 60 * 1000;
const RETENTION_MS = 7 * DAY_MS;

function context(overrides: Partial<NormaliseContext> = {}): NormaliseContext {
  let n = 0;
  return {
    now: NOW,
    retentionMs: RETENTION_MS,
    newKey: () => `gen-${++n}`,
    ...overrides,
  };
}

function input(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timestamp: NOW - 1000,
    service: "checkout-api",
    method: "GET",
    path: "/users/123",
    status: 200,
    latency_ms: 42,
    ...overrides,
  };
}

function accepted(result: RecordResult): LogRecord {
  if (!result.ok) throw new Error(`expected the record to be accepted, got: ${result.errors.join("; ")}`);
  return result.record;
}

function rejected(result: RecordResult): string[] {
  if (result.ok) throw new Error("expected the record to be rejected");
  return result.errors;
}

function normalise(overrides: Record<string, unknown> = {}, ctx: NormaliseContext = context()): RecordResult {
  return normaliseRecord(input(overrides), ctx);
}

describe("normaliseRecord: a minimal valid record", () => {
  it("fills defaults for every optional field", () => {
    const record = accepted(normalise());
    expect(record).toEqual({
      key: "g:gen-1",
      timestamp: NOW - 1000,
      received_at: NOW,
      service: "checkout-api",
      method: "GET",
      route: "/users/:id",
      path: "/users/123",
      status: 200,
      latency_ms: 42,
      ttfb_ms: null,
      request_bytes: null,
      response_bytes: null,
      error: null,
      response_empty: false,
      inconsistent: false,
      id: null,
      request_id: null,
      client_ip: null,
      user_agent: null,
      consumer: null,
      region: null,
      attributes: null,
      source: "ingest",
    });
  });

  it("keeps every optional field that is given", () => {
    const record = accepted(
      normalise({
        id: "req-1",
        ttfb_ms: 12.5,
        request_bytes: 100,
        response_bytes: 2048,
        response_empty: true,
        request_id: "rid-9",
        client_ip: "203.0.113.7",
        user_agent: "curl/8.0",
        consumer: "acme",
        region: "eu-west",
        error: "upstream timeout",
        attributes: { plan: "pro", retries: 2, cached: false },
      }),
    );
    expect(record).toMatchObject({
      id: "req-1",
      ttfb_ms: 12.5,
      request_bytes: 100,
      response_bytes: 2048,
      response_empty: true,
      request_id: "rid-9",
      client_ip: "203.0.113.7",
      user_agent: "curl/8.0",
      consumer: "acme",
      region: "eu-west",
      error: "upstream timeout",
      attributes: { plan: "pro", retries: 2, cached: false },
    });
  });

  it("treats null optional fields like absent ones", () => {
    const record = accepted(
      normalise({ route: null, id: null, error: null, attributes: null, response_empty: null, ttfb_ms: null }),
    );
    expect(record.route).toBe("/users/:id");
    expect(record.key).toBe("g:gen-1");
    expect(record.error).toBeNull();
    expect(record.attributes).toBeNull();
    expect(record.response_empty).toBe(false);
    expect(record.ttfb_ms).toBeNull();
  });

  it("ignores unknown fields", () => {
    const record = accepted(normalise({ foo: "bar", nested: { a: 1 }, source: "proxy" }));
    expect(Object.keys(record)).not.toContain("foo");
    expect(Object.keys(record)).not.toContain("nested");
    expect(record.source).toBe("ingest");
  });

  it("rejects a body that is not an object", () => {
    expect(normaliseRecord("hello", context()).ok).toBe(false);
    expect(normaliseRecord(null, context()).ok).toBe(false);
    expect(normaliseRecord([input()], context()).ok).toBe(false);
  });
});

describe("normaliseRecord: timestamps", () => {
  it("keeps epoch milliseconds as they are", () => {
    expect(accepted(normalise({ timestamp: NOW - 60_000 })).timestamp).toBe(NOW - 60_000);
  });

  it("converts ISO 8601 in UTC (Z) to epoch ms", () => {
    expect(accepted(normalise({ timestamp: "2026-01-01T11:59:00Z" })).timestamp).toBe(Date.UTC(2026, 0, 1, 11, 59));
  });

  it("converts ISO 8601 with a positive offset to UTC epoch ms", () => {
    expect(accepted(normalise({ timestamp: "2026-01-01T12:59:00+01:00" })).timestamp).toBe(
      Date.UTC(2026, 0, 1, 11, 59),
    );
  });

  it("converts ISO 8601 with a negative offset to UTC epoch ms", () => {
    expect(accepted(normalise({ timestamp: "2026-01-01T06:29:00-05:30" })).timestamp).toBe(
      Date.UTC(2026, 0, 1, 11, 59),
    );
  });

  it("accepts an offset written without a colon", () => {
    expect(accepted(normalise({ timestamp: "2026-01-01T12:59:00+0100" })).timestamp).toBe(Date.UTC(2026, 0, 1, 11, 59));
  });

  it("keeps milliseconds of a fractional ISO timestamp", () => {
    expect(accepted(normalise({ timestamp: "2026-01-01T11:59:00.123Z" })).timestamp).toBe(
      Date.UTC(2026, 0, 1, 11, 59, 0, 123),
    );
  });

  it("accepts ISO 8601 without seconds", () => {
    expect(accepted(normalise({ timestamp: "2026-01-01T11:59Z" })).timestamp).toBe(Date.UTC(2026, 0, 1, 11, 59));
  });

  it("rejects ISO 8601 without an offset, naming the field", () => {
    const errors = rejected(normalise({ timestamp: "2026-01-01T11:59:00" }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^timestamp: /);
    expect(errors[0]).toContain("UTC offset");
  });

  it.each(["2026-01-01", "2026-01-01 11:59:00Z", "Thu, 01 Jan 2026 11:59:00 GMT", "yesterday", String(NOW), ""])(
    "rejects the non-ISO string %j",
    (timestamp) => {
      const errors = rejected(normalise({ timestamp }));
      expect(errors.some((e) => e.startsWith("timestamp: "))).toBe(true);
    },
  );

  it("rejects an ISO-shaped string that is not a date", () => {
    expect(rejected(normalise({ timestamp: "2026-13-45T99:99:00Z" }))).toEqual(["timestamp: not a valid date"]);
  });

  it("rejects negative, fractional and non-numeric timestamps, naming the field", () => {
    for (const timestamp of [-1, NOW - 0.5, true, null, { ms: NOW }]) {
      const errors = rejected(normalise({ timestamp }));
      expect(errors.some((e) => e.startsWith("timestamp: "))).toBe(true);
    }
  });

  it("rejects a missing timestamp", () => {
    const { timestamp: _dropped, ...rest } = input();
    const errors = rejected(normaliseRecord(rest, context()));
    expect(errors.some((e) => e.startsWith("timestamp: "))).toBe(true);
  });

  it("accepts a timestamp up to exactly 5 minutes ahead", () => {
    expect(FUTURE_TOLERANCE_MS).toBe(5 * 60 * 1000);
    expect(accepted(normalise({ timestamp: NOW + FUTURE_TOLERANCE_MS })).timestamp).toBe(NOW + FUTURE_TOLERANCE_MS);
  });

  it("rejects a timestamp more than 5 minutes ahead with that reason", () => {
    expect(rejected(normalise({ timestamp: NOW + FUTURE_TOLERANCE_MS + 1 }))).toEqual([
      "timestamp: more than 5 minutes in the future",
    ]);
    expect(rejected(normalise({ timestamp: "2026-01-01T12:06:00Z" }))).toEqual([
      "timestamp: more than 5 minutes in the future",
    ]);
  });

  it("accepts a timestamp exactly at the retention limit", () => {
    expect(accepted(normalise({ timestamp: NOW - RETENTION_MS })).timestamp).toBe(NOW - RETENTION_MS);
  });

  it("rejects a timestamp older than the retention with that reason", () => {
    expect(rejected(normalise({ timestamp: NOW - RETENTION_MS - 1 }))).toEqual([
      "timestamp: older than the raw-log retention",
    ]);
    expect(rejected(normalise({ timestamp: "2025-12-01T00:00:00Z" }))).toEqual([
      "timestamp: older than the raw-log retention",
    ]);
  });

  it("follows the retention given in the context", () => {
    const ctx = context({ retentionMs: DAY_MS });
    expect(accepted(normalise({ timestamp: NOW - DAY_MS }, ctx)).timestamp).toBe(NOW - DAY_MS);
    expect(rejected(normalise({ timestamp: NOW - DAY_MS - 1 }, context({ retentionMs: DAY_MS })))).toEqual([
      "timestamp: older than the raw-log retention",
    ]);
  });

  it("rejects epoch seconds as too old (they read as 1970 in ms)", () => {
    expect(rejected(normalise({ timestamp: Math.floor(NOW / 1000) }))).toEqual([
      "timestamp: older than the raw-log retention",
    ]);
  });

  it("stamps received_at with the context's clock", () => {
    expect(accepted(normalise({}, context({ now: NOW + 1234 }))).received_at).toBe(NOW + 1234);
  });
});

describe("normaliseRecord: method", () => {
  it.each([
    ["get", "GET"],
    ["Post", "POST"],
    ["delete", "DELETE"],
    ["PATCH", "PATCH"],
    ["propfind", "OTHER"],
  ])("upper-cases %s to %s", (method, expected) => {
    expect(accepted(normalise({ method })).method).toBe(expected);
  });

  it.each(["", "GE T", "GET1", "G-ET", "A".repeat(17)])("rejects the method %j, naming the field", (method) => {
    const errors = rejected(normalise({ method }));
    expect(errors.some((e) => e.startsWith("method: "))).toBe(true);
  });
});

describe("normaliseRecord: route", () => {
  it("derives the route from the path by templating ids", () => {
    expect(accepted(normalise({ path: "/users/123/orders/9f86d081884c7d65" })).route).toBe("/users/:id/orders/:id");
  });

  it("derives word-only routes unchanged", () => {
    expect(accepted(normalise({ path: "/v1/users/me/settings" })).route).toBe("/v1/users/me/settings");
  });

  it("derives the route from the path without its query or fragment", () => {
    const record = accepted(normalise({ path: "/users/42/orders?token=abc&page=2#frag" }));
    expect(record.route).toBe("/users/:id/orders");
  });

  it("derives the route from UUID, token and email segments", () => {
    expect(
      accepted(normalise({ path: "/accounts/550e8400-e29b-41d4-a716-446655440000/members/alice@example.com" })).route,
    ).toBe("/accounts/:id/members/:id");
    expect(accepted(normalise({ path: "/customers/cus_9s6XKzkNRiz8i3" })).route).toBe("/customers/:id");
  });

  it("keeps a given route, without templating it further", () => {
    expect(accepted(normalise({ path: "/users/123", route: "/users/{userId}" })).route).toBe("/users/{userId}");
    expect(accepted(normalise({ path: "/files/123", route: "/files/123" })).route).toBe("/files/123");
  });

  it("strips the query from a given route and cleans its slashes", () => {
    expect(accepted(normalise({ route: "/users/:id?token=abc" })).route).toBe("/users/:id");
    expect(accepted(normalise({ route: "//users/:id/" })).route).toBe("/users/:id");
  });

  it("rejects a route that does not start with / or is too long, naming the field", () => {
    for (const route of ["users/:id", "", `/${"a".repeat(256)}`]) {
      const errors = rejected(normalise({ route }));
      expect(errors.some((e) => e.startsWith("route: "))).toBe(true);
    }
  });
});

describe("normaliseRecord: path", () => {
  it("redacts sensitive query values and leaves the others", () => {
    const record = accepted(
      normalise({
        path: "/login?token=abc&key=k&api_key=x&password=p&secret=s&auth=a&signature=g&session=z&access_token=t&page=2&q=hi",
      }),
    );
    expect(record.path).toBe(
      "/login?token=[redacted]&key=[redacted]&api_key=[redacted]&password=[redacted]&secret=[redacted]&auth=[redacted]&signature=[redacted]&session=[redacted]&access_token=[redacted]&page=2&q=hi",
    );
  });

  it("keeps the concrete path segments", () => {
    expect(accepted(normalise({ path: "/users/123" })).path).toBe("/users/123");
  });

  it("drops the fragment", () => {
    expect(accepted(normalise({ path: "/a?page=1#section" })).path).toBe("/a?page=1");
  });

  it.each(["users/1", "", "/".padEnd(2049, "a")])("rejects the path %j, naming the field", (path) => {
    const errors = rejected(normalise({ path }));
    expect(errors.some((e) => e.startsWith("path: "))).toBe(true);
  });
});

describe("normaliseRecord: error", () => {
  it("cuts the error at 1,000 characters with a visible marker", () => {
    const error = accepted(normalise({ error: "x".repeat(5000) })).error;
    expect(error).toBe(`${"x".repeat(1000)}…[truncated 4000 chars]`);
  });

  it("keeps an error of 1,000 characters whole", () => {
    expect(accepted(normalise({ error: "y".repeat(1000) })).error).toBe("y".repeat(1000));
  });

  it("accepts an error of any length and keeps its first 1,000 characters", () => {
    const error = accepted(normalise({ error: "z".repeat(100_001) })).error ?? "";
    expect(error).toBe(`${"z".repeat(1000)}…[truncated 99001 chars]`);
  });

  it("scrubs a long error in time linear in what it keeps", () => {
    const started = performance.now();
    // Digit groups were once tried in every combination: this input took hours.
    const error = accepted(normalise({ error: "2 ".repeat(50_000) })).error ?? "";
    expect(error).toMatch(/…\[truncated 99000 chars\]$/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("scrubs bearer tokens", () => {
    expect(accepted(normalise({ error: "401 for Authorization: Bearer eyJabc.def.ghi" })).error).toBe(
      "401 for Authorization: Bearer [redacted]",
    );
  });

  it.each(["4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005"])(
    "scrubs the Luhn-valid card number %s",
    (card) => {
      const error = accepted(normalise({ error: `charge failed for ${card}` })).error;
      expect(error).toBe("charge failed for [card redacted]");
    },
  );

  it("scrubs URL userinfo", () => {
    expect(accepted(normalise({ error: "cannot reach https://user:pass@host.example/db" })).error).toBe(
      "cannot reach https://[redacted]@host.example/db",
    );
  });

  it("leaves non-Luhn digit runs and epoch ms timestamps alone", () => {
    const text = "order 4111111111111112 failed at 1767268800000";
    expect(accepted(normalise({ error: text })).error).toBe(text);
  });

  it("stores an empty error as null", () => {
    expect(accepted(normalise({ error: "" })).error).toBeNull();
  });
});

describe("normaliseRecord: attributes", () => {
  it("scrubs string attributes and leaves numbers and booleans", () => {
    const record = accepted(
      normalise({
        attributes: {
          auth_header: "Bearer abc.def",
          card: "4111 1111 1111 1111",
          amex: "378282246310005",
          upstream: "https://svc:pw@internal.example/x",
          note: "plain text",
          started: "1767268800000",
          count: 4111111111111111,
          ok: true,
        },
      }),
    );
    expect(record.attributes).toEqual({
      auth_header: "[redacted]",
      card: "[card redacted]",
      amex: "[card redacted]",
      upstream: "https://[redacted]@internal.example/x",
      note: "plain text",
      started: "1767268800000",
      count: "[card redacted]",
      ok: true,
    });
  });

  it(`accepts ${MAX_ATTRIBUTES} attributes`, () => {
    expect(MAX_ATTRIBUTES).toBe(32);
    const attributes = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, i]));
    expect(accepted(normalise({ attributes })).attributes).toEqual(attributes);
  });

  it("rejects 33 attributes, naming the field", () => {
    const attributes = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]));
    const errors = rejected(normalise({ attributes }));
    expect(errors).toContain("attributes: at most 32 attributes");
  });

  it("rejects a nested object value, naming the attribute", () => {
    const errors = rejected(normalise({ attributes: { user: { id: 1 } } }));
    expect(errors.some((e) => e.startsWith("attributes.user"))).toBe(true);
  });

  it.each([
    ["an array", [1, 2]],
    ["null", null],
    ["a string above 1024 characters", "s".repeat(1025)],
    ["an infinite number", Number.POSITIVE_INFINITY],
  ])("rejects %s as a value", (_what, value) => {
    const errors = rejected(normalise({ attributes: { a: value } }));
    expect(errors.some((e) => e.startsWith("attributes"))).toBe(true);
  });

  it("rejects an attribute key above 64 characters", () => {
    const errors = rejected(normalise({ attributes: { ["k".repeat(65)]: 1 } }));
    expect(errors.some((e) => e.startsWith("attributes"))).toBe(true);
  });

  it("rejects attributes that are not an object", () => {
    for (const attributes of ["a=b", [["a", "b"]], 3]) {
      const errors = rejected(normalise({ attributes }));
      expect(errors.some((e) => e.startsWith("attributes"))).toBe(true);
    }
  });

  it("stores empty attributes as an empty object", () => {
    expect(accepted(normalise({ attributes: {} })).attributes).toEqual({});
  });
});

describe("normaliseRecord: service", () => {
  it.each(["a", "checkout-api", "svc_1.prod", "A".repeat(64)])("accepts the service %j", (service) => {
    expect(accepted(normalise({ service })).service).toBe(service);
  });

  it.each(["", "A".repeat(65), "my service", "svc/x", "svc:1", "sérvice", "svc\n"])(
    "rejects the service %j, naming the field",
    (service) => {
      const errors = rejected(normalise({ service }));
      expect(errors.some((e) => e.startsWith("service: "))).toBe(true);
    },
  );
});

describe("normaliseRecord: field-level errors", () => {
  it("names the status field", () => {
    for (const status of ["200", 99, 600, 200.5, null]) {
      const errors = rejected(normalise({ status }));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^status: /);
    }
  });

  it("names the latency_ms field", () => {
    for (const latency_ms of [-1, "5", Number.NaN]) {
      const errors = rejected(normalise({ latency_ms }));
      expect(errors.some((e) => e.startsWith("latency_ms: "))).toBe(true);
    }
  });

  it("names the byte counts and ttfb", () => {
    const errors = rejected(normalise({ request_bytes: -1, response_bytes: 1.5, ttfb_ms: -3 }));
    expect(errors.some((e) => e.startsWith("request_bytes: "))).toBe(true);
    expect(errors.some((e) => e.startsWith("response_bytes: "))).toBe(true);
    expect(errors.some((e) => e.startsWith("ttfb_ms: "))).toBe(true);
  });

  it("lists every missing required field", () => {
    const errors = rejected(normaliseRecord({}, context()));
    for (const field of ["timestamp", "service", "method", "path", "status", "latency_ms"]) {
      expect(errors.some((e) => e.startsWith(`${field}: `))).toBe(true);
    }
  });

  it("bounds the optional text fields", () => {
    const errors = rejected(
      normalise({
        id: "i".repeat(129),
        request_id: "r".repeat(129),
        client_ip: "c".repeat(65),
        consumer: "u".repeat(129),
        region: "g".repeat(65),
      }),
    );
    for (const field of ["id", "request_id", "client_ip", "consumer", "region"]) {
      expect(errors.some((e) => e.startsWith(`${field}: `))).toBe(true);
    }
  });

  it("truncates a long user agent to 512 characters", () => {
    expect(accepted(normalise({ user_agent: "u".repeat(2000) })).user_agent).toBe("u".repeat(512));
  });
});

describe("recordKey", () => {
  it("derives a deterministic key from the client id", () => {
    const newKey = () => {
      throw new Error("must not be called when an id is given");
    };
    const orders = { service: "checkout-api", method: "GET", route: "/orders/:id" };
    expect(recordKey(orders, "abc-1", newKey)).toBe("c:checkout-api:GET:/orders/:id#abc-1");
    expect(recordKey(orders, "abc-1", newKey)).toBe(recordKey({ ...orders }, "abc-1", newKey));
  });

  it("scopes the key to the endpoint: service, method and route", () => {
    const newKey = () => "unused";
    const e = { service: "a", method: "GET", route: "/x" };
    expect(recordKey(e, "same", newKey)).not.toBe(recordKey({ ...e, service: "b" }, "same", newKey));
    expect(recordKey(e, "same", newKey)).not.toBe(recordKey({ ...e, method: "POST" }, "same", newKey));
    expect(recordKey(e, "same", newKey)).not.toBe(recordKey({ ...e, route: "/y" }, "same", newKey));
  });

  it("cannot make two (route, id) pairs equal: the route ends at #", () => {
    const newKey = () => "unused";
    expect(recordKey({ service: "s", method: "GET", route: "/a:b" }, "c", newKey)).not.toBe(
      recordKey({ service: "s", method: "GET", route: "/a" }, "b:c", newKey),
    );
  });

  it("asks for a fresh key without an id", () => {
    let n = 0;
    const newKey = () => `k${++n}`;
    const e = { service: "svc", method: "GET", route: "/" };
    expect(recordKey(e, undefined, newKey)).toBe("g:k1");
    expect(recordKey(e, null, newKey)).toBe("g:k2");
    expect(recordKey(e, "", newKey)).toBe("g:k3");
  });
});

describe("normaliseRecord: record key", () => {
  it("is deterministic for a client id across retries", () => {
    const first = accepted(normalise({ id: "evt-42" }, context()));
    const retry = accepted(normalise({ id: "evt-42", timestamp: NOW - 5 }, context()));
    expect(first.key).toBe("c:checkout-api:GET:/users/:id#evt-42");
    expect(retry.key).toBe(first.key);
    expect(first.id).toBe("evt-42");
  });

  it("is fresh for every record without an id", () => {
    const ctx = context();
    const a = accepted(normaliseRecord(input(), ctx));
    const b = accepted(normaliseRecord(input(), ctx));
    expect(a.key).toBe("g:gen-1");
    expect(b.key).toBe("g:gen-2");
  });

  it("rejects an empty id", () => {
    const errors = rejected(normalise({ id: "" }));
    expect(errors.some((e) => e.startsWith("id: "))).toBe(true);
  });
});

describe("logRecordInput", () => {
  it("parses a valid input and drops unknown fields", () => {
    const parsed = logRecordInput.parse(input({ extra: 1 }));
    expect(parsed).toEqual(input());
  });

  it("keeps the timestamp as sent (conversion happens in normaliseRecord)", () => {
    expect(logRecordInput.parse(input({ timestamp: "2026-01-01T12:00:00+01:00" })).timestamp).toBe(
      "2026-01-01T12:00:00+01:00",
    );
  });

  it("reports issues with the field path", () => {
    const result = logRecordInput.safeParse(input({ status: "200", attributes: { a: { b: 1 } } }));
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(paths).toContain("status");
    expect(paths.some((p) => p.startsWith("attributes.a"))).toBe(true);
  });
});

describe("endpointName", () => {
  it("joins service, method and route", () => {
    expect(endpointName({ service: "checkout-api", method: "GET", route: "/users/:id" })).toBe(
      "checkout-api GET /users/:id",
    );
  });

  it("names a normalised record's endpoint", () => {
    const record = accepted(normalise({ method: "post", path: "/orders/77" }));
    expect(endpointName(record)).toBe("checkout-api POST /orders/:id");
  });
});

describe("impossible calendar dates", () => {
  it("rejects a day that does not exist in its month", () => {
    const ctx = { now: Date.UTC(2026, 2, 10), retentionMs: 30 * 86_400_000, newKey: () => "k" };
    const base = { service: "s", method: "GET", path: "/", status: 200, latency_ms: 1 };
    const bad = normaliseRecord({ ...base, timestamp: "2026-02-30T12:00:00Z" }, ctx);
    expect(bad).toEqual({ ok: false, errors: ["timestamp: not a valid date"] });
    const good = normaliseRecord({ ...base, timestamp: "2026-02-28T12:00:00+01:00" }, ctx);
    expect(good.ok && good.record.timestamp).toBe(Date.UTC(2026, 1, 28, 11));
  });
});
